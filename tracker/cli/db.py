"""`claimwatch db migrate` and `claimwatch db status`: the database's schema version."""

from __future__ import annotations

import json

import typer

from tracker.cli.common import ConfigOpt, JsonOpt, err, out, settings_of
from tracker.store import MIGRATIONS, Store
from tracker.store.connection import BYTE_ORDER_COLLATIONS, PostgresConnection


def _note_collation(store: Store) -> None:
    """On PostgreSQL, say so when text does not sort by code point (as SQLite's does)."""
    if isinstance(store._db, PostgresConnection):
        collation = store._db.collation()
        if collation not in BYTE_ORDER_COLLATIONS:
            err.print(
                f"note: the database's collation is {collation}; names then sort as that "
                "locale does, not as on SQLite (create it with LC_COLLATE 'C' for the same "
                "order)", markup=False,
            )

db_app = typer.Typer(
    help="The database (SQLite file or PostgreSQL): its schema.", no_args_is_help=True
)


@db_app.command("migrate")
def db_migrate(config: ConfigOpt = None, json_out: JsonOpt = False) -> None:
    """Apply the migrations the database lacks (an empty PostgreSQL database gets every
    table); print the schema version before and after."""
    settings = settings_of(config)
    store = Store(settings.database, migrate=False)
    try:
        before, after = store.migrate()
        engine = store.dialect
        _note_collation(store)
    finally:
        store.close()
    if json_out:
        out.print(json.dumps({"database": settings.database_label, "engine": engine,
                              "from": before, "to": after}), markup=False)
    elif before == after:
        out.print(f"{settings.database_label}: schema {after}, up to date", markup=False)
    else:
        out.print(f"{settings.database_label}: schema {before} -> {after}", markup=False)


@db_app.command("status")
def db_status(config: ConfigOpt = None, json_out: JsonOpt = False) -> None:
    """The database's schema version and this claimwatch's, without changing anything."""
    settings = settings_of(config)
    store = Store(settings.database, migrate=False)
    try:
        version, engine = store.schema_version, store.dialect
        _note_collation(store)
    finally:
        store.close()
    known = len(MIGRATIONS)
    state = "up to date" if version == known else (
        "newer than this claimwatch" if version > known else "needs `claimwatch db migrate`")
    if json_out:
        out.print(json.dumps({"database": settings.database_label, "engine": engine,
                              "version": version, "latest": known, "state": state}),
                  markup=False)
    else:
        out.print(f"{settings.database_label} ({engine}): schema {version} of {known}, {state}",
                  markup=False)
