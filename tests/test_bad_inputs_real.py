"""The messy Moroccan dumps in ar-ma-news-corpus: bad input gets a message naming the file and
line, or (with `on_bad_record: skip`) lands in removed/ with a reason; nothing is lost."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from corpus.build import build
from corpus.cli import app
from corpus.errors import SourceError

pytestmark = pytest.mark.realdata
CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def write(folder: Path, source: str) -> Path:
    config = folder / "config.yaml"
    config.write_text(
        f"name: dumps\nversion: 0.1.0\nsources:\n{source}"
        f"boilerplate: {{patterns: {CONFIGS / 'boilerplate.yaml'}}}\n"
        f"metadata: {{outlets: {CONFIGS / 'outlets.yaml'}}}\n",
        encoding="utf-8",
    )
    return config


def test_concatenated_json_arrays_name_the_file_and_line(shared_data: Path, tmp_path: Path) -> None:
    dump = shared_data / "ar-ma-news-corpus" / "yab.json"
    config = write(tmp_path, f"  - {{name: yab, kind: json, path: {dump}, columns: {{text: content}}}}\n")
    with pytest.raises(SourceError) as caught:
        build(config, tmp_path / "out")
    # Two JSON arrays back to back: the second starts on line 32.
    assert "yab.json:32: not valid JSON" in str(caught.value)
    result = CliRunner().invoke(app, ["build", str(config), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "yab.json:32: not valid JSON" in result.output
    assert "Traceback" not in result.output


def test_skipped_lines_are_accounted_for(shared_data: Path, tmp_path: Path) -> None:
    dump = shared_data / "ar-ma-news-corpus" / "yab.json"
    lines = dump.read_text(encoding="utf-8").split("\n")
    config = write(
        tmp_path,
        f"  - {{name: yab, kind: jsonl, path: {dump}, columns: {{text: content}}, on_bad_record: skip}}\n",
    )
    summary = build(config, tmp_path / "out")
    result = summary
    assert result.rows_read == sum(1 for line in lines if line.strip())
    bad = result.removed().filter(pl.col("removed_reason") == "bad_record")
    # "[", "][", "]" and every object line followed by a comma are not JSON objects on their own.
    assert bad.height == sum(1 for line in lines if line.strip() and not line.rstrip().endswith("}"))
    assert set(bad["source_line"].to_list()) >= {1, 32, 200}


def test_an_unsupported_kind_names_the_key(shared_data: Path, tmp_path: Path) -> None:
    dump = shared_data / "ar-ma-news-corpus" / "nn.xml"
    config = write(tmp_path, f"  - {{name: nn, kind: xml, path: {dump}}}\n")
    result = CliRunner().invoke(app, ["build", str(config), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "sources['nn'].kind" in result.output
