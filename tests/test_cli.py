"""Command line: exit codes, error messages on stderr, quiet output, help with examples."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import corpus.release.verify
from corpus.cli import app
from corpus.errors import ReleaseError
from tests.helpers import MAGHREB


def make_runner() -> CliRunner:
    """stdout and stderr kept apart: `mix_stderr=False` on click < 8.2, the default afterwards."""
    try:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        return CliRunner()


@pytest.fixture(scope="module")
def quiet_build(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("cli-out")
    result = make_runner().invoke(app, ["build", str(MAGHREB), "--out", str(out), "--quiet"])
    return out, result


def bad_config(tmp_path: Path) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "name: test\nversion: 0.1.0\nsources:\n  - {name: a, kind: jsonl, path: a.jsonl}\n"
        "dedup: {treshold: 0.8}\n",
        encoding="utf-8",
    )
    return path


def test_bad_key_exits_2_with_the_key_path_on_stderr(tmp_path: Path) -> None:
    result = make_runner().invoke(app, ["build", str(bad_config(tmp_path)), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "dedup.treshold" in result.stderr
    assert "unknown key" in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""
    assert not (tmp_path / "out").exists()


def test_wrong_kind_names_the_source_on_stderr(tmp_path: Path) -> None:
    path = tmp_path / "kind.yaml"
    path.write_text(
        "name: test\nversion: 0.1.0\nsources:\n  - {name: name, kind: xml, path: a.xml}\n", encoding="utf-8"
    )
    result = make_runner().invoke(app, ["build", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "sources['name'].kind" in result.stderr


def test_error_message_is_printed_verbatim(tmp_path: Path) -> None:
    folder = tmp_path / "[draft]"
    folder.mkdir()
    path = bad_config(folder)
    result = make_runner().invoke(app, ["build", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert str(path) in result.stderr


def test_missing_config_exits_2(tmp_path: Path) -> None:
    result = make_runner().invoke(app, ["build", str(tmp_path / "absent.yaml"), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "absent.yaml" in result.stderr


def test_data_problem_exits_1(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text('{"text": "ok"}\n{broken\n', encoding="utf-8")
    config = tmp_path / "c.yaml"
    config.write_text(
        "name: test\nversion: 0.1.0\nsources:\n  - {name: a, kind: jsonl, path: a.jsonl}\n"
        f"boilerplate: {{patterns: {MAGHREB.parent / 'boilerplate.yaml'}}}\n"
        f"metadata: {{outlets: {MAGHREB.parent / 'outlets.yaml'}}}\n",
        encoding="utf-8",
    )
    result = make_runner().invoke(app, ["build", str(config), "--out", str(tmp_path / "out"), "-q"])
    assert result.exit_code == 1
    assert "a.jsonl:2" in result.stderr


def test_quiet_build_prints_exactly_the_release_path(quiet_build) -> None:
    out, result = quiet_build
    assert result.exit_code == 0, result.output
    release = out / "maghreb-news" / "v0.1.0"
    assert result.stdout == f"{release}\n"
    assert (release / "manifest.json").is_file()


def test_verbose_rebuild_reports_unchanged(quiet_build) -> None:
    out, first = quiet_build
    assert first.exit_code == 0
    result = make_runner().invoke(app, ["build", str(MAGHREB), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "unchanged" in result.stdout
    assert "near_dedup" in result.stdout  # the step table
    stages = result.stdout[result.stdout.index("stages (wall time)") :]
    for stage in ("prepare", "pass 1", "recurring", "pass 2", "near_dedup", "release"):
        assert f"│ {stage} " in stages


def test_every_command_has_help_with_an_example() -> None:
    group = typer.main.get_command(app)
    commands = sorted(group.commands)  # type: ignore[attr-defined]
    assert "build" in commands
    for name in commands:
        result = make_runner().invoke(app, [name, "--help"])
        assert result.exit_code == 0, name
        assert "Example" in result.stdout, name


def test_no_arguments_shows_help() -> None:
    result = make_runner().invoke(app, [])
    assert "build" in result.output
    assert "Usage" in result.output


def test_unknown_time_zone_is_a_config_error_before_any_work(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text('{"text": "ok", "date": "2024-03-14 10:15"}\n', encoding="utf-8")
    path = tmp_path / "zone.yaml"
    path.write_text(
        "name: test\nversion: 0.1.0\n"
        "sources:\n  - {name: a, kind: jsonl, path: a.jsonl, columns: {text: text, published: date}}\n"
        f"boilerplate: {{patterns: {MAGHREB.parent / 'boilerplate.yaml'}}}\n"
        f"metadata: {{outlets: {MAGHREB.parent / 'outlets.yaml'}, default_timezone: Mars/Olympus}}\n",
        encoding="utf-8",
    )
    result = make_runner().invoke(app, ["build", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {path}: invalid config\n"
        "  metadata.default_timezone: unknown time zone 'Mars/Olympus'; "
        "expected an IANA name such as Africa/Casablanca\n"
    )
    assert not (tmp_path / "out").exists()


def test_no_error_message_shows_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def leaky(release: Path) -> None:
        raise ReleaseError("refused; request headers: {'authorization': 'Bearer hf_secretTOKEN0123456789'}")

    monkeypatch.setattr(corpus.release.verify, "verify_release", leaky)
    result = make_runner().invoke(app, ["verify", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr == "error: refused; request headers: {'authorization': '[redacted]'}\n"


def test_the_command_line_module_imports_no_library() -> None:
    """A build's worker processes re-import the main script: it must not pull in the library."""
    import subprocess
    import sys

    heavy = "('datasets', 'pandas', 'corpus.build')"
    check = f"import sys, corpus.cli; print(sorted(m for m in {heavy} if m in sys.modules))"
    found = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]"
