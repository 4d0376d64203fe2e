"""The store behaves the same on SQLite and on PostgreSQL (issue 15): every test here runs
against a fresh SQLite file and a fresh database on a real PostgreSQL 15 server that the
session started (tests/conftest.py), and a real germanwings ingest and replay give the
same counts, narratives and alert events on both."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import faiss
import numpy as np
import pytest
from conftest import (
    GERMANWINGS,
    GERMANWINGS_INCIDENT,
    PG_PASSWORD,
    PG_PASSWORD_ROLE,
    PostgresServer,
    run_cli,
    write_config,
)

from tracker.config.settings import PostgresDatabase, load_settings
from tracker.errors import ConfigError, ReadTimeoutError, StoreError
from tracker.models import (
    Alert,
    AlertEvent,
    Claim,
    ClaimKind,
    FindingStatus,
    Incident,
    Post,
    Stance,
    Status,
)
from tracker.store import MIGRATIONS, NewPost, RuleState, Store
from tracker.store.pool import ReadPool

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
MODEL = "test-model"


def _post(ext_id: str, text: str, minutes: float = 0, **kw: object) -> Post:
    return Post(id=ext_id, source="x", author=kw.pop("author", f"a{ext_id}"),  # type: ignore[arg-type]
                text=text, created_at=T0 + timedelta(minutes=minutes), **kw)  # type: ignore[arg-type]


def _claim(text: str, kind: ClaimKind = ClaimKind.ATTRIBUTION, actors: tuple[str, ...] = ("TTP",)
           ) -> Claim:
    return Claim(text, kind, actors, (), 0.2, False, False, None)


def _unit(seed: int, dim: int = 8) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    return v / np.linalg.norm(v)


def _alert(alert_id: str, narrative_id: int) -> Alert:
    return Alert(
        alert_id=alert_id, event=AlertEvent.RAISED, rule="fast", incident_id="nushki",
        incident_title="Nushki blast", narrative_id=narrative_id, label="TTP claims",
        kind=ClaimKind.ATTRIBUTION, actors=("TTP",), status=Status.SPECULATIVE,
        severity="high", at=T0 + timedelta(minutes=6), spread_rate=2.0, verified_rate=0.0,
        ratio=8.0, posts=6, authors=4, reach=0, window_minutes=15.0, first_seen=T0,
        minutes_since_incident=60.0, reason="spreading",
    )


def _incident() -> Incident:
    return Incident(id="nushki", title="Nushki blast", description="A blast in Nushki",
                    terms=("Nushki",), started_at=T0 - timedelta(hours=1))


def test_a_post_keyed_by_source_and_id_is_stored_once(store_target: str) -> None:
    store = Store(store_target)
    try:
        first = NewPost(_post("1", "Sources say TTP is behind the Nushki blast"), "h1",
                        [_claim("Sources say TTP is behind the Nushki blast")])
        inserted, claims = store.add_posts([first], MODEL, {})
        again, none = store.add_posts([first, first], MODEL, {})
        assert inserted[0] is not None and len(claims) == 1
        assert again == [None, None] and none == []
        assert store.count("posts") == 1 and store.count("claims") == 1
        assert store.existing_keys([("x", "1"), ("x", "2"), ("rss", "1")]) == {("x", "1")}
        assert store.post_claim_count("x", "1") == 1
    finally:
        store.close()


def test_claims_and_embeddings_come_back_so_the_index_can_be_rebuilt(store_target: str) -> None:
    store = Store(store_target)
    try:
        texts = [f"Claim number {i} about the Nushki blast" for i in range(30)]
        posts = [NewPost(_post(str(i), t, i), f"p{i}", [Claim(t, ClaimKind.OTHER, (), (), 0.0,
                 False, False, None, text_hash=f"h{i}")]) for i, t in enumerate(texts)]
        vectors = {f"h{i}": _unit(i) for i in range(30)}
        _, claims = store.add_posts(posts, MODEL, vectors)
        cids = [int(c.id or 0) for c in claims]
        assert cids == sorted(cids) and len(set(cids)) == 30  # ids ascend
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(8))
        for ids, vecs in store.iter_claim_vectors(MODEL, chunk=7):
            index.add_with_ids(vecs, ids)
        assert index.ntotal == 30
        _, found = index.search(_unit(17)[None, :], 1)
        assert int(found[0][0]) == cids[17]  # the claim whose text has that vector
        rows = store.claims([cids[17]])
        assert rows[cids[17]].text == texts[17]
        assert rows[cids[17]].created_at == T0 + timedelta(minutes=17)
        info = store.posts_for_processing([r for r in store.unprocessed_posts()], MODEL)
        assert len(info) == 30 and info[3].claims[0].vector is not None
        assert np.allclose(info[3].claims[0].vector, vectors["h3"])
        assert store.claim_texts_without_embedding("other-model") == {
            f"h{i}": t for i, t in enumerate(texts)}
        assert store.same_text_counts(["h1", "h2", "nope"]) == {"h1": 1, "h2": 1}
    finally:
        store.close()


def test_narratives_findings_rule_states_outbox_and_cursors_round_trip(
    store_target: str,
) -> None:
    store = Store(store_target)
    try:
        assert store.save_incident(_incident()) is True
        assert store.save_incident(_incident()) is False
        rowids, claims = store.add_posts(
            [NewPost(_post(str(i), f"TTP claims the Nushki blast, post {i}", minutes=i,
                           author="same" if i % 2 else f"a{i}"), f"p{i}",
                     [_claim(f"TTP claims the Nushki blast, post {i}")]) for i in range(6)]
            + [NewPost(_post("r", "Is that true?", 7, reply_to="0"), "pr", [], Stance.QUERY)],
            MODEL, {},
        )
        ids = [r for r in rowids if r is not None]
        cids = [int(c.id or 0) for c in claims]
        for rid in ids:
            assert store.link(rid, "nushki", "term") is True
        assert store.link(ids[0], "nushki", "term") is False
        keep = store.create_narrative("nushki", ClaimKind.ATTRIBUTION, ("TTP",), (), False,
                                      _unit(1), T0 + timedelta(minutes=2), ids[2], cids[2])
        drop = store.create_narrative("nushki", ClaimKind.ATTRIBUTION, ("TTP",), (), False,
                                      _unit(2), T0, ids[0], cids[0])
        for i in (2, 3, 4):
            store.add_claim_to_narrative(keep, "nushki", cids[i], _unit(1), ids[i],
                                         T0 + timedelta(minutes=i), confirmed=i == 4)
        for i in (0, 1, 5):
            store.add_claim_to_narrative(drop, "nushki", cids[i], _unit(2), ids[i],
                                         T0 + timedelta(minutes=i), unsure=True)
        store.add_post_to_narrative(drop, ids[6], T0 + timedelta(minutes=7), role="reply",
                                    stance=Stance.QUERY)
        state = RuleState("alert-1", AlertEvent.RAISED, T0 + timedelta(minutes=5), 2.5, "high")
        store.save_rule_state("fast", drop, "nushki", state)
        store.save_rule_state("slow", keep, "nushki", state)
        store.save_rule_state("slow", drop, "nushki", state)
        clashes = store.merge_narrative(keep, drop, _unit(3))
        assert clashes == [("slow", "alert-1", "alert-1")]
        assert store.resolve_narrative(drop) == keep
        [summary] = store.narrative_summaries("nushki", since=T0 + timedelta(minutes=4))
        assert (summary.id, summary.size, summary.claims, summary.replies) == (keep, 7, 6, 1)
        assert summary.first_seen == T0 and summary.authors == 5 and summary.recent == 3
        assert summary.stances["query"] == 1 and summary.first_post_id == "0"
        assert summary.tiers == {"official": 0, "verified": 0, "unverified": 0}
        [view] = store.narrative_views("nushki")
        assert view[7] == 0.5  # three of six claims unsure
        assert set(store.rule_states_of(keep)) == {"fast", "slow"}
        assert store.verified_times("nushki") == [T0 + timedelta(minutes=4)]
        window = store.window_posts(keep, T0 - timedelta(minutes=1), T0 + timedelta(minutes=10))
        assert len(window) == 7 and window[-1].stance is Stance.QUERY
        # the join times in each span, both ends open; a merged narrative has none left
        assert store.join_times([(keep, T0, T0 + timedelta(minutes=7)), (drop, T0, T0)]) == {
            keep: [T0 + timedelta(minutes=i) for i in range(1, 6)]}
        fid = store.add_finding("nushki", "Police: TTP behind it", "fh", ClaimKind.ATTRIBUTION,
                                ("TTP",), FindingStatus.CONFIRMED, T0 + timedelta(minutes=9),
                                post_rowid=ids[3])
        assert store.add_finding("nushki", "Police: TTP behind it", "fh", ClaimKind.ATTRIBUTION,
                                 ("TTP",), FindingStatus.CONFIRMED, T0, post_rowid=ids[3]) == fid
        [(finding, digest)] = store.findings("nushki")
        assert finding.actors == ("TTP",) and digest == "fh" and finding.post_id == "3"
        store.set_status(keep, Status.CONFIRMED)
        assert store.narrative_heads([keep, drop]) == {
            keep: ("nushki", ClaimKind.ATTRIBUTION, Status.CONFIRMED)}
        counts = store.incident_counts("nushki")
        assert counts == {"posts": 7, "by_term": 7, "by_meaning": 0, "narratives": 1,
                          "findings": 1}

        store.outbox.enqueue(_alert("al-1", keep), ["log", "hook"], now=100.0)  # on its own
        with store.transaction():  # and inside a transaction, committed with it
            store.outbox.enqueue(_alert("al-2", keep), ["log"], now=100.0)
        with pytest.raises(ValueError), store.transaction():  # rolled back with it
            store.outbox.enqueue(_alert("al-3", keep), ["log"], now=100.0)
            raise ValueError("the rule state failed")
        with pytest.raises(Exception), store.transaction():  # noqa: B017 - a duplicate id
            store.outbox.enqueue(_alert("al-1", keep), ["log"], now=100.0)
        due = store.outbox.due(now=101.0)
        assert [(d.channel, a.alert_id) for d, a, _ in due] == [
            ("log", "al-1"), ("hook", "al-1"), ("log", "al-2")]
        store.outbox.sent(due[0][0].id, "ok", now=102.0)
        store.outbox.failed(due[1][0].id, "HTTP 500", attempts=1, retry_at=None, now=102.0)
        assert store.outbox.counts() == {"pending": 1, "sent": 1, "dead": 1, "held": 0}
        assert store.outbox.next_due() == 100.0
        assert store.outbox.due(now=0.0) == []  # not due yet, unless a restart asks
        assert [d.channel for d, _, _ in store.outbox.due(now=0.0, waiting_too=True)] == ["log"]
        [(back, deliveries), _] = store.outbox.alerts("nushki")[::-1]
        assert back.alert_id == "al-1" and [d.channel for d in deliveries] == ["hook", "log"]

        store.set_cursor("feeds", {"etag": "W/1", "since": 5})
        store.set_cursor("feeds", {"etag": "W/2"})
        assert store.cursor("feeds") == {"etag": "W/2"} and store.cursor("other") is None
    finally:
        store.close()


def test_a_failed_transaction_leaves_nothing_behind(store_target: str) -> None:
    store = Store(store_target)
    try:
        with pytest.raises(RuntimeError), store.transaction():
            store.save_incident(_incident())
            raise RuntimeError("crash mid-write")
        assert store.incidents() == []
        store.save_incident(_incident())  # the connection is usable afterwards
        assert [i.id for i in store.incidents()] == ["nushki"]
    finally:
        store.close()


def test_a_dropped_postgresql_connection_fails_its_call_then_reconnects(
    postgres: PostgresServer,
) -> None:
    url = postgres.fresh_database()
    store = Store(url)
    try:
        store.save_incident(_incident())
        name = url.rsplit("/", 1)[1]
        postgres.admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       f"WHERE datname = '{name}' AND pid <> pg_backend_pid()")
        with pytest.raises(StoreError, match="PostgreSQL at 127"):  # the call in flight
            store.incidents()
        assert [i.id for i in store.incidents()] == ["nushki"]  # the next call reconnects
        with pytest.raises(StoreError), store.transaction():  # lost mid-transaction
            store.set_cursor("feeds", {"n": 1})
            postgres.admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           f"WHERE datname = '{name}' AND pid <> pg_backend_pid()")
            store.set_cursor("feeds", {"n": 2})
        assert store.cursor("feeds") is None  # nothing of it was committed
    finally:
        store.close()


def test_migrations_from_empty_and_a_newer_schema_refused(store_target: str) -> None:
    store = Store(store_target)
    assert store.schema_version == len(MIGRATIONS)
    assert store.migrate() == (len(MIGRATIONS), len(MIGRATIONS))  # nothing left to do
    with store.transaction():
        store._db.set_schema_version(len(MIGRATIONS) + 1)
    store.close()
    with pytest.raises(StoreError, match="newer than this claimwatch"):
        Store(store_target)


def test_reads_are_read_only_and_limited_in_time(store_target: str) -> None:
    Store(store_target).close()
    store = Store(store_target, readonly=True)
    try:
        with pytest.raises(Exception):  # noqa: B017 - each engine's own read-only error
            store.save_incident(_incident())
    finally:
        store.close()
    pool = ReadPool(store_target, size=1, timeout=0.2)
    slow = (  # a statement that takes far longer than 0.2 s on either engine
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30000000) "
        "SELECT count(*) FROM n"
    )
    try:
        with pytest.raises(ReadTimeoutError, match="read_timeout_seconds"):
            pool.call(lambda s: s._all(slow))
        assert pool.call(lambda s: s.incidents()) == []  # the connection serves on
    finally:
        pool.close()


def test_a_url_with_a_password_is_refused_and_never_shown(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="password_env") as caught:
        Store("postgresql://claimwatch:s3cret-pw@127.0.0.1:5432/claimwatch")
    assert "s3cret-pw" not in str(caught.value)
    config = write_config(tmp_path)
    config.write_text(config.read_text(encoding="utf-8").replace(
        "[storage]\n", '[storage]\nurl = "postgresql://u:s3cret-pw@db/claimwatch"\n', 1),
        encoding="utf-8")
    with pytest.raises(ConfigError, match="password") as bad:
        load_settings(config, environ={})
    assert "s3cret-pw" not in str(bad.value)


def test_the_password_comes_from_the_environment_and_is_never_shown(
    postgres: PostgresServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    url = postgres.fresh_database().replace("postgres@", f"{PG_PASSWORD_ROLE}@")
    postgres.admin(f"GRANT ALL ON DATABASE {url.rsplit('/', 1)[1]} TO {PG_PASSWORD_ROLE}")
    postgres.admin(f"ALTER DATABASE {url.rsplit('/', 1)[1]} OWNER TO {PG_PASSWORD_ROLE}")
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("CLAIMWATCH_DB_PASSWORD", "wrong-" + PG_PASSWORD)
    with pytest.raises(StoreError, match="password authentication failed") as refused:
        Store(url)
    assert PG_PASSWORD not in str(refused.value)
    monkeypatch.setenv("CLAIMWATCH_DB_PASSWORD", PG_PASSWORD)
    store = Store(url)
    try:
        assert store.schema_version == len(MIGRATIONS)
    finally:
        store.close()
    monkeypatch.delenv("CLAIMWATCH_DB_PASSWORD")
    monkeypatch.setenv("MY_DB_SECRET", PG_PASSWORD)  # [storage] password_env names another
    settings = load_settings(write_config(tmp_path), environ={
        "CLAIMWATCH_STORAGE__URL": url, "CLAIMWATCH_STORAGE__PASSWORD_ENV": "MY_DB_SECRET"})
    Store(settings.database).close()


def test_an_unreachable_server_is_a_clear_error(postgres: PostgresServer) -> None:
    with pytest.raises(StoreError, match=r"cannot connect to PostgreSQL at 127\.0\.0\.1:1/none"):
        Store("postgresql://postgres@127.0.0.1:1/none")


def test_the_daemons_health_check_reaches_either_engine(store_target: str) -> None:
    from tracker.daemon.service import _database_reachable

    Store(store_target).close()
    if store_target.startswith("postgresql://"):
        target = PostgresDatabase(store_target, "CLAIMWATCH_DB_PASSWORD")
        gone = PostgresDatabase("postgresql://postgres@127.0.0.1:1/none", "X")
    else:
        target, gone = Path(store_target), Path(store_target).parent / "missing" / "x.db"
    assert _database_reachable(target) == (True, None)
    ok, problem = _database_reachable(gone)
    assert not ok and problem


def test_db_migrate_on_an_empty_postgresql_database(
    postgres: PostgresServer, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    url = postgres.fresh_database()
    config = write_config(tmp_path)
    config.write_text(config.read_text(encoding="utf-8").replace(
        "[storage]\n", f'[storage]\nurl = "{url}"\n', 1), encoding="utf-8")
    assert run_cli(["db", "status", "--json", "--config", str(config)]) == 0
    status = json.loads(capsys.readouterr().out)
    assert (status["engine"], status["version"]) == ("postgresql", 0)
    assert run_cli(["db", "migrate", "--json", "--config", str(config)]) == 0
    done = json.loads(capsys.readouterr().out)
    assert (done["from"], done["to"]) == (0, len(MIGRATIONS))
    assert run_cli(["db", "migrate", "--config", str(config)]) == 0
    assert "up to date" in capsys.readouterr().out
    assert not (tmp_path / "claimwatch.db").exists()  # nothing went to SQLite
    broken = config.read_text(encoding="utf-8").replace(url, "postgresql://postgres@127.0.0.1:1/x")
    config.write_text(broken, encoding="utf-8")
    assert run_cli(["db", "migrate", "--config", str(config)]) != 0
    assert "cannot connect to PostgreSQL" in capsys.readouterr().err


# -- a real ingest and replay on both engines ---------------------------------------------

POSTS = 400  # the first 33 minutes of the germanwings thread file: six alert events


def _germanwings_configs(folder: Path, url: str) -> tuple[Path, Path]:
    posts = folder / "germanwings.jsonl"
    with GERMANWINGS.open(encoding="utf-8") as src, posts.open("w", encoding="utf-8") as out:
        for _, line in zip(range(POSTS), src, strict=False):
            out.write(line)
    configs = []
    for name in ("sqlite", "postgresql"):
        sub = folder / name
        sub.mkdir()
        config = write_config(sub, GERMANWINGS_INCIDENT)
        if name == "postgresql":
            config.write_text(config.read_text(encoding="utf-8").replace(
                "[storage]\n", f'[storage]\nurl = "{url}"\n', 1), encoding="utf-8")
        configs.append(config)
    return configs[0], configs[1]


def _alert_events(output: str) -> list[dict[str, object]]:
    events = []
    for line in output.splitlines():
        data = json.loads(line)
        if "alert_id" in data:
            for key in ("alert_id", "follows"):
                data.pop(key, None)
            events.append(data)
    return events


def test_germanwings_gives_the_same_results_on_both_engines(
    postgres: PostgresServer, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    url = postgres.fresh_database()
    lite, pg = _germanwings_configs(tmp_path, url)
    posts = tmp_path / "germanwings.jsonl"
    results = []
    for config in (lite, pg):
        assert run_cli(["ingest", str(posts), "--config", str(config), "--json"]) == 0
        capsys.readouterr()
        assert run_cli(["narratives", "--incident", "germanwings", "--json", "--limit", "1000",
                        "--config", str(config)]) == 0
        narratives = json.loads(capsys.readouterr().out)
        store = Store(load_settings(config, environ={}).database)
        try:
            counts = {t: store.count(t) for t in ("posts", "claims", "embeddings",
                                                  "narratives", "post_incidents")}
            alerts = [(a.event.value, a.narrative_id, a.at, a.label)
                      for a, _ in store.outbox.alerts("germanwings")]
        finally:
            store.close()
        assert run_cli(["replay", str(posts), "--json", "--config", str(config)]) == 0
        replayed = _alert_events(capsys.readouterr().out)
        results.append((counts, narratives, alerts, replayed))
    (lite_counts, lite_narratives, lite_alerts, lite_replay), pg_result = results
    assert lite_counts["posts"] == POSTS and lite_counts["narratives"] > 10
    assert len(lite_replay) >= 2 and len(lite_alerts) >= 2
    assert pg_result[0] == lite_counts
    assert pg_result[1] == lite_narratives
    assert pg_result[2] == lite_alerts
    assert pg_result[3] == lite_replay
    # the replay worked in a schema of its own, dropped at the end
    import psycopg

    with psycopg.connect(url) as db:
        left = db.execute(
            "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'claimwatch_replay%'"
        ).fetchone()
    assert left == (0,)
    shutil.rmtree(tmp_path / "sqlite" / "indexes", ignore_errors=True)
