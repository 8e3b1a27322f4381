"""Render the Hugging Face dataset card from the Jinja template in `cards/`.

The YAML header (configs per language plus `all`, dataset_info, language, license, ...) goes
through `huggingface_hub.DatasetCardData` so it is valid hub metadata; the body is the template.
Nothing time-dependent goes in: the card is part of a byte-identical release.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import datasets
import polars as pl
from huggingface_hub import DatasetCard, DatasetCardData

from corpus.config import Config
from corpus.errors import ReleaseError
from corpus.release import Split, arrow_table
from corpus.runner import BuildResult
from corpus.schema import RELEASED

TEMPLATE = "dataset_card.md.j2"
# Language codes the hub understands; `und` is not one, so it is left out of `language:`.
NOT_A_LANGUAGE = {"und"}


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


def card_metadata(config: Config, splits: list[Split], result: BuildResult) -> DatasetCardData:
    """Hub metadata: one config per language plus the default `all`, with sizes per split."""
    features = datasets.Features.from_arrow_schema(arrow_table(result.released.head(0), RELEASED).schema)
    configs: list[dict[str, Any]] = [
        {
            "config_name": "all",
            "default": True,
            "data_files": [{"split": "train", "path": "data/*/*.parquet"}],
        }
    ]
    configs += [
        {
            "config_name": s.language,
            "data_files": [{"split": "train", "path": f"data/{s.language}/*.parquet"}],
        }
        for s in splits
    ]
    info = [_info("all", features, sum(s.num_examples for s in splits), sum(s.num_bytes for s in splits))]
    info += [_info(s.language, features, s.num_examples, s.num_bytes) for s in splits]
    return DatasetCardData(
        language=[s.language for s in splits if s.language not in NOT_A_LANGUAGE],
        license=config.release.license,
        pretty_name=config.release.pretty_name,
        size_categories=[size_category(result.released.height)],
        task_categories=config.release.task_categories,
        configs=configs,
        dataset_info=info,
    )


def _info(name: str, features: datasets.Features, examples: int, nbytes: int) -> dict[str, Any]:
    return {
        "config_name": name,
        "features": features._to_yaml_list(),
        "splits": [{"name": "train", "num_bytes": nbytes, "num_examples": examples}],
        "dataset_size": nbytes,
    }


def render_card(
    config: Config, splits: list[Split], result: BuildResult, sources: list[dict[str, Any]]
) -> str:
    """The full README.md of a release."""
    removed = result.removed
    reasons = (
        removed.group_by("removed_reason").len().sort("removed_reason").iter_rows() if removed.height else []
    )
    outlets = (
        result.released.group_by("source", "country")
        .len()
        .sort(["len", "source"], descending=[True, False])
        .head(30)
        .iter_rows(named=True)
    )
    furniture = (
        pl.concat([result.released.select("furniture"), removed.select("furniture")])
        .explode("furniture")
        .drop_nulls()
        .group_by("furniture")
        .len()
        .sort(["len", "furniture"], descending=[True, False])
        .iter_rows()
    )
    dates = result.released["published_date"].drop_nulls()
    card = DatasetCard.from_template(
        card_metadata(config, splits, result),
        template_path=str(template_path()),
        config=config,
        splits=splits,
        steps=result.steps,
        reasons=list(reasons),
        outlets=list(outlets),
        furniture=list(furniture),
        sources=sources,
        rows_read=result.rows_read,
        released=result.released.height,
        removed=removed.height,
        date_range=(str(dates.min()), str(dates.max())) if dates.len() else None,
        version=config.release_version,
    )
    return str(card)
