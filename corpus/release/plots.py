"""The card's plots, as PNG files in the release: documents per month by language, documents
per outlet, and the distribution of text lengths.

Rendered with matplotlib's Agg canvas (no display, no global pyplot state) under the default
style, with the PNG `Software` tag removed, so the same frame gives the same bytes. Arabic
outlet names are shaped and reordered (arabic-reshaper, python-bidi) since Agg lays text out
left to right, letter by letter.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import polars as pl

from corpus.errors import ReleaseError
from corpus.release.report import Report

PLOTS = {
    "documents_per_month": "plots/documents_per_month.png",
    "documents_per_outlet": "plots/documents_per_outlet.png",
    "text_length": "plots/text_length.png",
}
# Outlets drawn in the outlet plot; the rest are summed into one bar so the plot stays legible.
TOP_OUTLETS = 20
# Characters of an outlet name drawn on the axis (real names are under 40).
LABEL_CHARS = 48
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


def write_plots(report: Report, folder: Path) -> dict[str, str]:
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
    with matplotlib.style.context("default"), warnings.catch_warnings():
        # A scraped outlet name may hold characters the font lacks: drawn as boxes, not warned about.
        warnings.filterwarnings("ignore", message="Glyph .* missing from font", category=UserWarning)
        for name, draw in drawers.items():
            figure = Figure(figsize=(8, 4.5), dpi=DPI, layout="constrained")
            FigureCanvasAgg(figure)
            draw(figure.add_subplot(), report)
            figure.savefig(folder / PLOTS[name], format="png", dpi=DPI, metadata={"Software": None})
    return dict(PLOTS)


def _per_month(axes: Any, report: Report) -> None:
    rows = [(month, language, n) for (month, language), n in report.months.items()]
    counts = pl.DataFrame(
        rows, schema={"month": pl.Date, "language": pl.String, "len": pl.UInt32}, orient="row"
    )
    if counts.height:
        # Every month of the range, so a gap reads as zero documents, not as a straight line.
        months = counts.select(
            pl.date_range(pl.col("month").min(), pl.col("month").max(), "1mo").alias("month")
        )
        grid = months.join(counts.select("language").unique(), how="cross")
        counts = grid.join(counts, on=["month", "language"], how="left").fill_null(0)
    counts = counts.sort("month", "language")
    for language in sorted(counts["language"].unique().to_list()):
        rows_of = counts.filter(pl.col("language") == language)
        axes.plot(rows_of["month"].to_list(), rows_of["len"].to_list(), drawstyle="steps-mid", label=language)
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.set_title("Documents per month of publication, by language")
    axes.set_ylabel("documents")
    if counts.height:
        axes.legend(title="language", ncols=2, fontsize="small")
    axes.set_xlabel(f"month ({report.undated} documents without a date are not shown)")


def _per_outlet(axes: Any, report: Report) -> None:
    totals: dict[str, int] = {}
    for source, n in report.sources.items():
        name = source if source is not None else "(unknown)"
        totals[name] = totals.get(name, 0) + n
    counts = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    shown = counts[:TOP_OUTLETS]
    labels = [display_text(_short(s)) for s, _ in shown]
    values = [n for _, n in shown]
    if len(counts) > TOP_OUTLETS:
        labels.append(f"{len(counts) - TOP_OUTLETS} other outlets")
        values.append(sum(n for _, n in counts[TOP_OUTLETS:]))
    axes.barh(range(len(values)), values, color="tab:blue")
    axes.set_yticks(range(len(values)), labels, fontsize="small")
    axes.invert_yaxis()
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.set_xlabel("documents")
    axes.set_title("Documents per outlet")


def _short(label: str, most: int = LABEL_CHARS) -> str:
    """A label cut to `most` characters, so one absurdly long scraped name cannot crush the axes."""
    return label if len(label) <= most else label[: most - 1] + "…"


def _text_length(axes: Any, report: Report) -> None:
    bins, counts = report.length_bins()
    for language, per_bin in counts.items():
        axes.hist(bins[:-1], bins=bins, weights=per_bin, histtype="step", label=language)
    axes.set_xscale("log")
    axes.set_xlabel("text length (characters, log scale)")
    axes.set_ylabel("documents")
    axes.set_title("Text length by language")
    if report.released:
        axes.legend(title="language", ncols=2, fontsize="small")
