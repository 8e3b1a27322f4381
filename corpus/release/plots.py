"""The card's plots, as PNG files in the release: documents per month by language, documents
per outlet, and the distribution of text lengths.

Rendered with matplotlib's Agg canvas (no display, no global pyplot state) under the default
style, with the PNG `Software` tag removed, so the same frame gives the same bytes. Arabic
outlet names are shaped and reordered (arabic-reshaper, python-bidi) since Agg lays text out
left to right, letter by letter.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import polars as pl

from corpus.errors import ReleaseError

PLOTS = {
    "documents_per_month": "plots/documents_per_month.png",
    "documents_per_outlet": "plots/documents_per_outlet.png",
    "text_length": "plots/text_length.png",
}
# Outlets drawn in the outlet plot; the rest are summed into one bar so the plot stays legible.
TOP_OUTLETS = 20
DPI = 100


def _use_agg() -> None:
    try:
        import matplotlib
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise ReleaseError("plots need matplotlib: pip install matplotlib") from exc
    matplotlib.use("Agg", force=False)


def display_text(label: str) -> str:
    """A label as Agg should draw it: Arabic letters joined and right-to-left runs reordered."""
    if not any("\u0600" <= ch <= "\u06ff" for ch in label):
        return label
    import arabic_reshaper
    from bidi import get_display

    return str(get_display(arabic_reshaper.reshape(label)))


def write_plots(released: pl.DataFrame, folder: Path) -> dict[str, str]:
    """Write the three plots under `folder/plots/`; returns their relative paths by name."""
    _use_agg()
    import matplotlib.style
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    (folder / "plots").mkdir(parents=True, exist_ok=True)
    drawers = {
        "documents_per_month": _per_month,
        "documents_per_outlet": _per_outlet,
        "text_length": _text_length,
    }
    with matplotlib.style.context("default"):
        for name, draw in drawers.items():
            figure = Figure(figsize=(8, 4.5), dpi=DPI, layout="constrained")
            FigureCanvasAgg(figure)
            draw(figure.add_subplot(), released)
            figure.savefig(folder / PLOTS[name], format="png", dpi=DPI, metadata={"Software": None})
    return dict(PLOTS)


def _per_month(axes: Any, released: pl.DataFrame) -> None:
    dated = released.drop_nulls("published_date").with_columns(
        month=pl.col("published_date").dt.truncate("1mo")
    )
    counts = dated.group_by("month", "language").len()
    if dated.height:
        # Every month of the range, so a gap reads as zero documents, not as a straight line.
        months = dated.select(
            pl.date_range(pl.col("month").min(), pl.col("month").max(), "1mo").alias("month")
        )
        grid = months.join(dated.select("language").unique(), how="cross")
        counts = grid.join(counts, on=["month", "language"], how="left").fill_null(0)
    counts = counts.sort("month", "language")
    for language in sorted(counts["language"].unique().to_list()):
        rows = counts.filter(pl.col("language") == language)
        axes.plot(rows["month"].to_list(), rows["len"].to_list(), drawstyle="steps-mid", label=language)
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.set_title("Documents per month of publication, by language")
    axes.set_ylabel("documents")
    if dated.height:
        axes.legend(title="language", ncols=2, fontsize="small")
    undated = released["published_date"].null_count()
    axes.set_xlabel(f"month ({undated} documents without a date are not shown)")


def _per_outlet(axes: Any, released: pl.DataFrame) -> None:
    counts = (
        released.with_columns(pl.col("source").fill_null("(unknown)"))
        .group_by("source")
        .len()
        .sort(["len", "source"], descending=[True, False])
    )
    shown = counts.head(TOP_OUTLETS)
    labels = [display_text(s) for s in shown["source"].to_list()]
    values = shown["len"].to_list()
    if counts.height > TOP_OUTLETS:
        labels.append(f"{counts.height - TOP_OUTLETS} other outlets")
        values.append(int(counts["len"].slice(TOP_OUTLETS).sum()))
    axes.barh(range(len(values)), values, color="tab:blue")
    axes.set_yticks(range(len(values)), labels, fontsize="small")
    axes.invert_yaxis()
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.set_xlabel("documents")
    axes.set_title("Documents per outlet")


def _text_length(axes: Any, released: pl.DataFrame) -> None:
    lengths = released.select(pl.col("text").str.len_chars().alias("chars"), "language")
    longest = max(int(lengths["chars"].fill_null(0).max() or 1), 10)  # type: ignore[arg-type]
    bins = [10 ** (i / 10) for i in range(0, int(10 * math.log10(longest)) + 2)]
    for language in sorted(lengths["language"].unique().to_list()):
        values = lengths.filter(pl.col("language") == language)["chars"].to_list()
        axes.hist(values, bins=bins, histtype="step", label=language)
    axes.set_xscale("log")
    axes.set_xlabel("text length (characters, log scale)")
    axes.set_ylabel("documents")
    axes.set_title("Text length by language")
    if lengths.height:
        axes.legend(title="language", ncols=2, fontsize="small")
