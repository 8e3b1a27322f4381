"""Typed configuration mirroring the YAML one to one (`extra="forbid"`, so a typo names its path).

Each step receives only its own section. Paths inside the config are relative to the config file.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from corpus.errors import ConfigError


def _unit_interval(value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise ValueError("must be between 0 and 1")
    return value


Fraction = Annotated[float, AfterValidator(_unit_interval)]
MappableField = Literal["url", "key", "title", "text", "source", "published", "scraped_at"]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceConfig(Section):
    """One input: a kind, a path or glob, and which input columns feed which canonical fields."""

    name: str
    kind: Literal["pages", "text", "jsonl", "json", "csv", "parquet"]
    path: str  # file, folder or glob, relative to the config file
    # Canonical field -> input column, or a list of candidates (first present wins) for drifting scrapes.
    columns: dict[MappableField, str | list[str]] = Field(default_factory=dict)
    # Canonical field -> fixed value for every record (e.g. the outlet of a single-outlet dump).
    constants: dict[MappableField, str] = Field(default_factory=dict)
    # json only: a list field whose items are the records; the parent's fields stay addressable.
    records: str | None = None
    # Tried in order when bytes are not UTF-8; detection picks among these (Arabic papers are cp1256).
    encodings: list[str] = Field(default_factory=lambda: ["cp1256", "cp1252"])
    # A record that cannot be parsed stops the build (error) or goes to removed/ (skip).
    on_bad_record: Literal["error", "skip"] = "error"


class RepairConfig(Section):
    # ftfy repairs mojibake; off only to measure what it does.
    ftfy: bool = True
    # French «guillemets», ’ and “ ” are correct typography: keep them (ftfy would straighten them).
    uncurl_quotes: bool = False
    # Drop LRM/RLM/ALM and other bidi controls: scrapers leave them in Arabic text, models learn noise.
    strip_bidi_controls: bool = True
    # No-break and other exotic spaces become plain spaces; they split tokens inconsistently.
    normalize_spaces: bool = True


class BoilerplateConfig(Section):
    # Known furniture (regexes), a YAML file relative to the config: removed wherever they match.
    patterns: str | None = "boilerplate.yaml"
    # Documents with fewer characters than this after stripping are removed as `empty`.
    min_chars: int = Field(default=1, ge=0)


class MetadataConfig(Section):
    # Outlet registry (canonical names, aliases, country, time zone), relative to the config.
    outlets: str = "outlets.yaml"
    # Zone for dates without offset from outlets the registry does not know.
    default_timezone: str = "Africa/Casablanca"


class LanguageConfig(Section):
    # Labels the release may carry; anything else the model says becomes `und`.
    labels: list[str] = Field(default_factory=lambda: ["fr", "ar", "en", "es", "zgh", "und"])
    # Below this model score the document is `und` (kept in `all`, never dropped).
    threshold: Fraction = 0.5
    # Share of Tifinagh letters above which a text is Tamazight (zgh) whatever the model says.
    tifinagh_share: Fraction = 0.3


class DedupConfig(Section):
    # Estimated Jaccard above which two documents are near-duplicates.
    threshold: Fraction = 0.8
    # 128 permutations: standard error of the Jaccard estimate about 0.03.
    num_perm: int = Field(default=128, ge=16, le=1024)
    # Word 5-grams: short enough to survive light edits, long enough to ignore common phrases.
    ngram: int = Field(default=5, ge=1, le=20)
    # Seed of the permutations; fixed so that signatures are comparable across releases.
    seed: int = 1
    # Dedup within each language (a French and an Arabic text are never duplicates) or across all.
    scope: Literal["language", "all"] = "language"
    # Among re-scrapes of one URL keep the newest scrape (corrections land later).
    rescrape_keep: Literal["newest", "oldest"] = "newest"


class ReleaseConfig(Section):
    # Shards close at about this many bytes of text; a few hundred MB streams well.
    shard_bytes: int = Field(default=256_000_000, ge=1_000)
    # Rows per Parquet row group: small enough for streaming readers, large enough to compress.
    row_group_rows: int = Field(default=10_000, ge=100)
    license: str = "other"
    pretty_name: str = "Maghreb news"
    description: str = ""
    task_categories: list[str] = Field(default_factory=lambda: ["text-generation"])


class Config(Section):
    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")]
    version: Annotated[str, Field(pattern=r"^v?\d+\.\d+\.\d+$")]
    # Local is the only engine this version ships; the steps are written to run on batches for more.
    engine: Literal["local"] = "local"
    sources: list[SourceConfig]
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
        return (self.root / relative).resolve()

    @property
    def sha256(self) -> str:
        canonical = json.dumps(self.config.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


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
    return LoadedConfig(config=config, root=path.resolve().parent, raw=raw)
