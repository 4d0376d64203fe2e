"""Slack (and Slack-compatible: Mattermost, Rocket.Chat) incoming webhooks.

POSTs :func:`alerts.render.slack_blocks` as JSON. Slack answers ``ok`` with HTTP 200 and
words such as ``invalid_payload`` or ``no_service`` with a 4xx; statuses are handled as for
webhooks (408, 429, 5xx transient; other 4xx permanent). The webhook URL is itself the
credential, so messages show only its ``scheme://host:port``.
"""

from __future__ import annotations

from alerts import render
from alerts.channels.http import SecretWebhookChannel
from tracker.models import Alert

__all__ = ["SlackChannel"]


class SlackChannel(SecretWebhookChannel):
    """Posts each alert's blocks to a Slack incoming webhook."""

    kind = "slack"

    def payload(self, alert: Alert) -> object:
        return render.slack_blocks(alert)

    async def send(self, alert: Alert, key: str) -> str:
        """POST the alert's blocks; ``"HTTP 200 ok"`` when Slack accepts them. ``key`` is
        not sent: Slack webhooks have no idempotency key."""
        status, answer = await self._post(alert, {})
        return f"HTTP {status} {answer}".strip()
