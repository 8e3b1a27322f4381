"""Label paragraph units with the layers in order: script, Kabyle lexicon and Arabizi model, fastText, Darija.

Every unit gets a `label` and a `score` in [0, 1]: the Tifinagh share for `zgh`, the trained
model's probability for `ary`/`ar`/`ary_Latn`, the Kabyle lexicon's for `kab`, the fastText
probability otherwise. Arabic-script units never reach fastText (it would say `ar` for Darija too);
Latin units reach it only when neither Kabyle nor Arabizi is likely (fastText reads Arabizi as
French or Malay, often with confidence).
"""

from __future__ import annotations

import polars as pl

from corpus.language.arabizi import latin_probabilities
from corpus.language.base import predict
from corpus.language.darija import darija_probability
from corpus.language.paragraphs import UND
from corpus.language.script import script_counts, share

# A model or lexicon probability at or above this decides the unit (its logistic curve's midpoint).
DECIDES = 0.5
# Units whose labels a process remembers across batches (about 40 bytes each): a worker labels many
# batches of one build, and news repeats paragraphs across them (wire copy, re-scrapes, near
# duplicates): on a 100k-document make_corpus build a worker saw 11% of its units before.
REMEMBERED_UNITS = 500_000
# A unit is remembered by two 64-bit hashes of its text: a wrong label needs both to collide.
KEY_SEEDS = (17, 29)


def classify_units(units: pl.DataFrame, tifinagh_share: float) -> pl.DataFrame:
    """Add `label` and `score` (and `letters`, unless `split_units` counted it) to a frame with a
    `unit` column (row order kept). A unit's label depends on its text alone, so each distinct
    text is classified once (a batch of news repeats a sixth of its lines: bylines, credits)."""
    if "letters" not in units.columns:
        units = pl.concat([units, script_counts(units["unit"])], how="horizontal")
    distinct = units.select("unit", "letters", "tifinagh", "arabic").unique("unit", maintain_order=True)
    labelled = _remembered(distinct, tifinagh_share).select("unit", "label", "score")
    return units.drop("tifinagh", "arabic").join(labelled, on="unit", how="left", maintain_order="left")


LABELS = {"label": pl.String, "score": pl.Float64}
# Per Tifinagh share (the only setting a unit's label depends on): keys, label and score.
_memory: dict[float, pl.DataFrame] = {}


def _remembered(units: pl.DataFrame, tifinagh_share: float) -> pl.DataFrame:
    """`_classify`, for units this process has not labelled before; the others' labels are recalled
    (a unit's label depends on its text alone, so recalling never changes one)."""
    keys = ["_k0", "_k1"]
    keyed = units.with_columns(_k0=pl.col("unit").hash(KEY_SEEDS[0]), _k1=pl.col("unit").hash(KEY_SEEDS[1]))
    memory = _memory.get(tifinagh_share, pl.DataFrame(schema={**dict.fromkeys(keys, pl.UInt64), **LABELS}))
    recalled = keyed.join(memory, on=keys, how="left", maintain_order="left")
    known = recalled["label"].is_not_null()
    fresh = _classify(recalled.filter(~known).drop("label", "score"), tifinagh_share).select(recalled.columns)
    room = max(REMEMBERED_UNITS - memory.height, 0)
    if room and fresh.height:
        _memory[tifinagh_share] = pl.concat([memory, fresh.select(*keys, *LABELS).head(room)], rechunk=True)
    return pl.concat([recalled.filter(known), fresh]).drop(keys)


def _classify(units: pl.DataFrame, tifinagh_share: float) -> pl.DataFrame:
    """`label` and `score` of each unit, routed by script (row order kept)."""
    counted = units.with_row_index("_row")
    route = (
        pl.when(pl.col("letters") == 0)
        .then(pl.lit("empty"))
        .when(share("tifinagh") >= tifinagh_share)
        .then(pl.lit("tifinagh"))
        .when(2 * pl.col("arabic") > pl.col("letters") - pl.col("tifinagh"))
        .then(pl.lit("arabic"))
        .otherwise(pl.lit("latin"))
    )
    routed = counted.with_columns(_route=route).partition_by("_route", as_dict=True)
    parts = [_empty(routed.get(("empty",))), _tifinagh(routed.get(("tifinagh",)))]
    parts += [_arabic(routed.get(("arabic",))), _latin(routed.get(("latin",)))]
    present = [p for p in parts if p is not None]
    if not present:
        return counted.drop("_row").with_columns(
            label=pl.lit(None, pl.String), score=pl.lit(None, pl.Float64)
        )
    return pl.concat(present, how="vertical").sort("_row").drop("_row", "_route")


def _empty(frame: pl.DataFrame | None) -> pl.DataFrame | None:
    return None if frame is None else frame.with_columns(label=pl.lit(UND), score=pl.lit(0.0))


def _tifinagh(frame: pl.DataFrame | None) -> pl.DataFrame | None:
    return None if frame is None else frame.with_columns(label=pl.lit("zgh"), score=share("tifinagh"))


def _arabic(frame: pl.DataFrame | None) -> pl.DataFrame | None:
    if frame is None:
        return None
    darija = frame.with_columns(_p=darija_probability(frame["unit"]))
    is_darija = pl.col("_p") >= DECIDES
    return darija.with_columns(
        label=pl.when(is_darija).then(pl.lit("ary")).otherwise(pl.lit("ar")),
        score=pl.when(is_darija).then(pl.col("_p")).otherwise(1.0 - pl.col("_p")),
    ).drop("_p")


def _latin(frame: pl.DataFrame | None) -> pl.DataFrame | None:
    if frame is None:
        return None
    latin = latin_probabilities(frame["unit"])
    scored = frame.with_columns(_kab=latin["kabyle"], _ary=latin["arabizi"])
    decided_first = scored.with_columns(
        _decided_label=pl.when((pl.col("_kab") >= DECIDES) & (pl.col("_kab") >= pl.col("_ary")))
        .then(pl.lit("kab"))
        .when(pl.col("_ary") >= DECIDES)
        .then(pl.lit("ary_Latn")),
        _decided_score=pl.max_horizontal("_kab", "_ary"),
    )
    decided = decided_first.filter(pl.col("_decided_label").is_not_null())
    undecided = decided_first.filter(pl.col("_decided_label").is_null())
    labels, scores = predict(undecided["unit"])
    undecided = undecided.with_columns(
        _decided_label=pl.Series(labels, dtype=pl.String), _decided_score=pl.Series(scores, dtype=pl.Float64)
    )
    return (
        pl.concat([decided, undecided], how="vertical")
        .rename({"_decided_label": "label", "_decided_score": "score"})
        .drop("_kab", "_ary")
    )
