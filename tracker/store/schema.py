"""The database schema, as numbered migrations. ``PRAGMA user_version`` records how far a
file has come; a migration is never edited once released: add the next one."""

from __future__ import annotations

__all__ = ["MIGRATIONS"]

MIGRATIONS: tuple[str, ...] = (
    # 1: posts, claims, embeddings
    """
    CREATE TABLE posts (
        id          INTEGER PRIMARY KEY,
        source      TEXT NOT NULL,
        ext_id      TEXT NOT NULL,
        author      TEXT,
        tier        TEXT,
        text        TEXT NOT NULL,
        text_hash   TEXT NOT NULL,
        created_at  REAL NOT NULL,
        url         TEXT,
        lang        TEXT,
        repost_of   TEXT,
        reply_to    TEXT,
        metrics     TEXT NOT NULL DEFAULT '{}',
        extra       TEXT NOT NULL DEFAULT '{}',
        ingested_at REAL NOT NULL,
        UNIQUE (source, ext_id)
    );
    CREATE INDEX posts_created_at ON posts (created_at);
    CREATE INDEX posts_repost_of ON posts (source, repost_of) WHERE repost_of IS NOT NULL;
    CREATE TABLE claims (
        id        INTEGER PRIMARY KEY,
        post_id   INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
        position  INTEGER NOT NULL,
        text      TEXT NOT NULL,
        text_hash TEXT NOT NULL,
        UNIQUE (post_id, position)
    );
    CREATE INDEX claims_text_hash ON claims (text_hash);
    CREATE TABLE embeddings (
        model     TEXT NOT NULL,
        text_hash TEXT NOT NULL,
        vector    BLOB NOT NULL,
        PRIMARY KEY (model, text_hash)
    ) WITHOUT ROWID;
    """,
    # 2: claim readings, tiers decided, incidents, links, narratives, findings
    """
    ALTER TABLE claims ADD COLUMN kind TEXT NOT NULL DEFAULT 'other';
    ALTER TABLE claims ADD COLUMN actors TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE claims ADD COLUMN candidates TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE claims ADD COLUMN hedge REAL NOT NULL DEFAULT 0;
    ALTER TABLE claims ADD COLUMN negated INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE claims ADD COLUMN official_voice INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE posts ADD COLUMN processed INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX posts_unprocessed ON posts (created_at) WHERE processed = 0;
    CREATE INDEX claims_post ON claims (post_id);
    CREATE TABLE incidents (
        id           TEXT PRIMARY KEY,
        title        TEXT NOT NULL,
        description  TEXT NOT NULL DEFAULT '',
        terms        TEXT NOT NULL DEFAULT '[]',
        started_at   REAL NOT NULL,
        location     TEXT,
        window_hours REAL NOT NULL DEFAULT 72,
        closed_at    REAL,
        origin       TEXT NOT NULL DEFAULT 'cli',
        created_at   REAL NOT NULL
    );
    CREATE TABLE post_incidents (
        incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
        post_id     INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
        via         TEXT NOT NULL,
        PRIMARY KEY (incident_id, post_id)
    ) WITHOUT ROWID;
    CREATE INDEX post_incidents_post ON post_incidents (post_id);
    CREATE TABLE narratives (
        id             INTEGER PRIMARY KEY,
        incident_id    TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
        kind           TEXT NOT NULL,
        actors         TEXT NOT NULL DEFAULT '[]',
        candidates     TEXT NOT NULL DEFAULT '[]',
        negated        INTEGER NOT NULL DEFAULT 0,
        vector_sum     BLOB NOT NULL,
        claims         INTEGER NOT NULL DEFAULT 0,
        label_claim_id INTEGER,
        labelled       INTEGER NOT NULL DEFAULT 0,
        first_seen     REAL NOT NULL,
        first_post_id  INTEGER NOT NULL REFERENCES posts (id),
        status         TEXT NOT NULL DEFAULT 'speculative',
        merged_into    INTEGER REFERENCES narratives (id),
        updated_at     REAL NOT NULL
    );
    CREATE INDEX narratives_incident ON narratives (incident_id) WHERE merged_into IS NULL;
    CREATE TABLE narrative_claims (
        incident_id  TEXT NOT NULL,
        claim_id     INTEGER NOT NULL REFERENCES claims (id) ON DELETE CASCADE,
        narrative_id INTEGER NOT NULL REFERENCES narratives (id) ON DELETE CASCADE,
        PRIMARY KEY (incident_id, claim_id)
    ) WITHOUT ROWID;
    CREATE INDEX narrative_claims_narrative ON narrative_claims (narrative_id);
    CREATE TABLE narrative_posts (
        narrative_id INTEGER NOT NULL REFERENCES narratives (id) ON DELETE CASCADE,
        post_id      INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
        at           REAL NOT NULL,
        PRIMARY KEY (narrative_id, post_id)
    ) WITHOUT ROWID;
    CREATE INDEX narrative_posts_post ON narrative_posts (post_id);
    CREATE TABLE findings (
        id          INTEGER PRIMARY KEY,
        incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
        text        TEXT NOT NULL,
        kind        TEXT NOT NULL,
        actors      TEXT NOT NULL DEFAULT '[]',
        status      TEXT NOT NULL,
        at          REAL NOT NULL,
        automatic   INTEGER NOT NULL DEFAULT 0,
        post_id     INTEGER REFERENCES posts (id),
        text_hash   TEXT NOT NULL,
        created_at  REAL NOT NULL
    );
    CREATE INDEX findings_incident ON findings (incident_id, at);
    """,
    # 3: find the replies to a post without scanning every post
    """
    CREATE INDEX posts_reply_to ON posts (source, reply_to) WHERE reply_to IS NOT NULL;
    """,
    # 4: alert rule state per (rule, narrative); rates by narrative and time; source cursors
    """
    CREATE INDEX narrative_posts_at ON narrative_posts (narrative_id, at);
    CREATE INDEX post_incidents_incident ON post_incidents (incident_id, post_id);
    CREATE TABLE rule_states (
        rule          TEXT NOT NULL,
        narrative_id  INTEGER NOT NULL REFERENCES narratives (id) ON DELETE CASCADE,
        incident_id   TEXT NOT NULL,
        open_alert    TEXT,
        last_event    TEXT NOT NULL,
        last_at       REAL NOT NULL,
        last_rate     REAL NOT NULL,
        severity      TEXT NOT NULL,
        below_since   REAL,
        PRIMARY KEY (rule, narrative_id)
    ) WITHOUT ROWID;
    CREATE INDEX rule_states_open ON rule_states (incident_id) WHERE open_alert IS NOT NULL;
    CREATE TABLE source_cursors (
        source     TEXT PRIMARY KEY,
        cursor     TEXT NOT NULL,
        updated_at REAL NOT NULL
    );
    """,
    # 5: detection that holds on real events: who a claim is stated on the word of; a
    # reply's stance; how each post takes part in a narrative (its own claim, a repost, a
    # reply in its conversation) and whether it is verified reporting; claims per narrative
    # said with a hedge or by an untrusted account (plain reports against speculation);
    # the authority a finding came from
    """
    ALTER TABLE claims ADD COLUMN authority TEXT;
    ALTER TABLE posts ADD COLUMN stance TEXT;
    ALTER TABLE narrative_posts ADD COLUMN role TEXT NOT NULL DEFAULT 'claim';
    ALTER TABLE narrative_posts ADD COLUMN stance TEXT;
    ALTER TABLE narrative_posts ADD COLUMN confirmed INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE narratives ADD COLUMN unsure INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE findings ADD COLUMN authority TEXT;
    CREATE INDEX narrative_posts_confirmed ON narrative_posts (narrative_id, at)
        WHERE confirmed = 1;
    """,
    # 6: conflicting reports: the values a claim or a finding gives to questions with
    # comparable answers (JSON lists of tracker.claims.values.Value data, NULL when none), and
    # the state of each conflict rule on each question of an incident, with its sides
    """
    ALTER TABLE claims ADD COLUMN vals TEXT;
    ALTER TABLE findings ADD COLUMN vals TEXT;
    CREATE TABLE conflict_states (
        rule          TEXT NOT NULL,
        incident_id   TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
        question      TEXT NOT NULL,
        open_alert    TEXT,
        last_event    TEXT NOT NULL,
        last_at       REAL NOT NULL,
        last_rate     REAL NOT NULL,
        severity      TEXT NOT NULL,
        below_since   REAL,
        conflict      TEXT,
        PRIMARY KEY (rule, incident_id, question)
    ) WITHOUT ROWID;
    """,
    # 7: the outbox (tracker.store.outbox): each alert as recorded and one delivery row per
    # channel. Files from before this migration may have these tables already (the outbox
    # used to create them itself), hence IF NOT EXISTS.
    """
    CREATE TABLE IF NOT EXISTS outbox_alerts (
        seq          INTEGER PRIMARY KEY,
        id           TEXT NOT NULL UNIQUE,
        incident_id  TEXT NOT NULL,
        narrative_id INTEGER NOT NULL,
        event        TEXT NOT NULL,
        at           REAL NOT NULL,
        body         TEXT NOT NULL,
        created_at   REAL NOT NULL
    );
    CREATE INDEX IF NOT EXISTS outbox_alerts_incident ON outbox_alerts (incident_id, seq);
    CREATE TABLE IF NOT EXISTS outbox_deliveries (
        id         INTEGER PRIMARY KEY,
        alert_id   TEXT NOT NULL REFERENCES outbox_alerts (id) ON DELETE CASCADE,
        channel    TEXT NOT NULL,
        state      TEXT NOT NULL,
        attempts   INTEGER NOT NULL DEFAULT 0,
        next_at    REAL NOT NULL,
        last_error TEXT,
        detail     TEXT,
        updated_at REAL NOT NULL,
        UNIQUE (alert_id, channel)
    );
    CREATE INDEX IF NOT EXISTS outbox_deliveries_due ON outbox_deliveries (next_at)
        WHERE state = 'pending';
    """,
    # 8: several workers on one database (tracker.store.leases): named leases (who polls a
    # source); the clustering revision with the alert monitor's clock (a worker that sees
    # it moved reads narratives again); which worker claimed a delivery, until when
    """
    CREATE TABLE leases (
        name       TEXT PRIMARY KEY,
        holder     TEXT NOT NULL,
        expires_at REAL NOT NULL
    );
    CREATE TABLE clustering_revisions (
        scope    TEXT PRIMARY KEY,
        revision INTEGER NOT NULL,
        clock    REAL,
        holder   TEXT
    );
    ALTER TABLE outbox_deliveries ADD COLUMN claimed_by TEXT;
    ALTER TABLE outbox_deliveries ADD COLUMN claimed_until REAL;
    CREATE INDEX posts_orphans ON posts (ingested_at) WHERE processed = 0;
    """,
)
