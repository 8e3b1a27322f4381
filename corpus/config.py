"""Typed configuration mirroring the YAML one to one (`extra="forbid"`, so a typo names its path).

Each step receives only its own section. Paths inside the config are relative to the config file.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import os
import re
import zoneinfo
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from corpus.errors import ConfigError


def _unit_interval(value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise ValueError("must be between 0 and 1")
    return value


Fraction = Annotated[float, AfterValidator(_unit_interval)]

# Entries of the zone database that are not zones: `localtime` is this machine's zone (a release
# must not depend on the machine), `Factory` a placeholder; polars refuses both.
NOT_ZONES = frozenset({"localtime", "Factory"})


@cache
def _time_zones() -> frozenset[str]:
    """IANA zone names from the system database or the `tzdata` package (read once)."""
    return frozenset(zoneinfo.available_timezones()) - NOT_ZONES


def _time_zone(value: str) -> str:
    """An IANA zone name, checked here so that a typo fails with its key path, not in polars."""
    if value not in _time_zones():
        raise ValueError(f"unknown time zone {value!r}; expected an IANA name such as Africa/Casablanca")
    return value


def _text_codec(value: str) -> str:
    """A codec that decodes bytes to text (`base64` and `rot13` are codecs, not text encodings)."""
    try:
        info = codecs.lookup(value)
    except LookupError:
        raise ValueError(f"unknown codec {value!r}; expected a Python codec such as cp1256") from None
    if not getattr(info, "_is_text_encoding", True):
        raise ValueError(f"{value!r} is not a text encoding; expected a Python codec such as cp1256")
    return value


TimeZone = Annotated[str, AfterValidator(_time_zone)]
TextCodec = Annotated[str, AfterValidator(_text_codec)]
MappableField = Literal["url", "key", "title", "text", "source", "published", "scraped_at"]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FilenameFields(Section):
    """A regex over each file's name whose named groups fill a source's empty fields."""

    # Named groups are mappable fields or `country`, e.g. `^(?P<country>[A-Z]{2})`.
    regex: str
    # Captured value -> value stored, for dumps with their own codes (TM for Tunisia is ISO TN).
    values: dict[str, str] = Field(default_factory=dict)

    @field_validator("regex")
    @classmethod
    def _named_groups(cls, regex: str) -> str:
        try:
            groups = set(re.compile(regex).groupindex)
        except re.error as exc:
            raise ValueError(f"invalid regex ({exc})") from exc
        unknown = groups - {*get_args(MappableField), "country"}
        if unknown or not groups:
            raise ValueError(f"named groups must be fields or country, got {sorted(unknown) or 'none'}")
        return regex


class SourceConfig(Section):
    """One input: a kind, a path or glob, and which input columns feed which canonical fields."""

    @model_validator(mode="after")
    def _records_for_json(self) -> SourceConfig:
        if self.records is not None and self.kind != "json":
            raise ValueError(f"records: only for kind json (this source is {self.kind})")
        return self

    name: str
    kind: Literal["pages", "text", "jsonl", "json", "csv", "parquet"]
    path: str  # file, folder or glob, relative to the config file, or a URL fsspec reads (s3://...)
    # Canonical field -> input column, or a list of candidates (first present wins) for drifting scrapes.
    columns: dict[MappableField, str | list[str]] = Field(default_factory=dict)
    # Canonical field -> fixed value for every record (e.g. the outlet of a single-outlet dump).
    constants: dict[MappableField, str] = Field(default_factory=dict)
    # json only: a list field whose items are the records; the parent's fields stay addressable.
    records: str | None = None
    # Tried in order when bytes are not UTF-8; detection picks among these (Arabic papers are cp1256).
    encodings: list[TextCodec] = Field(default_factory=lambda: ["cp1256", "cp1252"])
    # A record that cannot be parsed stops the build (error) or goes to removed/ (skip).
    on_bad_record: Literal["error", "skip"] = "error"
    # Fields some dumps carry only in their file names (e.g. "DZE12.txt" is an Algerian article).
    filename_fields: FilenameFields | None = None


class RepairConfig(Section):
    # Undo text decoded with the wrong code page (French via cp1252, Arabic via cp1256) and HTML
    # entities; off only to measure what it does.
    mojibake: bool = True
    # ftfy for Latin mojibake the whole-text round trip cannot undo (mixed or partly lossy text).
    ftfy: bool = True
    # French «guillemets», ’ and “ ” are correct typography: keep them (ftfy would straighten them).
    uncurl_quotes: bool = False
    # Drop LRM/RLM/ALM, bidi embeddings, ZWSP, soft hyphens and stray ZWJ: scrapers leave them, models
    # learn noise. ZWNJ (Persian morphology) and ZWJ inside emoji carry meaning and stay.
    strip_bidi_controls: bool = True
    # No-break and other exotic spaces become plain spaces; they split tokens inconsistently.
    normalize_spaces: bool = True
    # Arabic presentation forms (ﻻ), Latin ligatures (ﬁ) and full-width forms become the letters
    # they draw: old PDFs and word processors emit them, search and tokenizers do not match them.
    presentation_forms: bool = True
    # Tatweel (ـ) stretches words for justification; "مـــغـــرب" is the word "مغرب".
    strip_tatweel: bool = True


class QualityConfig(Section):
    """What makes a record unfit to release, checked on input (`screen`) and after furniture
    removal (`quality`): too long, binary, empty, repetitive."""

    # Longer records (text or title, in characters) are removed as `too_long` before any step reads
    # them: every step is linear, but a 5-million-character "article" is a dump or a scraper bug (the
    # longest real article in the shared scrapes is 43,423 characters).
    max_document_chars: int = Field(default=5_000_000, ge=1)
    # A record whose characters are more than this share control characters (NUL, C0 but tab and
    # newlines, C1) or U+FFFD is `binary`: an executable or image saved as text. Real scrapes have none.
    max_control_share: Fraction = 0.02
    # Documents with fewer characters than this after furniture removal are removed as `empty`.
    min_chars: int = Field(default=1, ge=0)
    # ... and so are those with fewer letters: invisible characters, punctuation and digits alone
    # carry nothing to train on.
    min_letters: int = Field(default=1, ge=0)
    # A document of at least 4 letters whose first letter makes more than this share of its visible
    # characters is `repetitive` ("ههههههههه", "aaaaaaa"); the most repetitive real comment is 0.38.
    max_letter_share: Fraction = 0.6


class BoilerplateConfig(Section):
    # Known furniture (regexes), a YAML file relative to the config: removed wherever they match.
    patterns: str | None = "boilerplate.yaml"
    # Remove segments (lines, cut after each sentence end) that recur across an outlet or crawl.
    recurring: bool = True
    # A segment in this many distinct documents (canonical URLs, else titles) of one outlet or one crawl
    # is furniture: re-scrapes share a URL and count once. On 3,000 generated pages, 5 removed 36
    # content lines that recur by chance, 8 removed 7 (bench_pages.py).
    min_documents: int = Field(default=8, ge=2)
    # ... and in at least this share of the group: chance recurrences grow with the corpus, furniture's
    # share does not. At 0, 87,576 of 100,000 generated documents (sentences drawn from a finite pool)
    # were emptied; at 0.005, 9 segments were removed; 0.01 also drops a daily ticker (0.5% of a crawl).
    min_share: Fraction = 0.005
    # Shorter segments (letters and digits only) are never counted: "Oui.", "Lire aussi" recur in real
    # content; 12 still catches the report modal's "Merci d'avoir signalé!" (18).
    min_segment_chars: int = Field(default=12, ge=1)
    # Remove recurring segments only in a run reaching the document's start or end: furniture sits
    # at the edges, while a real sentence that recurs by chance (a quote, a stock phrase) is inside.
    edges_only: bool = True


class MetadataConfig(Section):
    # Outlet registry (canonical names, aliases, country, time zone), relative to the config.
    outlets: str = "outlets.yaml"
    # Zone for dates without offset from outlets the registry does not know.
    default_timezone: TimeZone = "Africa/Casablanca"
    # Dates before this year are scraper defaults (epoch, 1900) or typos, not Maghreb web news.
    earliest_year: int = Field(default=1990, ge=1800)
    # Dates after this year are placeholders (9999-12-31) or typos; the crawl day, when known,
    # bounds dates tighter (`future_tolerance_days`).
    latest_year: int = Field(default=2100, ge=1800, le=9000)
    # A date this many days after the crawl day is impossible; one day absorbs zone and clock skew.
    future_tolerance_days: int = Field(default=1, ge=0)


class LanguageConfig(Section):
    # Labels the release may carry: `ary` is Moroccan Darija in Arabic script, `ary_Latn` Darija in
    # Latin letters ("Arabizi"), `zgh` Tamazight in Tifinagh, `kab` Kabyle; any other language is `und`.
    labels: list[str] = Field(
        default_factory=lambda: ["fr", "ar", "ary", "ary_Latn", "zgh", "kab", "en", "es", "und"]
    )
    # Minimum score for labels without their own threshold; below it the document is `und`
    # (released in `all`, never dropped).
    threshold: Fraction = 0.5
    # Per-label minimum scores. fr/en/es: fastText probability, 0.5 means the model prefers it to all
    # 175 others. ar/ary/ary_Latn: the trained model's probability (corpus/language/model.py), 0.5 is
    # its decision boundary (raise `ary` to keep only clear Darija). kab: the Kabyle lexicon's
    # probability. zgh: Tifinagh share.
    thresholds: dict[str, Fraction] = Field(
        default_factory=lambda: {
            "fr": 0.5,
            "ar": 0.5,
            "ary": 0.5,
            "ary_Latn": 0.5,
            "zgh": 0.3,
            "kab": 0.5,
            "en": 0.5,
            "es": 0.5,
        }
    )
    # Share of Tifinagh letters above which a paragraph is Tamazight (zgh) whatever else it holds:
    # names and numbers in Latin or Arabic letters are common inside Tifinagh text.
    tifinagh_share: Fraction = 0.3
    # Lines longer than this many characters (scrapes without newlines) are cut into windows of this
    # size, so that a quoted paragraph in another language is seen; about a paragraph, and two
    # fastText calls for a 1,000-character article (speed).
    unit_chars: int = Field(default=500, ge=50)
    # A document is flagged `code_switching` when paragraphs in languages other than its dominant one
    # hold at least this share of its letters (a quoted sentence is not code switching).
    code_switching_share: Fraction = 0.2

    @model_validator(mode="after")
    def _thresholds_for_known_labels(self) -> LanguageConfig:
        unknown = sorted(set(self.thresholds) - set(self.labels))
        if unknown:
            raise ValueError(f"thresholds for labels not in `labels`: {', '.join(unknown)}")
        return self

    def threshold_for(self, label: str) -> float:
        """The minimum score of `label` (its own threshold, else the default)."""
        return self.thresholds.get(label, self.threshold)


class DedupConfig(Section):
    # Jaccard of word n-gram sets above which two documents are near-duplicates (reprints, edits).
    threshold: Fraction = 0.8
    # 128 permutations: standard error of the Jaccard estimate about 0.035 at 0.8.
    num_perm: int = Field(default=128, ge=16, le=1024)
    # Word 5-grams: short enough to survive light edits, long enough to ignore common phrases.
    ngram: int = Field(default=5, ge=1, le=20)
    # Seed of the permutations; fixed so that signatures are comparable across releases.
    seed: int = 1
    # Dedup within each language (a French and an Arabic text are never duplicates) or across all.
    scope: Literal["language", "all"] = "language"
    # Among re-scrapes of one URL keep the newest scrape (corrections land later).
    rescrape_keep: Literal["newest", "oldest"] = "newest"
    # Pairs whose estimate is this close below the threshold get their exact shingle Jaccard:
    # an estimate from 128 permutations can read a J 0.82 pair as 0.76.
    verify_margin: Fraction = 0.1
    # LSH must find pairs down to threshold - verify_margin with at least this probability.
    candidate_recall: Fraction = 0.99
    # Among equally early duplicates, these outlets are kept first (wire services before reprints).
    outlet_priority: list[str] = Field(default_factory=lambda: ["MAP Express"])
    # An earlier release (folder, relative to the config): new documents are deduplicated against
    # the signatures it stores, without re-reading its text; its documents stay released.
    against: str | None = None

    @property
    def bands_rows(self) -> tuple[int, int]:
        """LSH bands x rows: the most rows (fewest chance candidates) that still catch pairs at
        threshold - verify_margin with `candidate_recall` (datasketch's optimum for 0.8/128
        misses about half the pairs at J 0.80-0.85)."""
        floor = max(0.05, self.threshold - self.verify_margin)
        for rows in range(self.num_perm, 0, -1):
            bands = self.num_perm // rows
            if 1 - (1 - floor**rows) ** bands >= self.candidate_recall:
                return bands, rows
        return self.num_perm, 1


class ReleaseConfig(Section):
    # Shards close at about this many bytes of text; a few hundred MB streams well.
    shard_bytes: int = Field(default=256_000_000, ge=1_000)
    # Rows per Parquet row group: small enough for streaming readers, large enough to compress.
    row_group_rows: int = Field(default=10_000, ge=100)
    # Row groups also close at this many bytes of text: a streaming reader holds one group in memory.
    row_group_bytes: int = Field(default=64_000_000, ge=1_000)
    # zstd level of every Parquet file. 3 (zstd's own default): on 100k news, 9 made the data shards
    # 18% smaller for 3.7x the compression time; raise it for archives written once, read often.
    compression_level: int = Field(default=3, ge=1, le=22)
    # Share of documents held out for validation and for test, assigned by a hash of the dedup
    # cluster. 0 by default: a pretraining corpus is mostly consumed whole and held-out sets are an
    # experiment's choice; set e.g. 0.01 to publish fixed held-out splits that stay put across versions.
    validation: Fraction = 0.0
    test: Fraction = 0.0
    license: str = "other"
    pretty_name: str = "Maghreb news"
    description: str = ""
    task_categories: list[str] = Field(default_factory=lambda: ["text-generation"])

    @model_validator(mode="after")
    def _train_is_left(self) -> ReleaseConfig:
        if self.validation + self.test >= 1.0:
            raise ValueError("validation + test must leave a share for train (sum below 1)")
        return self


class ExecutionConfig(Section):
    """How a build runs; none of it changes the release's bytes (it is left out of the manifest)."""

    # Processes running the per-document steps; null: one per core.
    workers: int | None = Field(default=None, ge=1)
    # Documents per batch: a worker holds one batch (and ~15x its text while the steps run).
    batch_rows: int = Field(default=20_000, ge=1)
    # ... and characters of text per batch: 16 million keep a worker near 300 MB.
    batch_bytes: int = Field(default=16_000_000, ge=1)


class Config(Section):
    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")]
    version: Annotated[str, Field(pattern=r"^v?\d+\.\d+\.\d+$")]
    # `local`: batches on a pool of processes on this machine; `ray`: the same units on a Ray cluster
    # (`RAY_ADDRESS`, else a local Ray on the loopback; needs the `ray` extra). Same release bytes.
    engine: Literal["local", "ray"] = "local"
    execution: ExecutionConfig = ExecutionConfig()
    sources: list[SourceConfig]
    quality: QualityConfig = QualityConfig()
    repair: RepairConfig = RepairConfig()
    boilerplate: BoilerplateConfig = BoilerplateConfig()
    metadata: MetadataConfig = MetadataConfig()
    language: LanguageConfig = LanguageConfig()
    dedup: DedupConfig = DedupConfig()
    release: ReleaseConfig = ReleaseConfig()

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, sources: list[SourceConfig]) -> list[SourceConfig]:
        names = [s.name for s in sources]
        if len(set(names)) != len(names):
            raise ValueError("source names must be unique")
        if not sources:
            raise ValueError("at least one source is needed")
        return sources

    @property
    def release_version(self) -> str:
        return self.version if self.version.startswith("v") else f"v{self.version}"


class LoadedConfig(BaseModel):
    """The validated config plus where it came from (paths resolve against `root`)."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)
    config: Config
    root: Path
    raw: dict[str, Any]

    def resolve(self, relative: str) -> Path:
        return absolute(self.root / relative)

    @property
    def shaping(self) -> dict[str, Any]:
        """The config without what only says how to run it (engine, execution)."""
        return self.config.model_dump(mode="json", exclude={"engine", "execution"})

    @property
    def sha256(self) -> str:
        canonical = json.dumps(self.shaping, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


def absolute(path: Path) -> Path:
    """An absolute, normalised path that keeps symlinks as given (lineage shows what the user wrote)."""
    return Path(os.path.normpath(os.path.abspath(path)))


def _error_path(location: tuple[Any, ...], raw: dict[str, Any]) -> str:
    """`sources.0.kind` reads better as `sources[0].kind` (and names the source when it has a name)."""
    parts: list[str] = []
    node: Any = raw
    for item in location:
        if isinstance(item, int):
            name = node[item].get("name") if isinstance(node, list) and isinstance(node[item], dict) else None
            parts[-1] += f"[{name!r}]" if name else f"[{item}]"
        else:
            parts.append(str(item))
        try:
            node = node[item]
        except (KeyError, IndexError, TypeError):
            node = None
    return ".".join(parts)


def _describe(error: dict[str, Any]) -> str:
    kind, ctx = error["type"], error.get("ctx", {})
    if kind == "extra_forbidden":
        return "unknown key"
    if kind in ("greater_than_equal", "less_than_equal"):
        return f"must be {'>=' if kind == 'greater_than_equal' else '<='} {ctx.get('ge', ctx.get('le'))}"
    return str(error["msg"]).removeprefix("Value error, ")


def load_config(path: Path) -> LoadedConfig:
    """Read and validate a YAML config; every problem is reported with its key path."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: config file not found") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of sections at the top level")
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        lines = [f"{_error_path(e['loc'], raw)}: {_describe(dict(e))}" for e in exc.errors()]
        raise ConfigError(f"{path}: invalid config\n  " + "\n  ".join(lines)) from exc
    return LoadedConfig(config=config, root=absolute(path).parent, raw=raw)
