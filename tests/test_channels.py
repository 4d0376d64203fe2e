"""Alert delivery channels against real local receivers: an aiohttp server standing in for
webhook and Slack endpoints, aiosmtpd (STARTTLS, implicit TLS, AUTH) for e-mail. Nothing
leaves 127.0.0.1."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import logging
import re
import socket
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from alerts import render
from alerts.channels.base import Channel
from alerts.channels.email import EmailChannel
from alerts.channels.log import LogChannel
from alerts.channels.registry import build_channel, build_channels, close_channels
from alerts.channels.webhook import verify_signature
from tracker.config.settings import DEFAULT_CHANNELS, ChannelSettings
from tracker.errors import ConfigError, DeliveryError
from tracker.models import Alert, AlertEvent, ClaimKind, Provenance, Status

SECRET = "whsec-7f3a9c1e-test"
SMTP_USER = "cw-alerts"
SMTP_PASSWORD = "correct-horse-battery-staple"
SCRIPT = "<script>alert(1)</script>"
LABEL = "Sources say TTP is behind the Nushki blast"


def spec(**settings: Any) -> dict[str, Any]:
    """One [[channels]] entry as the service hands it over: validated, then dumped."""
    return ChannelSettings(**settings).model_dump()


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def alert() -> Alert:
    return Alert(
        alert_id="a-2026-11-20-0042",
        event=AlertEvent.RAISED,
        rule="speculative-attribution",
        incident_id="nushki-2026",
        incident_title="Nushki bus bombing",
        narrative_id=17,
        label=LABEL,
        kind=ClaimKind.ATTRIBUTION,
        actors=("TTP",),
        status=Status.SPECULATIVE,
        severity="high",
        at=datetime(2026, 11, 20, 10, 47, tzinfo=UTC),
        spread_rate=6.0,
        verified_rate=1.0,
        ratio=6.0,
        posts=42,
        authors=17,
        reach=120_000,
        window_minutes=30.0,
        first_seen=datetime(2026, 11, 20, 10, 15, tzinfo=UTC),
        minutes_since_incident=47.0,
        first_post=Provenance(
            post_id="1862", source="x", author="quetta_watch", tier="unverified",
            url="https://x.com/quetta_watch/status/1862",
            text="Sources say TTP is behind the Nushki blast, more soon",
            created_at=datetime(2026, 11, 20, 10, 15, tzinfo=UTC),
        ),
        samples=(
            "Sources say TTP is behind the Nushki blast",
            f"TTP reportedly claimed the Nushki bus attack {SCRIPT}",
            "Likely TTP again? Nushki bus hit near the FC camp",
            "A fourth sample the alert does not show",
        ),
        reason="6.0x the verified rate with 42 posts from 17 authors in 30 min",
    )


# -- HTTP receivers ---------------------------------------------------------------------


@dataclass
class Received:
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """An aiohttp server on 127.0.0.1 recording every POST and answering ``status``."""

    base: str = ""
    status: int = 200
    answer: str = "accepted"
    requests: list[Received] = field(default_factory=list)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()

    async def handle(request: web.Request) -> web.Response:
        rec.requests.append(Received(request.path, request.query_string,
                                     dict(request.headers), await request.read()))
        return web.Response(status=rec.status, text=rec.answer)

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    rec.base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield rec
    await runner.cleanup()


@pytest.fixture
async def build() -> AsyncIterator[Callable[..., Channel]]:
    """build_channel, closing every channel it made when the test ends."""
    made: list[Channel] = []

    def make(settings: dict[str, Any], environ: dict[str, str] | None = None) -> Channel:
        channel = build_channel(settings, environ if environ is not None else {})
        made.append(channel)
        return channel

    yield make
    await close_channels(made)


# -- webhook ----------------------------------------------------------------------------


async def test_webhook_posts_signed_json_the_receiver_can_verify(
    receiver: Receiver, build: Callable[..., Channel], alert: Alert
) -> None:
    desk = build(
        spec(name="desk", type="webhook", url=f"{receiver.base}/hooks/claimwatch?token=q1",
             secret_env="DESK_SECRET", headers={"X-Desk": "verification"}),
        {"DESK_SECRET": SECRET},
    )
    before = int(time.time())
    assert await desk.send(alert, alert.alert_id) == "HTTP 200"
    after = int(time.time())

    [got] = receiver.requests
    assert (got.path, got.query) == ("/hooks/claimwatch", "token=q1")
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["X-Claimwatch-Event"] == "raised"
    assert got.headers["X-Claimwatch-Idempotency-Key"] == alert.alert_id
    assert got.headers["Idempotency-Key"] == alert.alert_id
    assert got.headers["X-Desk"] == "verification"
    stamp = got.headers["X-Claimwatch-Timestamp"]
    assert before <= int(stamp) <= after
    signature = got.headers["X-Claimwatch-Signature"]
    assert signature.startswith("sha256=")
    assert verify_signature(SECRET, stamp, got.body, signature)
    assert json.loads(got.body) == alert.as_dict()

    # what a receiver must reject: another secret, altered bytes, a replay 6 minutes on
    assert not verify_signature("not-the-secret", stamp, got.body, signature)
    assert not verify_signature(SECRET, stamp, got.body.replace(b"TTP", b"BLA"), signature)
    assert not verify_signature(SECRET, stamp, got.body, signature, now=int(stamp) + 360)
    assert not verify_signature(SECRET, "yesterday", got.body, signature)


async def test_webhook_with_unset_secret_variable_fails_for_good_without_sending(
    receiver: Receiver, build: Callable[..., Channel], alert: Alert
) -> None:
    desk = build(spec(name="desk", type="webhook", url=f"{receiver.base}/hook",
                      secret_env="DESK_SECRET"))
    with pytest.raises(DeliveryError) as caught:
        await desk.send(alert, alert.alert_id)
    assert caught.value.permanent
    assert "DESK_SECRET" in str(caught.value)
    assert receiver.requests == []


@pytest.mark.parametrize(
    ("status", "permanent"),
    [(500, False), (503, False), (429, False), (408, False), (404, True), (400, True),
     (301, True)],
)
async def test_webhook_refusals_are_transient_or_permanent_by_status(
    receiver: Receiver, build: Callable[..., Channel], alert: Alert, status: int,
    permanent: bool,
) -> None:
    receiver.status = status
    desk = build(spec(name="desk", type="webhook",
                      url=f"{receiver.base}/hook?token=s3cr3t-query-token"))
    with pytest.raises(DeliveryError) as caught:
        await desk.send(alert, alert.alert_id)
    assert caught.value.permanent is permanent
    message = str(caught.value)
    assert message.startswith(f"webhook desk: HTTP {status} from {receiver.base}/hook")
    assert "s3cr3t" not in message


async def test_webhook_unreachable_is_transient_and_names_host_not_token(
    build: Callable[..., Channel], alert: Alert
) -> None:
    port = free_port()
    desk = build(spec(name="desk", type="webhook",
                      url=f"http://127.0.0.1:{port}/hook?token=s3cr3t-query-token"))
    with pytest.raises(DeliveryError) as caught:
        await desk.send(alert, alert.alert_id)
    assert not caught.value.permanent
    assert f"webhook desk: cannot connect to 127.0.0.1:{port}" in str(caught.value)
    assert "s3cr3t" not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


async def test_webhook_without_url_fails_for_good(
    build: Callable[..., Channel], alert: Alert
) -> None:
    desk = build(spec(name="desk", type="webhook", url_env="DESK_URL"))
    with pytest.raises(DeliveryError, match="DESK_URL") as caught:
        await desk.send(alert, alert.alert_id)
    assert caught.value.permanent


# -- Slack ------------------------------------------------------------------------------


async def test_slack_gets_blocks_with_the_label_and_escaped_user_text(
    receiver: Receiver, build: Callable[..., Channel], alert: Alert
) -> None:
    receiver.answer = "ok"
    hook = f"{receiver.base}/services/T0001/B0002/XXXXslacktoken"
    slack = build(spec(name="newsroom", type="slack", url_env="SLACK_URL"), {"SLACK_URL": hook})
    assert await slack.send(alert, alert.alert_id) == "HTTP 200 ok"

    [got] = receiver.requests
    assert got.path == "/services/T0001/B0002/XXXXslacktoken"
    payload = json.loads(got.body)
    assert "Nushki bus bombing" in payload["text"]
    texts = json.dumps(payload["blocks"], ensure_ascii=False)
    assert LABEL in texts
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in texts
    assert "<script>" not in got.body.decode()
    assert "<https://x.com/quetta_watch/status/1862|open>" in texts


async def test_slack_refusal_hides_the_webhook_path(
    receiver: Receiver, build: Callable[..., Channel], alert: Alert
) -> None:
    receiver.status, receiver.answer = 404, "no_service"
    hook = f"{receiver.base}/services/T0001/B0002/XXXXslacktoken"
    slack = build(spec(name="newsroom", type="slack", url=hook))
    with pytest.raises(DeliveryError) as caught:
        await slack.send(alert, alert.alert_id)
    assert caught.value.permanent
    assert str(caught.value) == f"slack newsroom: HTTP 404 from {receiver.base}: no_service"


async def test_channels_share_an_injected_session_and_leave_it_open(
    receiver: Receiver, alert: Alert
) -> None:
    async with aiohttp.ClientSession() as session:
        channels = build_channels(
            [spec(name="desk", type="webhook", url=f"{receiver.base}/hook"),
             spec(name="newsroom", type="slack", url=f"{receiver.base}/slack"),
             spec(name="log", type="log")],
            environ={}, session=session,
        )
        assert list(channels) == ["desk", "newsroom", "log"]
        for channel in channels.values():
            await channel.send(alert, alert.alert_id)
        await close_channels(channels)
        assert not session.closed
    assert [r.path for r in receiver.requests] == ["/hook", "/slack"]


def test_build_channels_refuses_unknown_types_and_duplicate_names() -> None:
    with pytest.raises(ConfigError, match="pager"):
        build_channel({"name": "oncall", "type": "pager"})
    with pytest.raises(ConfigError, match="'desk' is used twice"):
        build_channels([spec(name="desk", type="log"), spec(name="desk", type="webhook")])
    [default] = build_channels([c.model_dump() for c in DEFAULT_CHANNELS]).values()
    assert isinstance(default, LogChannel) and default.kind == "log"


# -- e-mail -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for localhost and 127.0.0.1: (cert.pem, key.pem)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    return cert, key


def server_context(certificate: tuple[Path, Path]) -> Any:
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


@dataclass
class Mailbox:
    """What the SMTP server saw: messages, and logins (user, password, success)."""

    port: int = 0
    messages: list[tuple[Envelope, EmailMessage, bool]] = field(default_factory=list)
    logins: list[tuple[str, str, bool]] = field(default_factory=list)
    refuse: frozenset[str] = frozenset()
    connected: int = 0
    changed: threading.Condition = field(default_factory=threading.Condition)

    def count(self, step: int) -> None:
        with self.changed:
            self.connected += step
            self.changed.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Until every client connection is closed (the client closed its socket)."""
        with self.changed:
            return self.changed.wait_for(lambda: self.connected == 0, timeout)

    async def handle_RCPT(  # noqa: N802 (aiosmtpd hook name)
        self, server: SMTP, session: Session, envelope: Envelope, address: str,
        rcpt_options: list[str],
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 (aiosmtpd hook name)
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        assert isinstance(envelope.content, bytes)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((envelope, parsed, session.ssl is not None))
        return "250 Message accepted for delivery"

    def authenticate(self, server: SMTP, session: Session, envelope: Envelope,
                     mechanism: str, auth_data: Any) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        user, password = auth_data.login.decode(), auth_data.password.decode()
        ok = (user, password) == (SMTP_USER, SMTP_PASSWORD)
        self.logins.append((user, password, ok))
        # handled=False on failure, or aiosmtpd sends no answer and the client hangs
        return AuthResult(success=ok, handled=False, auth_data=user if ok else None)


class CountingSMTP(SMTP):
    """aiosmtpd's server protocol, counting open connections in the Mailbox (STARTTLS
    makes the same protocol again, over TLS: counted once)."""

    counted = False

    def connection_made(self, transport: Any) -> None:
        if not self.counted:
            self.counted = True
            self.event_handler.count(1)
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        super().connection_lost(error)
        if self.counted:
            self.counted = False
            self.event_handler.count(-1)


class LocalController(Controller):
    """aiosmtpd's Controller on an ephemeral port (port=0 reads the one bound)."""

    def factory(self) -> SMTP:
        return CountingSMTP(self.handler, **self.SMTP_kwargs)

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@pytest.fixture
async def smtp_server(certificate: tuple[Path, Path]) -> AsyncIterator[Callable[..., Mailbox]]:
    """Start aiosmtpd on 127.0.0.1: ``starttls`` (TLS and AUTH required) or ``implicit``.
    At the end, waits (in the test's loop) until clients have closed their sockets: a
    TLS close finishes a few loop turns after aiosmtplib returns."""
    running: list[tuple[Controller, Mailbox]] = []

    def start(tls: str = "starttls", refuse: frozenset[str] = frozenset()) -> Mailbox:
        box = Mailbox(refuse=refuse)
        context = server_context(certificate)
        if tls == "starttls":
            controller = LocalController(
                box, hostname="127.0.0.1", port=0, server_hostname="localhost",
                tls_context=context, require_starttls=True, auth_required=True,
                authenticator=box.authenticate,
            )
        else:
            controller = LocalController(box, hostname="127.0.0.1", port=0,
                                         server_hostname="localhost", ssl_context=context)
        controller.start()
        running.append((controller, box))
        box.port = controller.port
        return box

    yield start
    for controller, box in running:
        assert await asyncio.to_thread(box.wait_idle, 10.0), "a client left its socket open"
        controller.stop()


def mail_spec(port: int, certificate: tuple[Path, Path], **settings: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "ops", "type": "email", "host": "127.0.0.1", "port": port,
        "ca_file": str(certificate[0]), "sender": "claimwatch@desk.example.org",
        "recipients": ("verification@desk.example.org",),
        "username_env": "SMTP_USER", "password_env": "SMTP_PASSWORD", "timeout_seconds": 5,
    }
    return spec(**(base | settings))


SMTP_ENV = {"SMTP_USER": SMTP_USER, "SMTP_PASSWORD": SMTP_PASSWORD}


async def test_email_over_starttls_with_login_arrives_with_text_and_escaped_html(
    smtp_server: Callable[..., Mailbox], certificate: tuple[Path, Path],
    build: Callable[..., Channel], alert: Alert,
) -> None:
    box = smtp_server("starttls")
    ops = build(mail_spec(box.port, certificate), SMTP_ENV)
    detail = await ops.send(alert, alert.alert_id)
    assert detail.startswith("250 accepted")

    assert box.logins == [(SMTP_USER, SMTP_PASSWORD, True)]
    [(envelope, message, over_tls)] = box.messages
    assert over_tls
    assert envelope.mail_from == "claimwatch@desk.example.org"
    assert envelope.rcpt_tos == ["verification@desk.example.org"]
    assert message["Subject"] == render.subject(alert)
    assert message["Subject"].startswith("[claimwatch] RAISED high: speculative attribution")
    assert message["X-Claimwatch-Idempotency-Key"] == alert.alert_id
    assert alert.alert_id in message["Message-ID"]
    assert message["Date"] is not None

    plain = message.get_body(("plain",))
    rich = message.get_body(("html",))
    assert plain is not None and rich is not None
    plain_text, rich_text = plain.get_content(), rich.get_content()
    assert LABEL in plain_text and "Nushki bus bombing" in plain_text
    assert "6.00 posts/min vs verified 1.00 posts/min (6.0x)" in plain_text
    assert LABEL in rich_text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rich_text
    assert "<script>alert" not in rich_text


async def test_email_with_a_wrong_password_fails_without_showing_it(
    smtp_server: Callable[..., Mailbox], certificate: tuple[Path, Path],
    build: Callable[..., Channel], alert: Alert,
) -> None:
    box = smtp_server("starttls")
    wrong = {"SMTP_USER": SMTP_USER, "SMTP_PASSWORD": "hunter2-wrong-password"}
    ops = build(mail_spec(box.port, certificate), wrong)
    with pytest.raises(DeliveryError) as caught:
        await ops.send(alert, alert.alert_id)
    assert caught.value.permanent
    assert f"email ops: login refused by 127.0.0.1:{box.port}: 535" in str(caught.value)
    assert "hunter2" not in str(caught.value)
    assert box.logins and not box.logins[-1][2]
    assert box.messages == []


async def test_email_to_a_server_with_an_untrusted_certificate_is_not_sent(
    smtp_server: Callable[..., Mailbox], certificate: tuple[Path, Path],
    build: Callable[..., Channel], alert: Alert,
) -> None:
    box = smtp_server("starttls")
    ops = build(mail_spec(box.port, certificate, ca_file=""), SMTP_ENV)  # system CAs only
    with pytest.raises(DeliveryError, match=r"certificate of 127\.0\.0\.1") as caught:
        await ops.send(alert, alert.alert_id)
    assert "ca_file" in str(caught.value)
    assert box.logins == [] and box.messages == []


async def test_email_over_implicit_tls_arrives(
    smtp_server: Callable[..., Mailbox], certificate: tuple[Path, Path],
    build: Callable[..., Channel], alert: Alert,
) -> None:
    box = smtp_server("implicit")
    ops = build(mail_spec(box.port, certificate, tls="implicit", username_env="",
                          password_env=""))
    resolved = replace(alert, event=AlertEvent.RESOLVED, status=Status.CONTRADICTED,
                       reason="CTD said TTP was not involved; no group has claimed it")
    assert (await ops.send(resolved, "a-2026-11-20-0051")).startswith("250 accepted")
    [(_, message, _)] = box.messages
    assert message["Subject"] == (
        "[claimwatch] RESOLVED: attribution to TTP contradicted by a finding — "
        "Nushki bus bombing"
    )
    body = message.get_body(("plain",))
    assert body is not None and "CTD said TTP was not involved" in body.get_content()


async def test_email_every_recipient_refused_is_permanent(
    smtp_server: Callable[..., Mailbox], certificate: tuple[Path, Path],
    build: Callable[..., Channel], alert: Alert,
) -> None:
    box = smtp_server("implicit", refuse=frozenset({"gone@desk.example.org"}))
    ops = build(mail_spec(box.port, certificate, tls="implicit", username_env="",
                          password_env="", recipients=("gone@desk.example.org",)))
    with pytest.raises(DeliveryError, match=r"gone@desk\.example\.org \(550") as caught:
        await ops.send(alert, alert.alert_id)
    assert caught.value.permanent
    assert box.messages == []


async def test_email_refuses_to_log_in_without_tls(
    certificate: tuple[Path, Path], build: Callable[..., Channel], alert: Alert
) -> None:
    ops = build(mail_spec(free_port(), certificate, tls="none"), SMTP_ENV)
    with pytest.raises(DeliveryError, match="without TLS") as caught:
        await ops.send(alert, alert.alert_id)
    assert caught.value.permanent
    assert SMTP_PASSWORD not in str(caught.value)


async def test_email_server_down_is_transient(
    certificate: tuple[Path, Path], build: Callable[..., Channel], alert: Alert
) -> None:
    port = free_port()
    ops = build(mail_spec(port, certificate), SMTP_ENV)
    assert isinstance(ops, EmailChannel)
    where = re.escape(f"cannot connect to 127.0.0.1:{port}")
    with pytest.raises(DeliveryError, match=where) as caught:
        await ops.send(alert, alert.alert_id)
    assert not caught.value.permanent


# -- log and rendering ------------------------------------------------------------------


async def test_log_channel_writes_one_line_with_the_label(
    build: Callable[..., Channel], alert: Alert, caplog: pytest.LogCaptureFixture
) -> None:
    log = build(spec(name="log", type="log", level="error"))
    with caplog.at_level(logging.INFO, logger="claimwatch.alerts"):
        assert await log.send(alert, alert.alert_id) == "logged at error"
    [record] = caplog.records
    assert record.name == "claimwatch.alerts" and record.levelno == logging.ERROR
    message = record.getMessage()
    assert "\n" not in message
    assert LABEL in message and alert.alert_id in message and "RAISED high" in message


def test_rendered_text_carries_what_an_analyst_needs(alert: Alert) -> None:
    body = render.text(alert)
    for expected in (
        "Nushki bus bombing (nushki-2026)", LABEL, "attribution", "TTP", "speculative",
        "high", "6.00 posts/min vs verified 1.00 posts/min (6.0x) over the last 30 min",
        "42 posts from 17 distinct authors", "120,000", "2026-11-20 10:15 UTC",
        "47 min since the incident began", "quetta_watch (unverified, x)",
        "https://x.com/quetta_watch/status/1862", "Likely TTP again?", alert.reason,
    ):
        assert expected in body, expected
    assert "A fourth sample" not in body  # three samples at most


def test_each_event_reads_differently(alert: Alert) -> None:
    escalated = replace(alert, event=AlertEvent.ESCALATED, severity="critical", ratio=12.0,
                        follows="a-2026-11-20-0042")
    cooled = replace(alert, event=AlertEvent.RESOLVED, reason="spread fell below 2.0x")
    test = replace(alert, event=AlertEvent.TEST)
    assert render.subject(alert) == (
        "[claimwatch] RAISED high: speculative attribution to TTP spreading 6.0x verified — "
        "Nushki bus bombing"
    )
    assert render.subject(escalated).startswith(
        "[claimwatch] ESCALATED critical: speculative attribution to TTP now spreading 12.0x"
    )
    assert "alert a-2026-11-20-0042" in render.text(escalated)
    assert render.subject(cooled).startswith(
        "[claimwatch] RESOLVED: attribution to TTP no longer outruns verified reporting"
    )
    assert "Resolved: spread fell below 2.0x" in render.text(cooled)
    assert render.subject(test).startswith("[claimwatch] TEST (delivery check)")
    assert "no action is needed" in render.text(test)


def test_html_escapes_every_user_string(alert: Alert) -> None:
    hostile = replace(
        alert, incident_title="Nushki <b>bus</b> & co", label=f"TTP did it {SCRIPT}",
        actors=("<i>TTP</i>",),
        first_post=replace(alert.first_post, author="<img src=x>", url="javascript:alert(1)")
        if alert.first_post else None,
    )
    page = render.html(hostile)
    for raw in ("<b>", "<script>", "<i>", "<img"):
        assert raw not in page
    assert "javascript:" not in page.split("<h3>First post</h3>")[1].split("</p>")[0]
    assert "Nushki &lt;b&gt;bus&lt;/b&gt; &amp; co" in page


def test_json_body_is_the_alert_as_dict_in_stable_compact_form(alert: Alert) -> None:
    body = render.json_body(alert)
    assert json.loads(body) == alert.as_dict()
    assert body == render.json_body(Alert.from_dict(alert.as_dict()))
    assert b", " not in body[:40] and body.startswith(b'{"actors":["TTP"]')
