"""Alerts as log lines: the channel that always works (the default when none is set).

One line per alert through the ``claimwatch.alerts`` logger at the configured level;
``extra`` carries ``alert_id``, ``alert_event`` and ``idempotency_key`` for structured
handlers.
"""

from __future__ import annotations

import logging

from alerts import render
from tracker.errors import ConfigError
from tracker.models import Alert

__all__ = ["LEVELS", "LOGGER_NAME", "LogChannel", "line"]

LOGGER_NAME = "claimwatch.alerts"
LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def line(alert: Alert) -> str:
    """The alert on one line: headline, narrative label, rates, support and ids."""
    values = dict(render.fields(alert))
    return (
        f"alert {render.headline(alert)} | narrative {alert.narrative_id}: "
        f"{values['Narrative']!r} | {values['Spread']} | {values['Support']} | "
        f"alert {alert.alert_id}" + (f" | {values['Reason']}" if alert.reason else "")
    )


class LogChannel:
    """Logs each alert at ``level`` (info, warning or error); never fails."""

    kind = "log"

    def __init__(self, name: str, *, level: str = "warning",
                 logger: logging.Logger | None = None) -> None:
        if level not in LEVELS:
            raise ConfigError(
                f"channel {name}: level is {level!r}; expected one of {', '.join(LEVELS)}"
            )
        self.name = name
        self.level = level
        self._logger = logger or logging.getLogger(LOGGER_NAME)

    def __repr__(self) -> str:
        return f"LogChannel(name={self.name!r}, level={self.level})"

    async def send(self, alert: Alert, key: str) -> str:
        """Log the alert; ``"logged at <level>"``."""
        try:
            text = line(alert)
        except Exception:  # never fail: a line with the ids beats no line
            text = f"alert {alert.alert_id} ({alert.event}) on narrative {alert.narrative_id}"
        self._logger.log(
            LEVELS[self.level], "%s", text,
            extra={"alert_id": alert.alert_id, "alert_event": alert.event.value,
                   "idempotency_key": key},
        )
        return f"logged at {self.level}"
