"""Settings: defaults, then a TOML file, then ``CLAIMWATCH_SECTION__KEY`` environment variables.

Every setting is declared once below, with its default and its help text (the field
description); ``config.example.toml`` lists them all and a test keeps the two in step.
Unknown keys, wrong types and bad values raise :class:`ConfigError` naming the key, what
was expected and a hint.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tracker.errors import ConfigError

__all__ = [
    "DEFAULT_CONFIG_FILE",
    "ENV_PREFIX",
    "EmbeddingSettings",
    "IndexSettings",
    "IngestSettings",
    "Settings",
    "StorageSettings",
    "load_settings",
]

DEFAULT_CONFIG_FILE = "claimwatch.toml"
ENV_PREFIX = "CLAIMWATCH_"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class StorageSettings(_Section):
    path: str = Field(
        "claimwatch.db",
        description="SQLite database file, the source of truth (WAL mode).",
    )


class IndexSettings(_Section):
    dir: str = Field(
        "indexes",
        description="Folder holding the FAISS index files "
        "(derived data, rebuilt from the database).",
    )


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
    batch_size: int = Field(32, ge=1, le=4096, description="Sentences per encode batch.")
    threads: int = Field(
        0, ge=0, le=256, description="Torch threads for encoding; 0 means one per core."
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


class Settings(_Section):
    storage: StorageSettings = StorageSettings()
    index: IndexSettings = IndexSettings()
    embedding: EmbeddingSettings = EmbeddingSettings()
    ingest: IngestSettings = IngestSettings()

    @property
    def db_path(self) -> Path:
        return Path(self.storage.path).expanduser()

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
        annotation = sections[name].annotation
        if isinstance(value, Mapping) and isinstance(annotation, type) and issubclass(
            annotation, BaseModel
        ):
            known = list(annotation.model_fields)
            for key in value:
                if key not in known:
                    raise ConfigError(_unknown_message(key, known, origin, section=name))


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


def _validate(data: dict[str, Any], origin: str) -> Settings:
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(part) for part in err["loc"]]
        where = f"[{loc[0]}] {'.'.join(loc[1:])}" if len(loc) > 1 else f"[{loc[0]}]"
        expected = _EXPECTED.get(err["type"], err["msg"].lower())
        got = err.get("input")
        hint = _hint_for(loc)
        raise ConfigError(
            f"bad setting {where} in {origin}: expected {expected}, got {got!r}. {hint}"
        ) from None


def _hint_for(loc: list[str]) -> str:
    if len(loc) >= 2:
        section = _section_fields(Settings).get(loc[0])
        annotation = section.annotation if section else None
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(loc[1])
            if field is not None:
                return f"Hint: {loc[1]} = {field.default!r} by default; {field.description}"
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
