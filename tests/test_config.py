"""Config loading: the shipped configs load, and every mistake is reported with its key path."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from corpus.config import load_config
from corpus.errors import ConfigError, CorpusError
from tests.helpers import CONFIGS

MINIMAL = {
    "name": "test-news",
    "version": "0.1.0",
    "sources": [{"name": "articles", "kind": "jsonl", "path": "articles.jsonl"}],
}


def write(tmp_path: Path, config: dict, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def with_section(**sections: object) -> dict:
    return {**MINIMAL, **sections}


def config_error(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return caught.value


def test_maghreb_config_loads() -> None:
    loaded = load_config(CONFIGS / "maghreb.yaml")
    assert loaded.config.name == "maghreb-news"
    assert loaded.config.release_version == "v0.1.0"
    assert [s.name for s in loaded.config.sources] == ["sample-pages", "sample-articles"]
    assert loaded.root == CONFIGS.resolve()
    # Paths inside the config are relative to the config file.
    assert loaded.resolve(loaded.config.metadata.outlets) == (CONFIGS / "outlets.yaml").resolve()


def test_real_config_loads() -> None:
    loaded = load_config(CONFIGS / "real.yaml")
    kinds = {s.name: s.kind for s in loaded.config.sources}
    assert kinds == {
        "fr-financial": "csv",
        "ar-newspapers": "text",
        "mosaiquefm": "csv",
        "hespress-posts": "json",
        "hespress-comments": "json",
    }
    comments = next(s for s in loaded.config.sources if s.name == "hespress-comments")
    assert comments.records == "comments"
    assert comments.constants == {"source": "Hespress"}


def test_misspelled_key_names_its_path(tmp_path: Path) -> None:
    error = config_error(write(tmp_path, with_section(dedup={"treshold": 0.8})))
    assert "dedup.treshold" in str(error)
    assert "unknown key" in str(error)


def test_out_of_range_fraction_names_its_path(tmp_path: Path) -> None:
    error = config_error(write(tmp_path, with_section(dedup={"threshold": 1.5})))
    assert "dedup.threshold: must be between 0 and 1" in str(error)


@pytest.mark.parametrize("value", [0.0, 0.5, 1.0])
def test_fraction_bounds_are_inclusive(tmp_path: Path, value: float) -> None:
    loaded = load_config(write(tmp_path, with_section(dedup={"threshold": value})))
    assert loaded.config.dedup.threshold == value


def test_wrong_source_kind_names_the_source(tmp_path: Path) -> None:
    sources = [*MINIMAL["sources"], {"name": "name", "kind": "xml", "path": "x.xml"}]
    error = config_error(write(tmp_path, with_section(sources=sources)))
    assert "sources['name'].kind" in str(error)
    # The first, valid source is not blamed.
    assert "sources['articles']" not in str(error)


def test_unknown_key_inside_a_source_names_the_source(tmp_path: Path) -> None:
    sources = [{"name": "articles", "kind": "jsonl", "path": "a.jsonl", "colums": {"text": "body"}}]
    error = config_error(write(tmp_path, with_section(sources=sources)))
    assert "sources['articles'].colums: unknown key" in str(error)


def test_every_problem_is_listed(tmp_path: Path) -> None:
    error = config_error(write(tmp_path, with_section(dedup={"num_perm": 8}, language={"threshold": -1})))
    assert "dedup.num_perm: must be >= 16" in str(error)
    assert "language.threshold: must be between 0 and 1" in str(error)


def test_duplicate_source_names_are_refused(tmp_path: Path) -> None:
    sources = [MINIMAL["sources"][0], MINIMAL["sources"][0]]
    error = config_error(write(tmp_path, with_section(sources=sources)))
    assert "source names must be unique" in str(error)


def test_missing_and_malformed_files_are_config_errors(tmp_path: Path) -> None:
    assert "not found" in str(config_error(tmp_path / "absent.yaml"))
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n", encoding="utf-8")
    assert "not valid YAML" in str(config_error(broken))
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("just a string\n", encoding="utf-8")
    assert "mapping" in str(config_error(scalar))


def test_config_error_is_a_usage_error() -> None:
    assert ConfigError.exit_code == 2
    assert issubclass(ConfigError, CorpusError)
    assert CorpusError.exit_code == 1


def test_sha256_is_stable_for_the_same_content(tmp_path: Path) -> None:
    first = load_config(write(tmp_path, MINIMAL, "a.yaml"))
    # Same content, different formatting, key order and comments.
    reordered = tmp_path / "b.yaml"
    reordered.write_text(
        "# a comment\nversion: '0.1.0'\nsources:\n"
        "  - {path: articles.jsonl, kind: jsonl, name: articles}\nname: test-news\n",
        encoding="utf-8",
    )
    second = load_config(reordered)
    assert len(first.sha256) == 64
    assert first.sha256 == load_config(tmp_path / "a.yaml").sha256
    assert first.sha256 == second.sha256


def test_sha256_changes_with_the_content(tmp_path: Path) -> None:
    first = load_config(write(tmp_path, MINIMAL, "a.yaml"))
    changed = load_config(write(tmp_path, with_section(dedup={"threshold": 0.9}), "b.yaml"))
    assert first.sha256 != changed.sha256


def test_unknown_time_zone_names_its_path(tmp_path: Path) -> None:
    error = config_error(write(tmp_path, with_section(metadata={"default_timezone": "Mars/Olympus"})))
    assert str(error) == (
        f"{tmp_path / 'config.yaml'}: invalid config\n"
        "  metadata.default_timezone: unknown time zone 'Mars/Olympus'; "
        "expected an IANA name such as Africa/Casablanca"
    )


@pytest.mark.parametrize("zone", ["localtime", "africa/casablanca", "../etc/passwd", ""])
def test_machine_and_malformed_zone_names_are_refused(tmp_path: Path, zone: str) -> None:
    error = config_error(write(tmp_path, with_section(metadata={"default_timezone": zone})))
    assert f"metadata.default_timezone: unknown time zone {zone!r}" in str(error)


@pytest.mark.parametrize("zone", ["Africa/Tunis", "UTC", "Etc/GMT-1"])
def test_iana_zones_load(tmp_path: Path, zone: str) -> None:
    loaded = load_config(write(tmp_path, with_section(metadata={"default_timezone": zone})))
    assert loaded.config.metadata.default_timezone == zone


def test_unknown_codec_names_the_codec_and_its_path(tmp_path: Path) -> None:
    sources = [{**MINIMAL["sources"][0], "encodings": ["cp1256", "cp-1256"]}]
    error = config_error(write(tmp_path, with_section(sources=sources)))
    assert str(error) == (
        f"{tmp_path / 'config.yaml'}: invalid config\n"
        "  sources['articles'].encodings[1]: unknown codec 'cp-1256'; "
        "expected a Python codec such as cp1256"
    )


def test_a_codec_that_is_not_a_text_encoding_is_refused(tmp_path: Path) -> None:
    sources = [{**MINIMAL["sources"][0], "encodings": ["base64"]}]
    error = config_error(write(tmp_path, with_section(sources=sources)))
    assert "sources['articles'].encodings[0]: 'base64' is not a text encoding" in str(error)


def test_codec_aliases_load(tmp_path: Path) -> None:
    sources = [{**MINIMAL["sources"][0], "encodings": ["windows-1256", "latin-1", "CP1252"]}]
    loaded = load_config(write(tmp_path, with_section(sources=sources)))
    assert loaded.config.sources[0].encodings == ["windows-1256", "latin-1", "CP1252"]
