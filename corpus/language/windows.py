"""Length-balanced training windows: every label is cut into the same mix of lengths.

The labelled sources are confounded with length (median 114 characters for the Darija sentences,
28 for the MSA ones, thousands for news articles): trained on them as they are, a model learns "long
means Darija". Each source's text of one fold is laid end to end and cut into windows whose
lengths cycle through `LENGTHS` (snapped to a word end), from a short post to a paragraph unit;
the sources of a label take turns until the label has as many characters as its positive side.
"""

from __future__ import annotations

import polars as pl

# Window lengths in characters, cycled: short posts (20) to a whole paragraph unit (500, the
# default `language.unit_chars`), spaced evenly on a log scale so each length band weighs the same.
LENGTHS = (20, 32, 50, 80, 125, 200, 320, 500)
SNAP = 15  # a window ends at the first space within this many characters past its length


def cut(stream: str, phase: int) -> list[str]:
    """Consecutive windows of a stream, lengths cycling through LENGTHS from position `phase`."""
    windows, start, turn = [], 0, phase
    while start < len(stream):
        end = start + LENGTHS[turn % len(LENGTHS)]
        space = stream.find(" ", end, end + SNAP)
        end = space if space >= 0 else end
        window = stream[start:end].strip()
        if window:
            windows.append(window)
        start, turn = end + 1 if space >= 0 else end, turn + 1
    return windows


def source_windows(items: pl.DataFrame, phase: int) -> dict[tuple[str, int], list[str]]:
    """Windows of each (source, fold) stream: the items' texts in order, lines joined by spaces."""
    streams: dict[tuple[str, int], list[str]] = {}
    for source, fold, text in items.select("source", "fold", "text").iter_rows():
        streams.setdefault((source, fold), []).append(" ".join(text.split()))
    return {key: cut(" ".join(texts), phase) for key, texts in streams.items()}


def take_turns(per_source: list[tuple[str, list[str]]], budget: int) -> list[tuple[str, str]]:
    """(source, window) pairs, one window of each source in turn, until `budget` characters."""
    taken: list[tuple[str, str]] = []
    chars, turn = 0, 0
    while chars < budget and any(turn < len(windows) for _, windows in per_source):
        for source, windows in per_source:
            if turn < len(windows) and chars < budget:
                taken.append((source, windows[turn]))
                chars += len(windows[turn])
        turn += 1
    return taken


def balanced(items: pl.DataFrame, positive: str, passes: int) -> pl.DataFrame:
    """`text`, `positive` (bool), `fold`, `source` windows: the positive label's windows of `passes`
    phases, and as many characters of windows of the other labels, per fold."""
    rows = []
    for fold in sorted(items["fold"].unique()):
        part = items.filter(pl.col("fold") == fold)
        mine = part.filter(pl.col("label") == positive)
        others = part.filter(pl.col("label") != positive)
        budget = 0
        for phase in range(passes):
            for (source, _), windows in sorted(source_windows(mine, phase).items()):
                rows += [(w, True, fold, source) for w in windows]
                budget += sum(map(len, windows))
        theirs = [(source, w) for (source, _), w in sorted(source_windows(others, 0).items())]
        rows += [(w, False, fold, source) for source, w in take_turns(theirs, budget)]
    frame = pl.DataFrame(rows, schema=["text", "positive", "fold", "source"], orient="row")
    return frame.with_columns(pl.col("fold").cast(pl.Int8))
