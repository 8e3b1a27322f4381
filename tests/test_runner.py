"""Runner: steps chained over live rows, removed rows moved to the ledger, the ledger checked."""

from __future__ import annotations

from contextlib import contextmanager

import polars as pl
import pytest

from corpus.errors import LedgerError
from corpus.runner import BuildResult, run_steps
from corpus.schema import conform
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


def mark(reason: str, condition: pl.Expr):
    def step(rows: pl.DataFrame) -> pl.DataFrame:
        return rows.with_columns(
            removed_reason=pl.when(condition).then(pl.lit(reason)).otherwise(pl.col("removed_reason"))
        )

    return step


def test_counts_per_step_and_ledger_balance() -> None:
    seen: list[int] = []

    def count(rows: pl.DataFrame) -> pl.DataFrame:
        seen.append(rows.height)
        return rows

    steps = [
        ("spam", mark("spam", pl.col("text").str.contains("spam"))),
        ("length", mark("short", pl.col("text").str.len_chars() < 6)),
        ("count", count),
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
        (5, "spam", "spam"),
        (3, "length", "short"),
        (6, "length", "short"),
    ]
    assert all(s.seconds >= 0 for s in result.steps)
    result.check_ledger()


def test_rows_in_of_a_step_is_rows_out_of_the_previous() -> None:
    steps = [
        ("spam", mark("spam", pl.col("text").str.contains("spam"))),
        ("length", mark("short", pl.col("text").str.len_chars() < 6)),
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


def test_progress_is_called_with_each_step_name() -> None:
    names: list[str] = []

    @contextmanager
    def progress(name: str):
        names.append(name)
        yield

    run_steps(raw_rows(), [("a", lambda f: f), ("b", lambda f: f)], progress)
    assert names == ["a", "b"]


def test_silently_dropped_row_fails_the_ledger_check() -> None:
    result = run_steps(raw_rows(), [("lossy", lambda f: f.filter(pl.col("text") != "court"))])
    with pytest.raises(LedgerError) as caught:
        result.check_ledger()
    assert "does not balance" in str(caught.value)


def test_report_shows_a_silent_drop() -> None:
    result = run_steps(raw_rows(), [("lossy", lambda f: f.filter(pl.col("text") != "court"))])
    assert result.steps[0].rows_in == 6
    assert result.steps[0].rows_out == 5


def by_hand(released: pl.DataFrame, removed: pl.DataFrame, rows_read: int) -> BuildResult:
    return BuildResult(released=released, removed=removed, rows_read=rows_read)


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


def test_ledger_with_a_removed_row_without_reason_fails() -> None:
    result = by_hand(lineage([1, 2]), lineage([3, 4], ["empty", None]), 4)
    with pytest.raises(LedgerError) as caught:
        result.check_ledger()
    assert "reason" in str(caught.value)


def test_ledger_with_a_row_counted_twice_fails() -> None:
    # Row 4 is lost and row 2 appears twice: the counts balance, the lineage does not.
    result = by_hand(lineage([1, 2, 2]), lineage([3], ["empty"]), 4)
    with pytest.raises(LedgerError) as caught:
        result.check_ledger()
    assert "twice" in str(caught.value)
