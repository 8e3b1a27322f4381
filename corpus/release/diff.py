"""Compare two releases: documents added, removed and changed per language.

A document is the same document when its `id` is the same (ids are stable across rebuilds);
it changed when its content (`CONTENT` columns) differs. Lineage columns (which scrape, which
line) are not content: a re-scrape with the same text is not a change. The result becomes a
section of the newer card, and the manifest's entry for the card is updated with it, so the
release still verifies (both files are replaced together: a failure leaves both as they were).
Only two versions of one dataset are compared; two folders of the same version are compared but
the card is left alone (a version's files never change after it is built).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from corpus.errors import ReleaseError
from corpus.release.folder import MANIFEST, json_bytes, read_manifest, replace_files, sha256_file, write_json

# What a reader of the text sees; a difference in any of these makes a document "changed".
CONTENT = ["url", "title", "text", "source", "country", "published_at", "published_date", "language"]
CARD = "README.md"
START, END = "<!-- changelog:start -->", "<!-- changelog:end -->"


@dataclass(frozen=True)
class LanguageDiff:
    language: str
    added: int
    removed: int
    changed: int
    documents: int  # in the newer release


@dataclass(frozen=True)
class ReleaseDiff:
    old_version: str
    new_version: str
    languages: list[LanguageDiff]

    @property
    def same_version(self) -> bool:
        """Two builds of one version (e.g. on two machines): compared, but no changelog is written."""
        return self.old_version == self.new_version

    @property
    def total(self) -> LanguageDiff:
        rows = self.languages
        return LanguageDiff(
            "total",
            sum(r.added for r in rows),
            sum(r.removed for r in rows),
            sum(r.changed for r in rows),
            sum(r.documents for r in rows),
        )


def read_documents(release: Path) -> pl.DataFrame:
    """`id`, `language` and a content hash of every released document (one process, one hash)."""
    files = sorted((release / "data").glob("*/*.parquet"))
    if not files:
        return pl.DataFrame(schema={"id": pl.String, "language": pl.String, "content": pl.UInt64})
    return (
        pl.scan_parquet(files)
        .select("id", "language", pl.struct(CONTENT).hash(seed=0).alias("content"))
        .collect()
    )


def diff_releases(old: Path, new: Path) -> ReleaseDiff:
    """Documents added, removed and changed per language (removed counted in the old language)."""
    if old.resolve() == new.resolve():
        raise ReleaseError(f"{old} and {new} are the same release")
    old_manifest, new_manifest = read_manifest(old), read_manifest(new)
    names = old_manifest.get("name"), new_manifest.get("name")
    if names[0] != names[1]:
        raise ReleaseError(
            f"{old} is dataset {names[0]} and {new} is dataset {names[1]}: "
            "a changelog compares two versions of one dataset"
        )
    before, after = read_documents(old), read_documents(new)
    joined = after.join(before, on="id", how="full", suffix="_old", coalesce=True)
    added = joined.filter(pl.col("content_old").is_null()).group_by("language").len(name="added")
    gone = joined.filter(pl.col("content").is_null()).group_by(language="language_old").len(name="removed")
    changed = (
        joined.filter(pl.col("content").is_not_null() & pl.col("content_old").is_not_null())
        .filter(pl.col("content") != pl.col("content_old"))
        .group_by("language")
        .len(name="changed")
    )
    documents = after.group_by("language").len(name="documents")
    languages = pl.concat([f.select("language") for f in (added, gone, changed, documents)]).unique()
    table = (
        languages.join(added, on="language", how="left")
        .join(gone, on="language", how="left")
        .join(changed, on="language", how="left")
        .join(documents, on="language", how="left")
        .fill_null(0)
        .sort("language")
    )
    rows = [LanguageDiff(**row) for row in table.iter_rows(named=True)]
    return ReleaseDiff(str(old_manifest.get("version")), str(new_manifest.get("version")), rows)


def changelog_section(diff: ReleaseDiff) -> str:
    """The markdown the card shows between its changelog markers."""
    lines = [
        f"### {diff.new_version} (compared with {diff.old_version})",
        "",
        "| language | added | removed | changed | documents |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in [*diff.languages, diff.total]:
        name = "**total**" if r.language == "total" else f"`{r.language}`"
        lines.append(f"| {name} | {r.added} | {r.removed} | {r.changed} | {r.documents} |")
    lines += ["", "Same `id`, different title, text, URL, outlet, date or language counts as changed."]
    return "\n".join(lines)


def replace_changelog(card: str, section: str, where: Path) -> str:
    start, end = card.find(START), card.find(END)
    if start < 0 or end < start:
        raise ReleaseError(f"{where}: no changelog markers ({START} ... {END}) in the card")
    return card[: start + len(START)] + "\n" + section + "\n" + card[end:]


def write_changelog(new: Path, diff: ReleaseDiff) -> None:
    """Put the diff into NEW's card and re-hash the card in NEW's manifest (same bytes every run).

    Card and manifest are replaced together (see `replace_files`): whatever fails, NEW verifies.
    """
    if diff.same_version:
        raise ReleaseError(f"{new}: no changelog against the same version ({diff.new_version})")
    manifest = read_manifest(new)
    path = new / CARD
    card = replace_changelog(path.read_text(encoding="utf-8"), changelog_section(diff), path).encode("utf-8")
    manifest["files"][CARD] = {"sha256": hashlib.sha256(card).hexdigest(), "bytes": len(card)}
    try:
        replace_files(new, {CARD: card, MANIFEST: json_bytes(manifest)})
    except OSError as exc:
        raise ReleaseError(
            f"{new}: cannot write the changelog ({exc.strerror or exc}); its card and manifest are unchanged"
        ) from exc


def carry_changelog(existing: Path, staging: Path) -> None:
    """Copy the changelog of an existing release into a rebuild of it, so that a rebuild of a
    release `corpus diff` has written into is byte-identical to it (and not a different release)."""
    old_card, new_card = existing / CARD, staging / CARD
    if not (old_card.is_file() and new_card.is_file() and (existing / "manifest.json").is_file()):
        return
    text = old_card.read_text(encoding="utf-8")
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        return
    section = text[start + len(START) : end].strip("\n")
    staged = new_card.read_text(encoding="utf-8")
    if START not in staged or section in staged:
        return
    new_card.write_text(replace_changelog(staged, section, new_card), encoding="utf-8")
    manifest = read_manifest(staging)
    manifest["files"][CARD] = {"sha256": sha256_file(new_card), "bytes": new_card.stat().st_size}
    write_json(staging / "manifest.json", manifest)
