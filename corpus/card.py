"""Render the Hugging Face dataset card from the Jinja template in `cards/`.

The YAML header (configs per language plus `all`, dataset_info, language, license, ...) goes
through `huggingface_hub.DatasetCardData` so it is valid hub metadata; the body is the template.
Nothing time-dependent goes in: the card is part of a byte-identical release.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from corpus.config import Config
from corpus.errors import ReleaseError
from corpus.release.report import Report
from corpus.release.shards import SPLITS, Split, arrow_table
from corpus.schema import RELEASED, conform

if TYPE_CHECKING:  # imported where used: the hub client takes ~0.5 s, paid at the card, not at start
    import datasets
    from huggingface_hub import DatasetCardData

TEMPLATE = "dataset_card.md.j2"
# Language codes the hub understands; `und` is not one, so it is left out of `language:`.
NOT_A_LANGUAGE = {"und"}
# Config names that are a language plus a script; the hub's `language:` wants the bare ISO code.
HUB_CODE = {"ary_Latn": "ary"}
# Markers around the changelog, which `corpus diff` rewrites after the build.
CHANGELOG_START = "<!-- changelog:start -->"
CHANGELOG_END = "<!-- changelog:end -->"
# Outlets listed by name in the card; the rest are summed in one row.
TOP_OUTLETS = 30


@dataclass(frozen=True)
class Language:
    """One language's totals over its splits, for the card's tables."""

    language: str
    num_examples: int
    words: int
    per_split: dict[str, int]


def template_path() -> Path:
    """The card template: inside the installed package, or in the source tree's `cards/`."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "cards" / TEMPLATE, here.parent / "cards" / TEMPLATE):
        if candidate.is_file():
            return candidate
    raise ReleaseError(f"card template {TEMPLATE} not found in the package or in cards/")


def size_category(rows: int) -> str:
    bounds = [
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
    ]
    for bound, label in bounds:
        if rows < bound:
            return label
    return "1M<n<10M" if rows < 10_000_000 else "10M<n<100M"


def languages(splits: list[Split]) -> list[Language]:
    """Per-language totals, in the order of the shards (sorted by language code)."""
    out: dict[str, Language] = {}
    for s in splits:
        old = out.get(s.language, Language(s.language, 0, 0, {}))
        out[s.language] = Language(
            s.language,
            old.num_examples + s.num_examples,
            old.words + s.words,
            {**old.per_split, s.name: s.num_examples},
        )
    return list(out.values())


def split_names(splits: Iterable[Split]) -> list[str]:
    present = {s.name for s in splits}
    return [name for name in SPLITS if name in present]


@cache
def release_features() -> datasets.Features:
    """The `datasets` features of released rows. `datasets` (and the pandas it loads) takes a second
    to import, so it is imported here, not at the top, which every worker process would pay at start;
    a build calls this on a thread while its shards are written."""
    import datasets

    return datasets.Features.from_arrow_schema(arrow_table(conform(pl.DataFrame()), RELEASED).schema)


def card_metadata(config: Config, splits: list[Split], released: int) -> DatasetCardData:
    """Hub metadata: one config per language plus the default `all`, with sizes per split."""
    features = release_features()
    configs: list[dict[str, Any]] = [
        {
            "config_name": "all",
            "default": True,
            "data_files": [{"split": n, "path": f"data/*/{n}-*.parquet"} for n in split_names(splits)],
        }
    ]
    info = [_info("all", features, splits)]
    for language in languages(splits):
        own = [s for s in splits if s.language == language.language]
        files = [{"split": n, "path": f"data/{language.language}/{n}-*.parquet"} for n in split_names(own)]
        configs.append({"config_name": language.language, "data_files": files})
        info.append(_info(language.language, features, own))
    from huggingface_hub import DatasetCardData

    return DatasetCardData(
        language=sorted({HUB_CODE.get(s.language, s.language) for s in languages(splits)} - NOT_A_LANGUAGE),
        license=config.release.license,
        pretty_name=config.release.pretty_name,
        size_categories=[size_category(released)],
        task_categories=config.release.task_categories,
        configs=configs,
        dataset_info=info,
    )


def _info(name: str, features: datasets.Features, splits: list[Split]) -> dict[str, Any]:
    """`dataset_info` of one config; `datasets` checks `num_examples` per split on load."""
    sizes = [
        {
            "name": n,
            "num_bytes": sum(s.num_bytes for s in splits if s.name == n),
            "num_examples": sum(s.num_examples for s in splits if s.name == n),
        }
        for n in split_names(splits)
    ]
    return {
        "config_name": name,
        "features": features._to_yaml_list(),
        "splits": sizes,
        "dataset_size": sum(s["num_bytes"] for s in sizes),
    }


def _outlets(report: Report) -> tuple[list[dict[str, Any]], tuple[int, int]]:
    """The top outlets by documents, and (outlets, documents) of the rest."""
    counts = sorted(report.outlets.items(), key=lambda item: (-item[1], item[0][0] or "", item[0][1] or ""))
    top = [{"source": s, "country": c, "len": n} for (s, c), n in counts[:TOP_OUTLETS]]
    rest = counts[TOP_OUTLETS:]
    return top, (len(rest), sum(n for _, n in rest))


@dataclass(frozen=True)
class StepRow:
    """One step of the card's processing table."""

    name: str
    rows_in: int
    rows_out: int
    removed: dict[str, int]


def render_card(
    config: Config,
    splits: list[Split],
    report: Report,
    steps: list[StepRow],
    sources: list[dict[str, Any]],
    unknown_outlets: list[tuple[str, int]],
    rows_read: int,
    plots: dict[str, str] | None = None,
) -> str:
    """The full README.md of a release."""
    from huggingface_hub import DatasetCard

    outlets, other_outlets = _outlets(report)
    first, last = report.first_date, report.last_date
    card = DatasetCard.from_template(
        card_metadata(config, splits, report.released),
        template_path=str(template_path()),
        config=config,
        splits=splits,
        split_names=split_names(splits),
        languages=languages(splits),
        steps=steps,
        reasons=report.removed_reasons(),
        outlets=outlets,
        other_outlets=other_outlets,
        furniture=report.furniture(),
        date_issues=sorted(report.date_issues.items()),
        unknown_outlets=unknown_outlets,
        repairs=report.repair_counts(),
        sources=sources,
        rows_read=rows_read,
        released=report.released,
        removed=report.removed,
        undated=report.undated,
        date_range=(str(first), str(last)) if first is not None and last is not None else None,
        version=config.release_version,
        plots=plots or {},
        changelog_start=CHANGELOG_START,
        changelog_end=CHANGELOG_END,
    )
    return str(card)
