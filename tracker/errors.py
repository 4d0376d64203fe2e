"""The one error hierarchy of claimwatch.

::

    ClaimwatchError                 anything claimwatch itself refuses or cannot do
    ├── ConfigError                 a setting is unknown, of the wrong type or out of range
    ├── InputError                  a file or record given by the user cannot be read
    │   └── PostError               one post record is malformed (the reason names the field)
    ├── ModelError                  the embedding model cannot be found, verified or loaded
    ├── IndexFileError             the FAISS index file is unreadable or inconsistent
    ├── StoreError                  the database cannot be opened or migrated
    │   └── ReadTimeoutError        a read ran past ``[service] read_timeout_seconds``
    ├── SourceError                 a source failed (``transient`` says whether to retry)
    └── DeliveryError               an alert could not be delivered

Library code raises these; only ``tracker.cli.app`` turns them into messages and exit codes.
"""

from __future__ import annotations

__all__ = [
    "ClaimwatchError",
    "ConfigError",
    "DeliveryError",
    "IndexFileError",
    "InputError",
    "ModelError",
    "PostError",
    "ReadTimeoutError",
    "SourceError",
    "StoreError",
]


class ClaimwatchError(Exception):
    """Base class: a failure claimwatch can explain to its user."""

    exit_code: int = 1


class ConfigError(ClaimwatchError):
    """A setting is unknown, has the wrong type or a bad value."""

    exit_code = 2


class InputError(ClaimwatchError):
    """An input file or stream cannot be read at all."""


class PostError(InputError):
    """One post record is malformed; the message names the field and the problem."""


class ModelError(ClaimwatchError):
    """The embedding model cannot be resolved, verified or loaded."""


class IndexFileError(ClaimwatchError):
    """The FAISS index file is unreadable or does not fit the configured model."""


class StoreError(ClaimwatchError):
    """The database cannot be opened, migrated or written."""


class ReadTimeoutError(StoreError):
    """A read was interrupted after its time limit (``[service] read_timeout_seconds``):
    the database is busy or the question too broad; the daemon answers 503."""


class SourceError(ClaimwatchError):
    """A source failed. ``transient`` is True when a retry may succeed."""

    def __init__(self, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


class DeliveryError(ClaimwatchError):
    """An alert could not be delivered through a channel. ``permanent`` is True when
    retrying cannot help (the receiver refused it: a 4xx other than 408 and 429, a bad
    address); the outbox then marks the delivery dead at once. ``retry_after`` is the
    wait in seconds the receiver asked for (HTTP ``Retry-After``), None when it asked none."""

    def __init__(
        self, message: str, *, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after
