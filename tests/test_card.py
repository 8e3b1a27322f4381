"""The dataset card: hub metadata, the sections the issue asks for, and byte-reproducible plots."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import polars as pl
import pytest
from huggingface_hub import DatasetCard

from corpus.build import BuildSummary, build
from corpus.release.plots import PLOTS, display_text, write_plots
from corpus.release.report import Report
from tests.helpers import MAGHREB, frame

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuildSummary:
    return build(MAGHREB, tmp_path_factory.mktemp("card"))


@pytest.fixture(scope="module")
def card_text(built: BuildSummary) -> str:
    return (built.path / "README.md").read_text(encoding="utf-8")


def report_of(released: pl.DataFrame) -> Report:
    """The totals a build folds from these released rows (nothing removed)."""
    report = Report()
    report.add(released.with_columns(_split=pl.lit("train")), released.clear())
    return report


def small_frame() -> pl.DataFrame:
    return frame(
        id=["a", "b", "c", "d"],
        text=["x" * 50, "y" * 500, "z" * 5000, "w" * 20],
        language=["fr", "ar", "fr", "und"],
        source=["Médias24", "هسبريس", None, "Médias24"],
        published_date=[dt.date(2024, 1, 3), dt.date(2024, 2, 3), None, dt.date(2024, 1, 9)],
    )


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, payload) of every chunk of a PNG file."""
    assert data.startswith(PNG_SIGNATURE)
    chunks, at = [], len(PNG_SIGNATURE)
    while at < len(data):
        length = int.from_bytes(data[at : at + 4], "big")
        chunks.append((data[at + 4 : at + 8], data[at + 8 : at + 8 + length]))
        at += 12 + length
    return chunks


def test_two_renders_of_the_plots_are_identical(tmp_path: Path) -> None:
    first = write_plots(report_of(small_frame()), tmp_path / "one")
    second = write_plots(report_of(small_frame()), tmp_path / "two")
    assert first == second == PLOTS
    for name in PLOTS.values():
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name


def test_plots_carry_no_software_or_time_metadata(tmp_path: Path) -> None:
    write_plots(report_of(small_frame()), tmp_path)
    for name in PLOTS.values():
        kinds = {kind for kind, _ in png_chunks((tmp_path / name).read_bytes())}
        assert kinds.isdisjoint({b"tIME", b"tEXt", b"iTXt", b"zTXt"}), (name, kinds)


def test_different_data_gives_a_different_plot(tmp_path: Path) -> None:
    write_plots(report_of(small_frame()), tmp_path / "one")
    write_plots(report_of(small_frame().head(3)), tmp_path / "two")
    for name in PLOTS.values():
        assert (tmp_path / "one" / name).read_bytes() != (tmp_path / "two" / name).read_bytes(), name


def test_arabic_labels_are_shaped_for_drawing() -> None:
    assert display_text("Médias24") == "Médias24"
    shaped = display_text("هسبريس")
    assert shaped != "هسبريس"
    # Presentation forms (joined letters), drawn right to left: the final form of س comes first.
    assert all("\ufe70" <= ch <= "\ufeff" for ch in shaped)
    assert shaped[0] == "\ufeb2"


def test_release_holds_the_plots_the_card_shows(built: BuildSummary, card_text: str) -> None:
    shown = re.findall(r"!\[[^\]]+\]\(([^)]+)\)", card_text)
    assert sorted(shown) == sorted(PLOTS.values())
    for name in shown:
        assert (built.path / name).read_bytes().startswith(PNG_SIGNATURE)


def test_card_has_every_section(card_text: str) -> None:
    for heading in (
        "## How to load",
        "## Languages",
        "## Plots",
        "## Sources",
        "## Processing",
        "### Deduplication parameters",
        "## Known limitations",
        "## Changelog",
    ):
        assert f"\n{heading}\n" in card_text, heading
    assert 'revision="v0.1.0"' in card_text
    assert "streaming=True" in card_text
    assert "| threshold (Jaccard) | 0.8 |" in card_text
    assert "<!-- changelog:start -->" in card_text


def test_card_counts_agree_with_the_release(built: BuildSummary, card_text: str) -> None:
    released = pl.concat([pl.read_parquet(p) for p in sorted(built.path.glob("data/*/*.parquet"))])
    for language, rows in released.group_by("language"):
        words = sum(len(t.split()) for t in rows["text"].to_list())
        assert f"| `{language[0]}` | {rows.height} | {words} |" in card_text
    outlets = released.group_by("source").len().sort("len", descending=True)
    top = outlets.row(0, named=True)
    assert re.search(rf"\| {re.escape(top['source'])} \| \w* \| {top['len']} \|", card_text)
    dates = released["published_date"].drop_nulls()
    assert f"range from {dates.min()} to {dates.max()}" in card_text
    removed = pl.read_parquet(built.path / "removed" / "removed-00000-of-00001.parquet")
    for reason, rows in removed.group_by("removed_reason"):
        assert f"| {reason[0]} | {rows.height} |" in card_text


def test_card_metadata_parses(built: BuildSummary) -> None:
    data = DatasetCard.load(built.path / "README.md").data.to_dict()
    assert data["size_categories"] == ["n<1K"]
    assert data["task_categories"] == ["text-generation"]
    names = [c["config_name"] for c in data["configs"]]
    assert names[0] == "all"
    assert [i["config_name"] for i in data["dataset_info"]] == names


def test_furniture_and_repairs_count_documents(built: BuildSummary, card_text: str) -> None:
    rows = pl.concat(
        [
            pl.read_parquet(p, columns=["repairs", "furniture"])
            for p in sorted(built.path.glob("*/*/*.parquet")) + sorted(built.path.glob("removed/*.parquet"))
        ]
    )
    for column in ("furniture", "repairs"):
        lists = [v or [] for v in rows[column].to_list()]
        names = set().union(*lists)
        assert names, column  # the sample exercises both
        for name in names:
            documents = sum(name in v for v in lists)
            pieces = sum(v.count(name) for v in lists)
            # Repairs: documents; furniture: pieces cut and documents they were cut from.
            expected = (
                f"| {name} | {documents} |" if column == "repairs" else f"| {name} | {pieces} | {documents} |"
            )
            assert expected in card_text, (column, name)


def test_unknown_outlets_and_undated_documents_are_reported(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from corpus.cli import app

    configs = MAGHREB.parent
    records = [
        {
            "url": "https://radio-atlas.example/a",
            "text": "Une première dépêche sur la pêche à Tétouan. " * 5,
            "source": "Radio Atlas Tétouan",
            "date": "demain matin",
        },
        {
            "url": "https://radio-atlas.example/b",
            "text": "Une autre dépêche sur le port de Tanger Med. " * 5,
            "source": "Radio Atlas Tétouan",
            "date": "2024-03-05",
        },
    ]
    (tmp_path / "news.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
    )
    (tmp_path / "config.yaml").write_text(
        "name: atlas\nversion: 0.1.0\n"
        "sources:\n  - {name: atlas, kind: jsonl, path: news.jsonl, columns: {published: date}}\n"
        f"boilerplate: {{patterns: {configs / 'boilerplate.yaml'}}}\n"
        f"metadata: {{outlets: {configs / 'outlets.yaml'}}}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["build", str(tmp_path / "config.yaml"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "outlets not in the registry: Radio Atlas Tétouan 2" in result.output
    assert "undated documents: unparsed 1" in result.output
    card = (tmp_path / "out" / "atlas" / "v0.1.0" / "README.md").read_text(encoding="utf-8")
    assert "| Radio Atlas Tétouan | 2 |" in card
    assert "| unparsed | 1 |" in card
