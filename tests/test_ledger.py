"""The ledger of a batch of steps: maps see live rows only, removals are counted per step and
named by step, a step that drops a row is caught, and the ledger is checked."""

from __future__ import annotations

import polars as pl
import pytest

from corpus.engine.memory import MemoryResult, run_steps
from corpus.errors import LedgerError
from corpus.schema import conform
from corpus.step import Map
from tests.helpers import frame

TEXTS = ["un article", "spam spam", "court", "un autre article", "encore du spam", "ok"]


def raw_rows() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "text": TEXTS,
            "source_name": ["s"] * len(TEXTS),
            "source_file": ["a.jsonl"] * len(TEXTS),
            "source_line": list(range(1, len(TEXTS) + 1)),
        }
    )


def mark(name: str, reason: str, condition: pl.Expr) -> Map:
    def step(rows: pl.DataFrame) -> pl.DataFrame:
        return rows.with_columns(
            removed_reason=pl.when(condition).then(pl.lit(reason)).otherwise(pl.col("removed_reason"))
        )

    return Map(name, step)


def test_counts_per_step_and_ledger_balance() -> None:
    seen: list[int] = []

    def count(rows: pl.DataFrame) -> pl.DataFrame:
        seen.append(rows.height)
        return rows

    steps = [
        mark("spam", "spam", pl.col("text").str.contains("spam")),
        mark("length", "short", pl.col("text").str.len_chars() < 6),
        Map("count", count),
    ]
    result = run_steps(raw_rows(), steps)
    assert [(s.name, s.rows_in, s.rows_out, s.removed) for s in result.steps] == [
        ("spam", 6, 4, {"spam": 2}),
        ("length", 4, 2, {"short": 2}),
        ("count", 2, 2, {}),
    ]
    assert seen == [2]  # later steps see only live rows
    assert result.rows_read == 6
    assert result.released.height + result.removed.height == result.rows_read
    assert result.released["text"].to_list() == ["un article", "un autre article"]
    assert result.removed.select("source_line", "removed_step", "removed_reason").rows() == [
        (2, "spam", "spam"),
        (3, "length", "short"),
        (5, "spam", "spam"),
        (6, "length", "short"),
    ]
    assert all(s.seconds >= 0 for s in result.steps)
    result.check_ledger()


def test_rows_in_of_a_step_is_rows_out_of_the_previous() -> None:
    steps = [
        mark("spam", "spam", pl.col("text").str.contains("spam")),
        mark("length", "short", pl.col("text").str.len_chars() < 6),
    ]
    result = run_steps(raw_rows(), steps)
    for before, after in zip(result.steps, result.steps[1:], strict=False):
        assert after.rows_in == before.rows_out


def test_released_rows_have_the_canonical_columns() -> None:
    result = run_steps(raw_rows(), [])
    assert result.released.height == 6
    assert result.removed.height == 0
    assert set(conform(pl.DataFrame({"text": ["x"]})).columns) <= set(result.released.columns)
    result.check_ledger()


def test_a_step_that_drops_a_row_is_caught() -> None:
    with pytest.raises(LedgerError) as caught:
        run_steps(raw_rows(), [Map("lossy", lambda f: f.filter(pl.col("text") != "court"))])
    assert "lossy returned 5 rows for 6" in str(caught.value)


def test_a_map_sees_live_rows_in_order_and_its_output_goes_back_in_place() -> None:
    def shout(rows: pl.DataFrame) -> pl.DataFrame:
        return rows.with_columns(pl.col("text").str.to_uppercase())

    steps = [mark("spam", "spam", pl.col("text").str.contains("spam")), Map("shout", shout)]
    rows = run_steps(raw_rows(), steps).rows
    assert rows["text"].to_list() == [
        "UN ARTICLE",
        "spam spam",
        "COURT",
        "UN AUTRE ARTICLE",
        "encore du spam",
        "OK",
    ]


def by_hand(released: pl.DataFrame, removed: pl.DataFrame, rows_read: int) -> MemoryResult:
    return MemoryResult(pl.concat([released, removed]), [], rows_read)


def lineage(lines: list[int], reasons: list[str | None] | None = None) -> pl.DataFrame:
    columns: dict = {
        "text": [f"t{n}" for n in lines],
        "source_name": ["s"] * len(lines),
        "source_file": ["a.jsonl"] * len(lines),
        "source_line": lines,
    }
    if reasons is not None:
        columns["removed_reason"] = reasons
    return frame(**columns)


def test_balanced_ledger_built_by_hand_passes() -> None:
    by_hand(lineage([1, 2, 4]), lineage([3], ["empty"]), 4).check_ledger()


def test_ledger_missing_a_row_fails() -> None:
    result = by_hand(lineage([1, 2]), lineage([3], ["empty"]), 4)
    with pytest.raises(LedgerError) as caught:
        result.check_ledger()
    assert "4 read" in str(caught.value)


def test_ledger_with_a_row_counted_twice_fails() -> None:
    # Row 4 is lost and row 2 appears twice: the counts balance, the lineage does not.
    result = by_hand(lineage([1, 2, 2]), lineage([3], ["empty"]), 4)
    with pytest.raises(LedgerError) as caught:
        result.check_ledger()
    assert "twice" in str(caught.value)
