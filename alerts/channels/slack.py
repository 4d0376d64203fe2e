"""Slack (and Slack-compatible: Mattermost, Rocket.Chat) incoming webhooks.

POSTs :func:`alerts.render.slack_blocks` as JSON. Slack answers ``ok`` with HTTP 200 and
words such as ``invalid_payload`` or ``no_service`` with a 4xx; statuses are handled as for
webhooks (408, 429, 5xx transient; other 4xx permanent). The webhook URL is itself the
credential, so messages show only its ``scheme://host:port``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

from alerts import render
from alerts.channels.http import HttpClient, post, resolve_url
from tracker.models import Alert

__all__ = ["SlackChannel"]


class SlackChannel:
    """Posts each alert to the Slack incoming webhook at ``url`` or in ``$url_env``
    (preferred: the URL is a secret). ``timeout_seconds`` bounds one attempt;
    ``environ`` is read at send time (default ``os.environ``)."""

    kind = "slack"

    def __init__(
        self,
        name: str,
        *,
        url: str = "",
        url_env: str = "",
        timeout_seconds: float = 10.0,
        environ: Mapping[str, str] | None = None,
        http: HttpClient | None = None,
    ) -> None:
        self.name = name
        self.url = url
        self.url_env = url_env
        self.timeout_seconds = timeout_seconds
        self._environ = os.environ if environ is None else environ
        self._http = http or HttpClient()

    @property
    def label(self) -> str:
        return f"slack {self.name}"

    def __repr__(self) -> str:  # no URL: it is the credential
        return f"SlackChannel(name={self.name!r})"

    async def send(self, alert: Alert, key: str) -> str:
        """POST the alert's blocks; ``"HTTP 200 ok"`` when Slack accepts them. ``key`` is
        not sent: Slack webhooks have no idempotency key."""
        url, _ = resolve_url(self.url, self.url_env, self._environ, self.label)
        body = json.dumps(render.slack_blocks(alert), ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8"}
        status, answer = await post(self._http, url, body, headers,
                                    timeout=self.timeout_seconds, label=self.label,
                                    secret_url=True)
        return f"HTTP {status} {answer}".strip()

    async def close(self) -> None:
        """Close the HTTP session if this channel's client created one."""
        await self._http.close()
