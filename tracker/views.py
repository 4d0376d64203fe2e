"""How the CLI and (later) the HTTP API show things: plain JSON-ready dicts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from tracker.errors import InputError
from tracker.models import Alert, Finding, Incident, Narrative, QueryHit, Stance, iso
from tracker.store.outbox import Delivery

if TYPE_CHECKING:
    from tracker.store import Store

__all__ = [
    "activity",
    "alert_json",
    "alerts_json",
    "finding_json",
    "hit_json",
    "incident_json",
    "incidents_json",
    "iso",
    "narrative_detail_json",
    "narrative_json",
    "narratives_json",
    "query_json",
    "sparkline",
]

BUCKET = timedelta(minutes=10)
_BARS = " ▁▂▃▄▅▆▇█"


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
        "replies": n.replies, "reposts": n.reposts, "stances": dict(n.stances),
        "conflicts": [{"question": q, "values": list(v)} for q, v in n.conflicts],
    }


def finding_json(f: Finding) -> dict[str, Any]:
    return {
        "id": f.id, "incident_id": f.incident_id, "text": f.text, "kind": f.kind.value,
        "actors": list(f.actors), "status": f.status.value, "at": iso(f.at),
        "automatic": f.automatic, "post_id": f.post_id, "authority": f.authority,
        "author": f.author,
    }


def hit_json(hit: QueryHit) -> dict[str, Any]:
    return {
        "claim_id": hit.claim_id, "post_id": hit.post_id, "score": round(hit.score, 4),
        "similarity": round(hit.similarity, 4),
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


def alert_json(alert: Alert, deliveries: Sequence[Delivery]) -> dict[str, Any]:
    """An alert as ``claimwatch alerts --json`` and ``GET /v1/alerts`` show it: the alert's
    own fields, and ``deliveries``, one per channel with its state, attempts, last error
    and last update (ISO 8601 UTC)."""
    out = alert.as_dict()
    out["deliveries"] = [
        {
            "channel": d.channel, "state": d.state.value, "attempts": d.attempts,
            "last_error": d.last_error, "detail": d.detail,
            "updated_at": iso(datetime.fromtimestamp(d.updated_at, UTC)),
        }
        for d in deliveries
    ]
    return out


# -- whole payloads: what `--json` prints and the HTTP API answers, built in one place ------


def query_json(hits: Sequence[QueryHit]) -> list[dict[str, Any]]:
    """``claimwatch query --json`` and ``GET /v1/query``: the hits, best first."""
    return [hit_json(h) for h in hits]


def narratives_json(narratives: Sequence[Narrative]) -> list[dict[str, Any]]:
    """``claimwatch narratives --json`` and ``GET /v1/narratives``."""
    return [narrative_json(n) for n in narratives]


def incidents_json(store: Store) -> list[dict[str, Any]]:
    """``claimwatch incident list --json`` and ``GET /v1/incidents``: every incident with
    its counts (posts, by term, by meaning, narratives, findings)."""
    return [{**incident_json(i), **store.incident_counts(i.id)} for i in store.incidents()]


def narrative_detail_json(store: Store, narrative_id: int) -> dict[str, Any]:
    """``claimwatch narrative show ID --json`` and ``GET /v1/narratives/{id}``: the live
    narrative ``narrative_id`` is (or was merged into), with ``merged_from`` (the id asked
    for, when it was merged), its first post, its claims (oldest first) and its posts per
    10 minutes of event time. Times ISO 8601 UTC. :class:`InputError` when there is none."""
    live = store.resolve_narrative(narrative_id)
    if live is None:
        raise InputError(f"no narrative {narrative_id}: see `claimwatch narratives`")
    (narrative,) = store.narrative_summaries(ids=[live])
    claims = store.narrative_claim_rows(live)
    first = store.first_post(live)
    buckets = activity(store.narrative_post_times(live))
    stances = store.narrative_stance_times(live)
    return {
        **narrative_json(narrative),
        "merged_from": narrative_id if live != narrative_id else None,
        "first_post": {
            "post_id": first.post_id, "source": first.source, "author": first.author,
            "tier": first.tier, "text": first.text, "created_at": iso(first.created_at),
            "url": first.url,
        } if first else None,
        "claims": [{**c, "created_at": iso(c["created_at"])} for c in claims],
        "activity": [
            {"start": iso(t), "posts": c, **counts}
            for (t, c), counts in zip(buckets, _stance_buckets(stances, buckets), strict=True)
        ],
    }


def _stance_buckets(
    stances: Sequence[tuple[datetime, Stance]], buckets: Sequence[tuple[datetime, int]]
) -> list[dict[str, int]]:
    """Replies by stance in each of ``buckets`` (as :func:`activity` gives them): how
    support, denials and questions move over a narrative's life (rising denials and
    questions mark a rumour). One pass over the replies."""
    out = [{s.value: 0 for s in Stance} for _ in buckets]
    if buckets:
        start = buckets[0][0]
        for at, stance in stances:
            i = int((at - start) / BUCKET)
            if 0 <= i < len(out):
                out[i][stance.value] += 1
    return out


def alerts_json(alerts: Sequence[tuple[Alert, Sequence[Delivery]]]) -> list[dict[str, Any]]:
    """``claimwatch alerts --json`` and ``GET /v1/alerts``: alerts (as
    ``Outbox.alerts`` lists them, newest first) with their deliveries."""
    return [alert_json(a, d) for a, d in alerts]
