"""Settings: defaults, then a TOML file, then ``CLAIMWATCH_SECTION__KEY`` environment variables.

Every setting is declared once below, with its default and its help text (the field
description); ``config.example.toml`` lists them all and a test keeps the two in step.
Unknown keys, wrong types and bad values raise :class:`ConfigError` naming the key, what
was expected and a hint. ``[claims.lexicon]`` and ``[[actors]]`` are held as plain data:
the claims stage builds and checks them (:func:`tracker.claims.lexicon.lexicon_from`,
:func:`~tracker.claims.lexicon.actors_from`), with the same kind of message.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tracker.errors import ConfigError
from tracker.models import ClaimKind, Status

__all__ = [
    "DEFAULT_CHANNELS",
    "DEFAULT_CONFIG_FILE",
    "DEFAULT_RULES",
    "ENV_PREFIX",
    "ActorSettings",
    "ChannelSettings",
    "ClaimSettings",
    "EmbeddingSettings",
    "IncidentSettings",
    "IndexSettings",
    "IngestSettings",
    "LinkingSettings",
    "NarrativeSettings",
    "OutboxSettings",
    "PostgresDatabase",
    "RuleSettings",
    "ServiceSettings",
    "Settings",
    "SourceSettings",
    "StorageSettings",
    "TierSettings",
    "load_settings",
]

DEFAULT_CONFIG_FILE = "claimwatch.toml"
ENV_PREFIX = "CLAIMWATCH_"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class StorageSettings(_Section):
    path: str = Field(
        "claimwatch.db",
        description="SQLite database file, the source of truth (WAL mode); used when `url` "
        "is empty.",
    )
    url: str = Field(
        "",
        description="PostgreSQL instead of SQLite, for several workers on one database: "
        "postgresql://user@host:port/database, without a password (see `password_env`). "
        "Empty: the SQLite file at `path`.",
    )
    password_env: str = Field(
        "CLAIMWATCH_DB_PASSWORD",
        description="Environment variable holding the PostgreSQL password (libpq's "
        "PGPASSWORD and ~/.pgpass work too).",
    )
    pg_schema: str = Field(
        "",
        description="PostgreSQL schema to keep claimwatch's tables in (it must exist); "
        "empty: the server's search_path.",
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value:
            return value
        if not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("a database URL starts with postgresql://")
        parts = urlsplit(value)
        if parts.password is not None or "password=" in parts.query:
            raise ValueError(
                "the URL carries a password: remove it and set the environment variable "
                "named by [storage] password_env instead"
            )
        return value

    @field_validator("pg_schema")
    @classmethod
    def _schema(cls, value: str) -> str:
        if value and not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", value):
            raise ValueError("a plain lower-case name (letters, digits, _)")
        return value


@dataclass(frozen=True, slots=True)
class PostgresDatabase:
    """A PostgreSQL database as ``[storage]`` names it (what the store opens): the URL
    without a password, the environment variable with the password, the schema."""

    url: str
    password_env: str
    pg_schema: str = ""

    def __str__(self) -> str:
        return self.url


class IndexSettings(_Section):
    dir: str = Field(
        "indexes",
        description="Folder holding the FAISS index files "
        "(derived data, rebuilt from the database).",
    )
    kind: Literal["auto", "flat", "ivf", "hnsw"] = Field(
        "auto",
        description="flat (exact), ivf (trained clusters, removable), hnsw (graph, cannot "
        "remove vectors), or auto: flat while small, ivf past `ivf_from` vectors.",
    )
    ivf_from: int = Field(
        100_000, ge=1000, description="auto: move from flat to ivf past this many vectors."
    )
    nprobe: int = Field(128, ge=1, le=65536, description="ivf: clusters searched per query.")
    ef_search: int = Field(64, ge=1, le=4096, description="hnsw: search breadth per query.")


class EmbeddingSettings(_Section):
    model: str = Field(
        "all-MiniLM-L6-v2",
        description="Model name: all-MiniLM-L6-v2 is read from the shipped copy; any other "
        "name is loaded as a sentence-transformers hub name.",
    )
    model_path: str = Field(
        "",
        description="A local sentence-transformers model folder; when set it wins over `model`.",
    )
    cache_dir: str = Field(
        "~/.cache/claimwatch",
        description="Where the shipped model is extracted once.",
    )
    batch_size: int = Field(32, ge=1, le=4096, description="Most sentences per encode batch.")
    threads: int = Field(
        0, ge=0, le=256,
        description="Threads for encoding (torch, ONNX Runtime, OpenVINO); 0 means one per core.",
    )
    streams: int = Field(
        0, ge=0, le=64,
        description="OpenVINO inference streams: batches run side by side, one per stream; "
        "0 lets OpenVINO choose for throughput (on 2 cores: 2 streams of 1 thread), 1 runs "
        "each batch on every thread.",
    )
    backend: Literal["torch", "onnx", "openvino"] = Field(
        "openvino",
        description="Inference engine; a backend that is missing falls back to torch fp32.",
    )
    precision: Literal["fp32", "bf16", "int8"] = Field(
        "fp32",
        description="Numeric precision; one the CPU or backend cannot run falls back to fp32.",
    )


class IngestSettings(_Section):
    max_text_chars: int = Field(
        20000, ge=1, description="A post whose text is longer than this is rejected."
    )
    min_claim_words: int = Field(
        3, ge=1, le=50, description="A sentence needs at least this many words to be a claim."
    )
    batch_posts: int = Field(
        1024, ge=1, le=100000, description="Posts committed per transaction during ingest."
    )
    default_source: str = Field(
        "file",
        min_length=1,
        description="Source name given to posts from files that carry no `source` field.",
    )


class TierSettings(_Section):
    official_authors: tuple[str, ...] = Field(
        (), description="Handles of official sources (government, military, police "
        "spokespeople); case-insensitive, without @."
    )
    official_domains: tuple[str, ...] = Field(
        (), description="Web domains of official sources; subdomains match too."
    )
    verified_authors: tuple[str, ...] = Field(
        (), description="Handles of newsrooms and fact-checkers with editorial verification."
    )
    verified_domains: tuple[str, ...] = Field(
        (), description="Web domains of newsrooms and fact-checkers; subdomains match too."
    )


class LinkingSettings(_Section):
    min_similarity: float = Field(
        0.5, ge=0.0, le=1.0,
        description="A post with no term of an incident is still linked to it when one of "
        "its claims has at least this cosine similarity to the incident's description.",
    )


class NarrativeSettings(_Section):
    join_similarity: float = Field(
        0.75, ge=0.0, le=1.0,
        description="A claim joins the nearest narrative (same incident, kind, actors and "
        "negation) when its cosine similarity to the narrative's centroid is at least this.",
    )
    attribution_join_similarity: float = Field(
        0.5, ge=0.0, le=1.0,
        description="The same, for an attribution naming actors: claims that name the same "
        "actors on one incident tell one story however differently they phrase it "
        "(\"was a Muslim convert\", \"a convert to Islam, as well as a psychiatric "
        "patient\"), so they join at this lower similarity (never above join_similarity).",
    )
    merge_similarity: float = Field(
        0.85, ge=0.0, le=1.0,
        description="Consolidation merges narratives of the same kind, actors and negation "
        "whose centroids are at least this similar.",
    )
    active_minutes: int = Field(
        60, ge=1, description="Window, in minutes of event time, for 'most active first'."
    )


class ActorSettings(_Section):
    name: str = Field(min_length=1, description="Canonical name shown to the analyst.")
    aliases: tuple[str, ...] = Field((), description="Other names, matched case-insensitively.")
    exact: tuple[str, ...] = Field(
        (), description="Aliases matched only as written (short ones that are also words)."
    )


class ClaimSettings(_Section):
    builtin_actors: bool = Field(
        True,
        description="Start from the built-in actors (Pakistan's security landscape); "
        "[[actors]] entries add to them, or replace one of the same name.",
    )
    lexicon: dict[str, Any] = Field(
        default_factory=dict,
        description="Word lists for claim reading: a key replaces that built-in list, "
        "[claims.lexicon.extend] adds to lists (e.g. Urdu hedges).",
    )


class IncidentSettings(_Section):
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    title: str = Field(min_length=1)
    started_at: str = Field(description="ISO 8601 time with an offset.")
    description: str = ""
    terms: tuple[str, ...] = ()
    location: str = ""
    window_hours: float = Field(72.0, gt=0)


_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
_STATUSES = tuple(s.value for s in Status)
_KINDS = tuple(k.value for k in ClaimKind)


class RuleSettings(_Section):
    name: str = Field(min_length=1, pattern=_NAME, description="Shown in every alert.")
    detect: Literal["spread", "conflict"] = Field(
        "spread",
        description="What the rule looks for: a narrative spreading faster than verified "
        "reporting on its question (spread), or trusted sources giving answers that "
        "disagree on one question of an incident, such as how many died or how many "
        "attackers there were (conflict). For a conflict rule, min_posts and min_authors "
        "are what each side needs from trusted accounts in the window, ratio is the number "
        "of disagreeing sides needed (severity bands count sides too), statuses and "
        "kinds are not used, and an alert resolves when a finding answers the question or "
        "a side has been silent for the window plus resolve_after_minutes.",
    )
    window_minutes: float = Field(
        15.0, gt=0, le=1440,
        description="Sliding window of event time over which rates are measured.",
    )
    ratio: float = Field(
        3.0, gt=0,
        description="Raise when the narrative's posts per minute (with its reposts and "
        "replies) reach this multiple of the verified rate: verified reporting per minute "
        "on the same question (see verified_scope).",
    )
    verified_scope: Literal["question", "incident"] = Field(
        "question",
        description="What the verified rate counts: verified reporting on the narrative's own "
        "question (who did it, how many died, how, what happened where), or on any question "
        "of the incident.",
    )
    min_posts: int = Field(5, ge=1, description="Posts (reposts count) needed in the window.")
    min_authors: int = Field(3, ge=1, description="Distinct authors needed in the window.")
    verified_floor: float = Field(
        0.2, gt=0,
        description="The verified rate never counts as lower than this (posts per minute), "
        "so silence from verified sources is not a division by zero.",
    )
    statuses: tuple[str, ...] = Field(
        ("speculative", "unconfirmed"), min_length=1,
        description="Narrative statuses the rule watches.",
    )
    kinds: tuple[str, ...] = Field(
        (), description="Claim kinds the rule watches (attribution, casualty, method, "
        "other); empty means all.",
    )
    max_verified_share: float = Field(
        0.5, ge=0, le=1,
        description="A narrative whose posts in the window are verified reporting (an official "
        "stating it unhedged, or a trusted newsroom stating it unhedged on an authority's "
        "word, or reposts of those) at this share or more is not alerted.",
    )
    stance_weight: float = Field(
        0.0, ge=0,
        description="Each reply in the window that denies or questions the narrative counts "
        "as 1 + this many posts: rising denials and questions are the rumour signature.",
    )
    min_reach: int = Field(
        0, ge=0,
        description="Spread rules: also raise, whatever min_posts, min_authors and ratio "
        "say, when the narrative's posts in the window, none of them verified reporting, "
        "reach at least this many followers (each author once, where the source reports "
        "follower counts): one hedged claim from an account followed by millions is "
        "spread. 0: off.",
    )
    severity: dict[str, float] = Field(
        default_factory=lambda: {"low": 3.0, "medium": 6.0, "high": 12.0},
        description="Severity bands: name = the ratio from which it applies; the highest "
        "band reached wins, the lowest is used below all of them.",
    )
    cooldown_minutes: float = Field(
        30.0, ge=0, description="After an alert on a narrative, stay quiet this long unless "
        "it escalates.",
    )
    escalate_factor: float = Field(
        2.0, gt=1,
        description="Escalate when the spread rate reaches this multiple of the rate at "
        "the narrative's last alert.",
    )
    resolve_after_minutes: float = Field(
        60.0, gt=0,
        description="Resolve an alert when the narrative has stayed below the rule this long.",
    )
    channels: tuple[str, ...] = Field(
        (), description="Names of the [[channels]] this rule delivers to; empty means all.",
    )

    @field_validator("statuses")
    @classmethod
    def _known_statuses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            if item not in _STATUSES:
                raise ValueError(f"{item!r} is not a status; use {', '.join(_STATUSES)}")
        return value

    @field_validator("kinds")
    @classmethod
    def _known_kinds(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            if item not in _KINDS:
                raise ValueError(f"{item!r} is not a claim kind; use {', '.join(_KINDS)}")
        return value

    @field_validator("severity")
    @classmethod
    def _bands(cls, value: dict[str, float]) -> dict[str, float]:
        if not value:
            raise ValueError("at least one severity band is needed")
        return value


# The first default is the spread rule bench/loeo.py chooses by leave-one-event-out over
# every labelled event in ../shared/data, scored with the two rules after it (every fold
# chose it; see the README's "Measuring it").
DEFAULT_RULES: tuple[RuleSettings, ...] = (
    RuleSettings(
        name="outrunning-verified", window_minutes=30.0, ratio=1.5, min_posts=3,
        min_authors=2, verified_floor=0.05, max_verified_share=0.3,
    ),
    RuleSettings(
        name="contradicted-still-spreading", statuses=("contradicted",), ratio=1.0,
        severity={"medium": 1.0, "high": 4.0},
    ),
    RuleSettings(
        name="conflicting-reports", detect="conflict", window_minutes=60.0, ratio=2.0,
        min_posts=2, min_authors=2, severity={"medium": 2.0, "high": 3.0},
        resolve_after_minutes=60.0,
    ),
)


class ChannelSettings(_Section):
    name: str = Field(min_length=1, pattern=_NAME, description="Rules name channels by this.")
    type: Literal["webhook", "slack", "teams", "discord", "email", "log"] = Field(
        description="webhook (signed JSON), slack (incoming webhook), teams (Workflows or "
        "incoming webhook, Adaptive Card), discord (webhook, embed), email (SMTP) or log."
    )
    url: str = Field("", description="webhook, slack, teams and discord: where to POST.")
    url_env: str = Field(
        "", description="webhook, slack, teams and discord: environment variable holding "
        "the URL instead (Slack, Teams and Discord webhook URLs are secrets).",
    )
    secret_env: str = Field(
        "", description="webhook: environment variable holding the HMAC-SHA256 secret.",
    )
    headers: dict[str, str] = Field(
        default_factory=dict, description="webhook: extra request headers."
    )
    timeout_seconds: float = Field(10.0, gt=0, description="Give up one attempt after this.")
    host: str = Field("localhost", description="email: SMTP server.")
    port: int = Field(
        0, ge=0, le=65535, description="email: SMTP port; 0 means 587 for starttls, 465 for "
        "implicit, 25 for none.",
    )
    tls: Literal["starttls", "implicit", "none"] = Field(
        "starttls", description="email: STARTTLS, implicit TLS, or none (local relays only).",
    )
    ca_file: str = Field("", description="email: CA bundle to verify the server with.")
    username_env: str = Field("", description="email: environment variable holding the login.")
    password_env: str = Field("", description="email: environment variable holding the password.")
    sender: str = Field("", description="email: From address.")
    recipients: tuple[str, ...] = Field((), description="email: To addresses.")
    level: Literal["info", "warning", "error"] = Field(
        "warning", description="log: level alerts are logged at."
    )


DEFAULT_CHANNELS: tuple[ChannelSettings, ...] = (ChannelSettings(name="log", type="log"),)


class OutboxSettings(_Section):
    max_attempts: int = Field(
        10, ge=1, description="A delivery is marked dead after this many failed attempts."
    )
    max_age_minutes: float = Field(
        1440.0, gt=0, description="...or when it is still undelivered this long after the alert."
    )
    backoff_seconds: float = Field(
        2.0, gt=0, description="Wait before the first retry; doubles with each failure."
    )
    max_backoff_seconds: float = Field(600.0, gt=0, description="Longest wait between retries.")
    jitter: float = Field(
        0.25, ge=0, le=1, description="Each wait is spread randomly by up to this fraction."
    )


class SourceSettings(_Section):
    name: str = Field(
        min_length=1, pattern=_NAME,
        description="Source name stored with each post; cursors are kept under it.",
    )
    type: Literal["rss", "mastodon", "x", "bluesky", "telegram", "gdelt"] = Field(
        description="rss (RSS or Atom), mastodon, x, bluesky (post search), telegram (public "
        "channels' web preview) or gdelt (the GDELT DOC 2.0 news article list)."
    )
    url: str = Field("", description="rss: the feed URL.")
    instance: str = Field("", description="mastodon: base URL of the instance.")
    tags: tuple[str, ...] = Field((), description="mastodon: hashtags to follow, without #.")
    channels: tuple[str, ...] = Field(
        (), description="telegram: public channel names, as in t.me/NAME."
    )
    query: str = Field(
        "", description="x, bluesky, gdelt: search query; empty means built from the open "
        "incidents' terms (bluesky: one search per term).",
    )
    bearer_env: str = Field(
        "CLAIMWATCH_X_BEARER_TOKEN", description="x: environment variable holding the token."
    )
    tier: Literal["", "official", "verified", "unverified"] = Field(
        "", description="Tier of every post of this source; empty lets [tiers] decide."
    )
    interval_seconds: float = Field(60.0, ge=1, description="Poll every this many seconds.")
    timeout_seconds: float = Field(30.0, gt=0, description="Give up one poll after this.")
    max_results: int = Field(
        100, ge=10, le=100, description="x, bluesky: results per request."
    )
    api_base: str = Field(
        "https://api.twitter.com",
        description="x: base URL of the X API v2 (a proxy, or a local server in tests).",
    )
    base_url: str = Field(
        "",
        description="bluesky, telegram, gdelt: base URL of the service; empty means "
        "https://public.api.bsky.app, https://t.me, https://api.gdeltproject.org/api/v2/doc/doc.",
    )
    token_env: str = Field(
        "CLAIMWATCH_BLUESKY_TOKEN",
        description="bluesky: environment variable holding an access token, sent when set "
        "(without one the public API is asked).",
    )


class ServiceSettings(_Section):
    host: str = Field("127.0.0.1", description="Address the daemon's HTTP API binds to.")
    port: int = Field(8750, ge=0, le=65535, description="Port of the HTTP API.")
    token_env: str = Field(
        "CLAIMWATCH_API_TOKEN",
        description="Environment variable holding the bearer token for POST /v1/posts "
        "(it is good for every read too).",
    )
    read_token_env: str = Field(
        "CLAIMWATCH_READ_TOKEN",
        description="Environment variable holding the bearer token for reads (GET /v1/*, "
        "/metrics); unset or empty: reads take the write token. Without either, every read "
        "answers 401 (GET /healthz stays open).",
    )
    max_body_bytes: int = Field(
        4_194_304, ge=1024, description="Larger request bodies get 413."
    )
    queue_batches: int = Field(
        64, ge=1, description="Pushed batches waiting to be processed; more get 429."
    )
    grace_seconds: float = Field(
        20.0, gt=0, description="On SIGTERM, finish and save within this many seconds."
    )
    drain_seconds: float = Field(5.0, gt=0, description="Send due deliveries this often.")
    consolidate_seconds: float = Field(
        120.0, gt=0, description="Merge and relabel narratives this often."
    )
    evaluate_seconds: float = Field(
        30.0, gt=0, description="Evaluate rules at the current time this often (to resolve "
        "alerts on narratives that went quiet).",
    )
    save_index_seconds: float = Field(300.0, gt=0, description="Save the FAISS index this often.")
    read_timeout_seconds: float = Field(
        10.0, gt=0, description="A read of the HTTP API (query, narratives, alerts ...) is "
        "stopped after this many seconds and answered 503.",
    )
    header_timeout_seconds: float = Field(
        15.0, gt=0, description="A connection that has not sent a whole request head within "
        "this many seconds (a slow client, or one idle between requests) is closed.",
    )
    body_timeout_seconds: float = Field(
        30.0, gt=0, description="A request body not received whole within this many seconds "
        "is answered 408 and its connection closed.",
    )
    client_requests: int = Field(
        8, ge=1, description="Requests one client address may have in flight at once; more "
        "get 429 with Retry-After (GET /healthz is not counted).",
    )
    follow_seconds: float = Field(
        5.0, gt=0, description="Add claims committed by other processes (claimwatch ingest "
        "into the daemon's database) to the daemon's index this often.",
    )
    lease_seconds: float = Field(
        30.0, gt=0, description="Several workers on one database: a source is polled by the "
        "worker holding its lease (renewed at each poll), taken over this many seconds after "
        "its holder stopped; a delivery claimed by a worker that died is sent by another "
        "after this long; posts left unprocessed this long are processed by any worker; a "
        "clustering lock is waited for at most this long (PostgreSQL).",
    )


class Settings(_Section):
    storage: StorageSettings = StorageSettings()
    index: IndexSettings = IndexSettings()
    embedding: EmbeddingSettings = EmbeddingSettings()
    ingest: IngestSettings = IngestSettings()
    tiers: TierSettings = TierSettings()
    linking: LinkingSettings = LinkingSettings()
    narratives: NarrativeSettings = NarrativeSettings()
    claims: ClaimSettings = ClaimSettings()
    actors: tuple[ActorSettings, ...] = Field(
        (), description="Known actors, added to the built-in ones."
    )
    incidents: tuple[IncidentSettings, ...] = Field(
        (), description="Incidents to track, synced into the database at start."
    )
    rules: tuple[RuleSettings, ...] = Field(
        DEFAULT_RULES, description="Alert rules; a [[rules]] list replaces the defaults."
    )
    channels: tuple[ChannelSettings, ...] = Field(
        DEFAULT_CHANNELS, description="Where alerts go; a [[channels]] list replaces the log."
    )
    outbox: OutboxSettings = OutboxSettings()
    sources: tuple[SourceSettings, ...] = Field(
        (), description="Live sources the daemon polls."
    )
    service: ServiceSettings = ServiceSettings()

    @model_validator(mode="after")
    def _names(self) -> Settings:
        for what, items in (("rules", self.rules), ("channels", self.channels),
                            ("sources", self.sources)):
            names = [i.name for i in items]
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"[[{what}]] names must be unique; {dupes[0]!r} repeats")
        known = {c.name for c in self.channels}
        for rule in self.rules:
            for name in rule.channels:
                if name not in known:
                    raise ValueError(
                        f"rule {rule.name!r} names channel {name!r}, which is not among "
                        f"[[channels]] ({', '.join(sorted(known)) or 'none'})"
                    )
        return self

    @property
    def db_path(self) -> Path:
        """The SQLite file (whether or not ``[storage] url`` names PostgreSQL instead)."""
        return Path(self.storage.path).expanduser()

    @property
    def database(self) -> Path | PostgresDatabase:
        """The database to open: the PostgreSQL one of ``[storage] url`` when set, else
        the SQLite file of ``[storage] path``."""
        if self.storage.url:
            return PostgresDatabase(
                self.storage.url, self.storage.password_env, self.storage.pg_schema
            )
        return self.db_path

    @property
    def database_label(self) -> str:
        """Which database, as the daemon reports it (``/healthz``) and the CLI compares it:
        the SQLite file's absolute path, or the PostgreSQL URL's host, port and database
        (no user, no password)."""
        if self.storage.url:
            parts = urlsplit(self.storage.url)
            port = f":{parts.port}" if parts.port else ""
            schema = f"?schema={self.storage.pg_schema}" if self.storage.pg_schema else ""
            return f"postgresql://{parts.hostname or 'localhost'}{port}{parts.path}{schema}"
        return str(self.db_path.resolve())

    @property
    def index_dir(self) -> Path:
        return Path(self.index.dir).expanduser()


_EXPECTED = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "string_type": "a string",
    "bool_type": "true or false",
    "float_type": "a number",
    "list_type": "a list",
    "dict_type": "a table",
    "model_type": "a table",
}


def _section_fields(model: type[BaseModel]) -> dict[str, Any]:
    return dict(model.model_fields)


def _check_unknown(data: Mapping[str, Any], origin: str) -> None:
    sections = _section_fields(Settings)
    for name, value in data.items():
        if name not in sections:
            raise ConfigError(_unknown_message(name, list(sections), origin, section=None))
        model = _table_model(sections[name].annotation)
        if model is None:
            continue
        tables = [value] if isinstance(value, Mapping) else value
        if not isinstance(tables, list | tuple):
            continue
        known = list(model.model_fields)
        for table in tables:
            if isinstance(table, Mapping):
                for key in table:
                    if key not in known:
                        raise ConfigError(_unknown_message(key, known, origin, section=name))


def _table_model(annotation: Any) -> type[BaseModel] | None:
    """The settings class of a section: ``X`` for ``[x]``, and for ``[[x]]`` tuples of X."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def _unknown_message(key: str, known: list[str], origin: str, *, section: str | None) -> str:
    where = f"[{section}] {key}" if section else f"[{key}]"
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"known: {', '.join(sorted(known))}"
    return f"unknown setting {where} in {origin}; {hint}"


def _env_overrides(environ: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """``CLAIMWATCH_SECTION__KEY=value``; the value is read as a TOML value when it is one."""
    out: dict[str, dict[str, Any]] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        section, _, key = name[len(ENV_PREFIX) :].partition("__")
        try:
            value: Any = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        out.setdefault(section.lower(), {})[key.lower()] = value
    return out


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged


def _where(loc: list[str]) -> str:
    """``[section] key``, or ``[[section]] #2 key`` for the second table of an array."""
    if len(loc) == 1:
        return f"[{loc[0]}]"
    if loc[1].isdigit():
        rest = " ".join(loc[2:])
        return f"[[{loc[0]}]] #{int(loc[1]) + 1} {rest}".rstrip()
    return f"[{loc[0]}] {'.'.join(loc[1:])}"


def _tuples(value: Any) -> Any:
    """TOML arrays become tuples: settings are frozen, and strict types want tuples."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    if isinstance(value, Mapping):
        return {k: _tuples(v) for k, v in value.items()}
    return value


def _validate(data: dict[str, Any], origin: str) -> Settings:
    try:
        return Settings.model_validate(_tuples(data))
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(part) for part in err["loc"]]
        where = _where(loc)
        if err["type"] in _EXPECTED:
            wanted = f"expected {_EXPECTED[err['type']]}"
        else:
            wanted = err["msg"].replace("Input should be", "must be").replace("Value error, ", "")
        got = err.get("input")
        if loc[:2] == ["storage", "url"]:
            got = "(not shown: it may hold a password)"
        hint = _hint_for(loc)
        raise ConfigError(
            f"bad setting {where} in {origin}: {wanted}, got {got!r}. {hint}"
        ) from None


def _hint_for(loc: list[str]) -> str:
    if len(loc) >= 2:
        section = _section_fields(Settings).get(loc[0])
        model = _table_model(section.annotation) if section else None
        key = next((part for part in loc[1:] if not part.isdigit()), None)
        field = model.model_fields.get(key) if model and key else None
        if field is not None:
            default = "" if field.is_required() else f" = {field.default!r} by default"
            about = f"; {field.description}" if field.description else ""
            return f"Hint: {key}{default}{about}".rstrip() + "."
    return "Hint: see config.example.toml for every setting and its default."


def load_settings(
    path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Defaults, then the TOML file (``path``, else ``./claimwatch.toml`` when present),
    then ``CLAIMWATCH_SECTION__KEY`` overrides from ``environ`` (default ``os.environ``)."""
    environ = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    origin = "defaults"
    if path is None and Path(DEFAULT_CONFIG_FILE).is_file():
        path = DEFAULT_CONFIG_FILE
    if path is not None:
        file = Path(path)
        origin = str(file)
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {file} does not exist") from None
        except OSError as exc:
            raise ConfigError(f"config file {file} cannot be read: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {file} is not valid TOML: {exc}") from None
        _check_unknown(data, origin)
    settings = _validate(data, origin)
    env = _env_overrides(environ)
    if env:
        _check_unknown(env, "the environment (CLAIMWATCH_SECTION__KEY)")
        settings = _validate(_merge(data, env), "the environment or " + origin)
    return settings
