"""Where each live source stopped: an opaque JSON object per source name (ETag and
Last-Modified of a feed, ``since_id`` of a timeline), so a restart carries on from there."""

from __future__ import annotations

import json
import time
from typing import Any

from tracker.store.base import Tables

__all__ = ["CursorTables"]


class CursorTables(Tables):
    """Source cursors."""

    def cursor(self, source: str) -> dict[str, Any] | None:
        """The cursor saved for ``source``, or None before its first successful poll."""
        row = self._one("SELECT cursor FROM source_cursors WHERE source = ?", (source,))
        return None if row is None else dict(json.loads(row[0]))

    def set_cursor(self, source: str, value: dict[str, Any]) -> None:
        """Save ``source``'s cursor (replacing the old one)."""
        with self.transaction():
            self._run(
                "INSERT INTO source_cursors (source, cursor, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (source) DO UPDATE SET cursor = excluded.cursor, "
                "updated_at = excluded.updated_at",
                (source, json.dumps(value, sort_keys=True), time.time()),
            )
