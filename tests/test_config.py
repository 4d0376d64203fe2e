"""Settings: documented, layered, and refused clearly when wrong."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from conftest import ROOT, run_cli

from tracker.claims.lexicon import DEFAULT_ACTORS, Actor, actors_from
from tracker.config.settings import (
    DEFAULT_CHANNELS,
    DEFAULT_RULES,
    ChannelSettings,
    IncidentSettings,
    RuleSettings,
    Settings,
    SourceSettings,
    _tuples,
    load_settings,
)
from tracker.errors import ConfigError


def test_example_config_documents_every_setting_with_its_default() -> None:
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    example = tomllib.loads(text)
    defaults = Settings().model_dump()
    # [[actors]] in the example spell out the built-in actors; [[incidents]] is commented.
    assert [Actor.from_mapping(a) for a in example.pop("actors")] == list(DEFAULT_ACTORS)
    assert actors_from(load_settings(ROOT / "config.example.toml", environ={})) == DEFAULT_ACTORS
    assert defaults.pop("actors") == () and defaults.pop("incidents") == ()
    assert defaults.pop("sources") == ()
    # [[rules]] and [[channels]] in the example are the defaults, spelled out.
    assert tuple(RuleSettings.model_validate(r) for r in _tuples(example.pop("rules"))) == (
        DEFAULT_RULES
    )
    assert tuple(
        ChannelSettings.model_validate(c) for c in _tuples(example.pop("channels"))
    ) == DEFAULT_CHANNELS
    defaults.pop("rules")
    defaults.pop("channels")
    assert "# [[incidents]]" in text and "# [[sources]]" in text
    for what, model in (("incidents", IncidentSettings), ("sources", SourceSettings),
                        ("channels", ChannelSettings), ("rules", RuleSettings)):
        for key in model.model_fields:
            assert f"# {key} = " in text or f"\n{key} = " in text, f"[[{what}]] {key} is not shown"
    assert set(example) == set(defaults), "sections differ from the settings"
    for section, values in defaults.items():
        assert set(example[section]) == set(values), f"[{section}] keys differ"
        for key, value in values.items():
            given = example[section][key]
            assert (tuple(given) if isinstance(given, list) else given) == value, (
                f"[{section}] {key} default differs"
            )
    for section, values in defaults.items():
        for key in values:
            line_before = text.split(f"\n{key} = ", 1)[0].rstrip().splitlines()[-1]
            assert line_before.startswith("#"), f"[{section}] {key} has no comment"


def test_file_then_environment_override_defaults(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[storage]\npath = "from-file.db"\n[embedding]\nbatch_size = 16\n')
    settings = load_settings(path, environ={"CLAIMWATCH_EMBEDDING__BATCH_SIZE": "64"})
    assert settings.storage.path == "from-file.db"
    assert settings.embedding.batch_size == 64
    assert settings.index.dir == "indexes"


def test_claimwatch_toml_in_the_working_folder_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "claimwatch.toml").write_text('[index]\ndir = "elsewhere"\n')
    monkeypatch.chdir(tmp_path)
    assert load_settings(environ={}).index.dir == "elsewhere"


@pytest.mark.parametrize(
    ("content", "environ", "expected"),
    [
        ('[storage]\npth = "x.db"\n', {}, ["[storage] pth", "did you mean 'path'"]),
        ("[stroage]\n", {}, ["[stroage]", "did you mean 'storage'"]),
        ('[embedding]\nbatch_size = "big"\n', {}, ["[embedding] batch_size", "an integer", "'big'"]),
        ("[embedding]\nbatch_size = 0\n", {}, ["[embedding] batch_size", "32 by default"]),
        ("", {"CLAIMWATCH_INGEST__MIN_CLAIM_WORDS": "many"}, ["[ingest] min_claim_words", "'many'"]),
        ("", {"CLAIMWATCH_INGEST__COLOUR": "red"}, ["[ingest] colour", "environment"]),
        ("[storage\n", {}, ["not valid TOML"]),
    ],
)
def test_bad_settings_name_the_key_and_a_hint(
    tmp_path: Path, content: str, environ: dict[str, str], expected: list[str]
) -> None:
    path = tmp_path / "c.toml"
    path.write_text(content)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ=environ)
    for fragment in expected:
        assert fragment in str(caught.value)


def test_cli_exits_2_on_a_bad_setting(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[index]\ndri = 'x'\n")
    assert run_cli(["query", "anything", "--config", str(path)]) == 2
    assert "[index] dri" in capsys.readouterr().err


def test_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", environ={})


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("[claims.lexicon]\nhedgez = ['x']\n", "claims.lexicon: unknown key 'hedgez'; did you mean"),
        ("[claims.lexicon]\nhedges = ['(unclosed']\n", "claims.lexicon.hedges: '(unclosed' is not"),
    ],
)
def test_cli_exits_2_on_a_bad_word_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: str, expected: str
) -> None:
    path = tmp_path / "c.toml"
    path.write_text(f'[storage]\npath = "{tmp_path / "c.db"}"\n' + extra)
    assert run_cli(["query", "anything", "--config", str(path)]) == 2
    assert expected in capsys.readouterr().err
    assert not (tmp_path / "c.db").exists()  # refused before anything was opened
