"""How the CLI and (later) the HTTP API show things: plain JSON-ready dicts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from tracker.models import Finding, Incident, Narrative, QueryHit

__all__ = [
    "activity",
    "finding_json",
    "hit_json",
    "incident_json",
    "iso",
    "narrative_json",
    "sparkline",
]

BUCKET = timedelta(minutes=10)
_BARS = " ▁▂▃▄▅▆▇█"


def iso(value: datetime | None) -> str | None:
    """ISO 8601 UTC with a Z, or None."""
    return value.isoformat().replace("+00:00", "Z") if value else None


def incident_json(incident: Incident) -> dict[str, Any]:
    return {
        "id": incident.id, "title": incident.title, "description": incident.description,
        "terms": list(incident.terms), "location": incident.location,
        "started_at": iso(incident.started_at), "window_hours": incident.window_hours,
        "ends_at": iso(incident.ends_at), "closed_at": iso(incident.closed_at),
        "origin": incident.origin,
    }


def narrative_json(n: Narrative) -> dict[str, Any]:
    return {
        "id": n.id, "incident_id": n.incident_id, "label": n.label, "kind": n.kind.value,
        "actors": list(n.actors), "candidate_actors": list(n.candidates),
        "negated": n.negated, "status": n.status.value, "size": n.size, "authors": n.authors,
        "claim_count": n.claims, "first_seen": iso(n.first_seen), "last_seen": iso(n.last_seen),
        "first_post_id": n.first_post_id, "tiers": dict(n.tiers), "recent": n.recent,
    }


def finding_json(f: Finding) -> dict[str, Any]:
    return {
        "id": f.id, "incident_id": f.incident_id, "text": f.text, "kind": f.kind.value,
        "actors": list(f.actors), "status": f.status.value, "at": iso(f.at),
        "automatic": f.automatic, "post_id": f.post_id,
    }


def hit_json(hit: QueryHit) -> dict[str, Any]:
    return {
        "claim_id": hit.claim_id, "post_id": hit.post_id, "score": round(hit.score, 4),
        "text": hit.text, "author": hit.author, "created_at": iso(hit.created_at),
        "source": hit.source, "same_text": hit.same_text,
        "narratives": [
            {"id": nid, "incident_id": iid, "status": status}
            for nid, iid, status in hit.narratives
        ],
    }


def activity(times: Sequence[datetime]) -> list[tuple[datetime, int]]:
    """Posts per 10-minute bucket of event time, from the first post to the last."""
    if not times:
        return []
    start = min(times)
    start = start.replace(minute=start.minute - start.minute % 10, second=0, microsecond=0)
    buckets = int((max(times) - start) / BUCKET) + 1
    counts = [0] * buckets
    for t in times:
        counts[int((t - start) / BUCKET)] += 1
    return [(start + i * BUCKET, c) for i, c in enumerate(counts)]


def sparkline(counts: Sequence[int], width: int = 72) -> str:
    """One character per bucket (merged to fit ``width``), height by count."""
    if not counts:
        return ""
    step = max(1, -(-len(counts) // width))
    merged = [sum(counts[i : i + step]) for i in range(0, len(counts), step)]
    top = max(merged) or 1
    return "".join(_BARS[0 if c == 0 else max(1, round(c / top * 8))] for c in merged)
