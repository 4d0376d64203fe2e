"""Germanwings on both engines (issue 15's acceptance): ``claimwatch ingest`` and
``claimwatch replay`` give the same results on PostgreSQL as on SQLite.

    .venv/bin/python bench/engines.py [FILE] [--keep DIR]

Starts a PostgreSQL 15 server of its own (as ``bench/workers.py`` and the tests do), then
for each engine, under ``examples/germanwings.toml`` (its tiers and incident; ``[storage]
path`` a fresh SQLite file, or ``[storage] url`` a fresh PostgreSQL database made as the
README says, after ``claimwatch db migrate``):

1. ``claimwatch ingest FILE --json`` (FILE: the germanwings PHEME thread file by default),
   then what a user reads back: ``incident show germanwings --json`` (posts, findings,
   narratives), ``narratives --incident germanwings --all --json`` (every live narrative
   with its size) and ``alerts --json``;
2. ``claimwatch replay FILE --json``: the alert events in event time (on PostgreSQL in a
   scratch schema of that database).

Compares posts, claims, narratives (count and sizes), findings, alert events (rule,
kind, event, narrative label, at) and then every field of every output (alert ids, which
are random, and delivery attempts' wall-clock times left out), and prints the differences
or "identical". Exit status 1 when they differ. Every command is a real ``claimwatch``
subprocess; the elapsed seconds of each are printed.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from workers import (  # noqa: E402
    DEFAULT_FILE,
    claimwatch,
    germanwings_config,
    postgres_server,
)

from tracker.store import Store  # noqa: E402

IGNORED = {"alert_id", "follows", "updated_at", "next_at"}
"""Keys left out of the field-by-field comparison: random ids (an alert's uuid) and the
ids that point at them, and the wall-clock times of delivery attempts (``alerts --json``
deliveries: when the outbox last touched them, not event time)."""


def _json_lines(text: str) -> list[dict[str, Any]]:
    """The alert events of `replay --json` (one JSON object a line; rejects left out)."""
    rows = [json.loads(line) for line in text.splitlines() if line.strip().startswith("{")]
    return [row for row in rows if "rule" in row and "event" in row]


def run_engine(name: str, config: Path, file: Path) -> dict[str, Any]:
    """Every output of one engine, with the seconds each command took."""
    out: dict[str, Any] = {"seconds": {}}

    def timed(key: str, args: list[str]) -> str:
        start = time.perf_counter()
        text = claimwatch([*args, "--config", str(config)]).stdout
        out["seconds"][key] = time.perf_counter() - start
        print(f"  {name}: claimwatch {args[0]} {args[1] if len(args) > 1 else ''} "
              f"{out['seconds'][key]:.1f} s", flush=True)
        return text

    timed("migrate", ["db", "migrate", "--json"])
    out["ingest"] = json.loads(timed("ingest", ["ingest", str(file), "--json"]))
    out["incident"] = json.loads(timed("incident", ["incident", "show", "germanwings",
                                                    "--json"]))
    out["narratives"] = json.loads(timed("narratives", ["narratives", "--incident",
                                                        "germanwings", "--all", "--json"]))
    out["alerts"] = json.loads(timed("alerts", ["alerts", "--json", "--limit", "1000"]))
    out["replay"] = _json_lines(timed("replay", ["replay", str(file), "--json"]))
    return out


def counts(out: dict[str, Any], database: str | Path) -> dict[str, Any]:
    """The figures the acceptance names."""
    store = Store(database, readonly=isinstance(database, Path))
    try:
        posts, claims = store.count("posts"), store.count("claims")
    finally:
        store.close()
    narratives = out["narratives"]
    return {
        "posts": posts,
        "claims": claims,
        "narratives": len(narratives),
        "narrative sizes": sorted((n["size"] for n in narratives), reverse=True),
        "findings": len(out["incident"]["findings"]),
        "ingest alert events": [_event(a) for a in out["alerts"]],
        "replay alert events": [_event(a) for a in out["replay"]],
    }


def _event(alert: dict[str, Any]) -> tuple[str, str, str, str, str]:
    return (alert["rule"], alert["kind"], alert["event"], alert["label"], alert["at"])


def diff(a: Any, b: Any, path: str, found: list[str]) -> None:
    """Append to ``found`` a line per place where ``a`` and ``b`` differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key in IGNORED:
                continue
            if key not in a or key not in b:
                found.append(f"{path}.{key}: only on {'postgresql' if key in b else 'sqlite'}")
                continue
            diff(a[key], b[key], f"{path}.{key}", found)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            found.append(f"{path}: {len(a)} items on sqlite, {len(b)} on postgresql")
        for n, (x, y) in enumerate(zip(a, b, strict=False)):
            diff(x, y, f"{path}[{n}]", found)
    elif a != b and not (isinstance(a, float) and isinstance(b, float)
                         and abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))):
        found.append(f"{path}: sqlite {a!r}, postgresql {b!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--keep", type=Path, help="write both engines' outputs as JSON here")
    parser.add_argument("--show", type=int, default=40, help="differences to print at most")
    args = parser.parse_args()
    print(f"file: {args.file}", flush=True)
    with tempfile.TemporaryDirectory(prefix="claimwatch-bench-engines-") as scratch, \
            postgres_server() as server:
        tmp = Path(scratch)
        db = tmp / "sqlite" / "claimwatch.db"
        db.parent.mkdir()
        url = server.fresh_database("germanwings")
        outputs: dict[str, dict[str, Any]] = {}
        figures: dict[str, dict[str, Any]] = {}
        for engine, storage, database in (("sqlite", f'path = "{db}"', db),
                                          ("postgresql", f'url = "{url}"', url)):
            config = germanwings_config(tmp / f"{engine}.toml", storage, tmp / f"ix-{engine}")
            outputs[engine] = run_engine(engine, config, args.file)
            figures[engine] = counts(outputs[engine], database)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        for engine, out in outputs.items():
            (args.keep / f"{engine}.json").write_text(
                json.dumps({**out, "figures": figures[engine]}, indent=1), encoding="utf-8")

    lite, pg = figures["sqlite"], figures["postgresql"]
    for key in lite:
        same = "same" if lite[key] == pg[key] else "DIFFERENT"
        if isinstance(lite[key], list):
            print(f"{key}: {len(lite[key])} on sqlite, {len(pg[key])} on postgresql: {same}")
        else:
            print(f"{key}: {lite[key]} on sqlite, {pg[key]} on postgresql: {same}")
    found: list[str] = []
    for section in ("ingest", "incident", "narratives", "alerts", "replay"):
        diff(outputs["sqlite"][section], outputs["postgresql"][section], section, found)
    for section in ("ingest", "replay"):
        print(f"{section}: {outputs['sqlite']['seconds'][section]:.1f} s on sqlite, "
              f"{outputs['postgresql']['seconds'][section]:.1f} s on postgresql")
    if not found and lite == pg:
        print("identical")
        return
    print(f"{len(found)} differences, field by field:")
    for line in found[: args.show]:
        print(f"  {line}")
    raise SystemExit(1)


if __name__ == "__main__":
    main()
