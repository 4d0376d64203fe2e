"""E-mail alerts over SMTP (aiosmtplib), STARTTLS by default.

Each alert is one ``multipart/alternative`` message: :func:`alerts.render.text` and
:func:`alerts.render.html`, subject :func:`alerts.render.subject`. The Message-ID is derived
from the idempotency key and channel name, so a retried alert carries the same Message-ID
and mail clients can fold duplicates; ``X-Claimwatch-Idempotency-Key`` carries the key.

TLS: ``starttls`` (port 587 by default), ``implicit`` (465) or ``none`` (25; local relays
only, and never with a login). Server certificates are verified against ``ca_file`` or the
system store. The login comes from the variables named by ``username_env`` and
``password_env``, read at send time, and never appears in a message.

Failures: SMTP 5xx answers (login, sender, recipients, content refused), unusable settings
and missing variables are permanent; 4xx answers, timeouts and connection failures are
transient.
"""

from __future__ import annotations

import email.policy
import os
import re
import ssl
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

import aiosmtplib

from alerts import render
from alerts.channels.base import env_value
from tracker.errors import ConfigError, DeliveryError
from tracker.models import Alert

__all__ = ["DEFAULT_PORTS", "TLS_MODES", "EmailChannel"]

TLS_MODES = ("starttls", "implicit", "none")
DEFAULT_PORTS = {"starttls": 587, "implicit": 465, "none": 25}
_WHAT: tuple[tuple[type[aiosmtplib.SMTPResponseException], str], ...] = (
    (aiosmtplib.SMTPAuthenticationError, "login refused"),
    (aiosmtplib.SMTPSenderRefused, "sender refused"),
    (aiosmtplib.SMTPRecipientRefused, "recipient refused"),
    (aiosmtplib.SMTPDataError, "message refused"),
    (aiosmtplib.SMTPHeloError, "greeting refused"),
    (aiosmtplib.SMTPConnectResponseError, "greeting refused"),
)
_SNIPPET = 120  # characters of a server's words quoted in messages
# Headers unfolded up to RFC 5322's 998 characters: Python folds before an encoded word
# with the space kept on both sides, so a folded "finding — Nushki" reads "finding  —".
_POLICY = email.policy.SMTP.clone(max_line_length=998)


def _scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` on one line, cut short, with every secret value replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return " ".join(text.split())[:_SNIPPET]


class EmailChannel:
    """Sends each alert from ``sender`` to ``recipients`` through ``host``:``port``
    (0: the default port of ``tls``). ``timeout_seconds`` bounds each SMTP step;
    ``environ`` is read at send time (default ``os.environ``); ``clock`` gives the Date
    header's time (aware, UTC)."""

    kind = "email"

    def __init__(
        self,
        name: str,
        *,
        host: str = "localhost",
        port: int = 0,
        tls: str = "starttls",
        ca_file: str = "",
        username_env: str = "",
        password_env: str = "",
        sender: str = "",
        recipients: Iterable[str] = (),
        timeout_seconds: float = 10.0,
        environ: Mapping[str, str] | None = None,
        local_hostname: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if tls not in TLS_MODES:
            raise ConfigError(
                f"channel {name}: tls is {tls!r}; expected one of {', '.join(TLS_MODES)}"
            )
        self.name = name
        self.host = host
        self.port = port or DEFAULT_PORTS[tls]
        self.tls = tls
        self.ca_file = ca_file
        self.username_env = username_env
        self.password_env = password_env
        self.sender = sender
        self.recipients = tuple(recipients)
        self.timeout_seconds = timeout_seconds
        self.local_hostname = local_hostname
        self._environ = os.environ if environ is None else environ
        self._clock = clock
        self._context: ssl.SSLContext | None = None

    @property
    def label(self) -> str:
        return f"email {self.name}"

    def __repr__(self) -> str:
        return f"EmailChannel(name={self.name!r}, server={self.host}:{self.port}, tls={self.tls})"

    def message(self, alert: Alert, key: str) -> EmailMessage:
        """The message for ``alert`` (text part and HTML alternative)."""
        key = " ".join(key.split())
        domain = parseaddr(self.sender)[1].rpartition("@")[2] or "claimwatch.invalid"
        local = re.sub(r"[^A-Za-z0-9.\-_]", "_", f"{key}.{self.name}")
        msg = EmailMessage()
        msg["Subject"] = render.subject(alert)
        msg["From"] = self.sender
        msg["To"] = ", ".join(self.recipients)
        msg["Date"] = format_datetime(self._clock())
        msg["Message-ID"] = f"<claimwatch.{local}@{domain}>"
        msg["X-Claimwatch-Idempotency-Key"] = key
        msg["X-Claimwatch-Event"] = alert.event.value
        msg.set_content(render.text(alert))
        msg.add_alternative(render.html(alert), subtype="html")
        return msg

    def _tls_context(self) -> ssl.SSLContext:
        if self._context is None:
            try:
                self._context = ssl.create_default_context(cafile=self.ca_file or None)
            except (OSError, ssl.SSLError) as exc:
                raise DeliveryError(
                    f"{self.label}: ca_file {self.ca_file} cannot be used "
                    f"({type(exc).__name__})", permanent=True,
                ) from None
        return self._context

    def _login(self) -> tuple[str | None, str | None]:
        if not self.username_env:
            return None, None
        if self.tls == "none":
            raise DeliveryError(
                f"{self.label}: refusing to send the login without TLS; set tls to "
                "starttls or implicit", permanent=True,
            )
        user = env_value(self._environ, self.username_env, what="username_env",
                         label=self.label)
        if not self.password_env:
            raise DeliveryError(f"{self.label}: username_env is set but password_env is not",
                                permanent=True)
        password = env_value(self._environ, self.password_env, what="password_env",
                             label=self.label)
        return user, password

    async def send(self, alert: Alert, key: str) -> str:
        """Send the alert once; ``"250 accepted ..."`` when the server takes it."""
        if not self.sender or not self.recipients:
            raise DeliveryError(f"{self.label}: sender and recipients must both be set",
                                permanent=True)
        user, password = self._login()
        context = None if self.tls == "none" else self._tls_context()
        try:
            refused, _ = await aiosmtplib.send(
                self.message(alert, key).as_bytes(policy=_POLICY),
                sender=self.sender, recipients=list(self.recipients),
                hostname=self.host, port=self.port, username=user, password=password,
                timeout=self.timeout_seconds, use_tls=self.tls == "implicit",
                start_tls=self.tls == "starttls", tls_context=context,
                local_hostname=self.local_hostname,
            )
        except aiosmtplib.SMTPException as exc:
            raise self._failure(exc, (user or "", password or "")) from None
        except ssl.SSLCertVerificationError as exc:
            raise DeliveryError(
                f"{self.label}: the TLS certificate of {self.host}:{self.port} was not "
                f"accepted ({exc.verify_message}); ca_file names the CA to trust"
            ) from None
        except OSError as exc:  # TLS and socket failures aiosmtplib does not wrap
            why = getattr(exc, "reason", None) or exc.strerror or type(exc).__name__
            raise DeliveryError(f"{self.label}: {self.host}:{self.port} failed ({why})") from None
        taken = len(self.recipients) - len(refused)
        detail = f"250 accepted by {self.host}:{self.port} for {taken} recipient(s)"
        if refused:
            detail += "; refused: " + ", ".join(
                f"{address} ({answer.code})" for address, answer in sorted(refused.items())
            )
        return detail

    def _failure(self, exc: aiosmtplib.SMTPException, secrets: tuple[str, str]) -> DeliveryError:
        """The ``DeliveryError`` for an aiosmtplib failure, without any secret in it."""
        where = f"{self.host}:{self.port}"
        if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
            codes = [r.code for r in exc.recipients]
            listed = ", ".join(
                f"{r.recipient} ({r.code} {_scrub(r.message, secrets)})" for r in exc.recipients
            )
            return DeliveryError(f"{self.label}: every recipient refused by {where}: {listed}",
                                 permanent=all(code >= 500 for code in codes))
        if isinstance(exc, aiosmtplib.SMTPResponseException):
            what = next((words for kind, words in _WHAT if isinstance(exc, kind)), "refused")
            return DeliveryError(
                f"{self.label}: {what} by {where}: {exc.code} {_scrub(exc.message, secrets)}",
                permanent=exc.code >= 500,
            )
        if isinstance(exc, aiosmtplib.SMTPTimeoutError):
            return DeliveryError(
                f"{self.label}: no answer from {where} within {self.timeout_seconds:g} s"
            )
        if isinstance(exc, aiosmtplib.SMTPConnectError):
            return DeliveryError(f"{self.label}: cannot connect to {where} "
                                 f"({_scrub(exc.message, secrets)})")
        if isinstance(exc, aiosmtplib.SMTPServerDisconnected):
            return DeliveryError(f"{self.label}: {where} closed the connection "
                                 f"({_scrub(exc.message, secrets)})")
        # SMTPNotSupported and plain SMTPException: the server lacks STARTTLS or AUTH, or
        # the settings do not fit it; retrying will not change that.
        return DeliveryError(f"{self.label}: {where}: {_scrub(exc.message, secrets)}",
                             permanent=True)
