"""The plan: the ordered steps of a build, each bound to its own config section.

Steps are maps (per document) and phases (corpus-wide); `corpus.step` says what each is, and an
engine (`corpus.engine`) runs them. Reading sources and writing the release are the edges.

    read -> screen -> repair -> boilerplate -> metadata -> [recurring] -> quality -> language
         -> [rescrape] -> [exact_dedup] -> [near_dedup]
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import polars as pl

from corpus.boilerplate import load_furniture, strip_known
from corpus.boilerplate.recurring import RecurringFurniture
from corpus.config import LoadedConfig
from corpus.dedup import EarlierRelease, ExactDuplicates, NearDuplicates, Rescrapes
from corpus.language import identify_language
from corpus.metadata import normalise_metadata
from corpus.metadata.outlets import alias_table, load_outlets
from corpus.quality import quality, screen
from corpus.repair import repair
from corpus.step import Map, Step


@dataclass(frozen=True)
class Plan:
    """A build's steps in order, and the config they were bound from."""

    loaded: LoadedConfig
    steps: list[Step]

    @property
    def names(self) -> list[str]:
        return [step.name for step in self.steps]


def outlet_registry(loaded: LoadedConfig) -> pl.DataFrame:
    """The outlet alias table the metadata step resolves against (also used for the report)."""
    return alias_table(load_outlets(loaded.resolve(loaded.config.metadata.outlets)))


def reader_errors(frame: pl.DataFrame) -> pl.DataFrame:
    """Records a reader could not parse or trust (`on_bad_record: skip`) leave as `bad_record`."""
    bad = pl.col("reader_error").is_not_null() & pl.col("removed_reason").is_null()
    return frame.with_columns(
        removed_reason=pl.when(bad).then(pl.lit("bad_record")).otherwise("removed_reason"),
        removed_detail=pl.when(bad).then("reader_error").otherwise("removed_detail"),
    )


def plan(loaded: LoadedConfig, aliases: pl.DataFrame | None = None) -> Plan:
    """The pipeline, in order, each step bound to its own config section and resources."""
    config = loaded.config
    patterns = config.boilerplate.patterns
    furniture = load_furniture(loaded.resolve(patterns) if patterns else None)
    aliases = outlet_registry(loaded) if aliases is None else aliases
    against = config.dedup.against
    earlier = EarlierRelease(loaded.resolve(against), config.dedup) if against else None
    steps: list[Step] = [
        Map("read", reader_errors),
        Map("screen", partial(screen, section=config.quality)),
        Map("repair", partial(repair, section=config.repair)),
        Map("boilerplate", partial(strip_known, patterns=furniture)),
        Map("metadata", partial(normalise_metadata, section=config.metadata, aliases=aliases)),
    ]
    if config.boilerplate.recurring:
        steps.append(RecurringFurniture(config.boilerplate))
    steps += [
        Map("quality", partial(quality, section=config.quality)),
        Map("language", partial(identify_language, section=config.language)),
        Rescrapes(config.dedup, earlier),
        ExactDuplicates(config.dedup, earlier),
        NearDuplicates(config.dedup, earlier),
    ]
    return Plan(loaded, steps)
