"""`corpus diff OLD NEW`: documents added, removed and changed per language, written into NEW's
card while NEW stays verifiable and rebuildable."""

from __future__ import annotations

import errno
import json
import os
import shutil
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from corpus.build import build
from corpus.cli import app
from corpus.errors import ReleaseError
from corpus.release.diff import CONTENT, diff_releases, write_changelog
from corpus.release.verify import verify_release
from tests.helpers import CONFIGS, MAGHREB, SAMPLE, release_files
from tests.test_cli import make_runner


def sample_config(folder: Path, version: str, pages: Path, articles: Path) -> Path:
    raw = yaml.safe_load(MAGHREB.read_text(encoding="utf-8"))
    raw["version"] = version
    raw["sources"][0]["path"] = os.path.relpath(pages, folder)
    raw["sources"][1]["path"] = os.path.relpath(articles, folder)
    raw["boilerplate"]["patterns"] = os.path.relpath(CONFIGS / "boilerplate.yaml", folder)
    raw["metadata"]["outlets"] = os.path.relpath(CONFIGS / "outlets.yaml", folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{version}.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """v0.1.0: the sample without two pages, one article edited, one extra article; v0.2.0: the sample."""
    root = tmp_path_factory.mktemp("diff")
    old_pages = root / "old" / "pages"
    shutil.copytree(SAMPLE / "pages", old_pages)
    for gone in ("015_argan-essaouira-en.txt", "021_qamh-janoub.txt"):
        (old_pages / gone).unlink()
    old_articles = root / "old" / "articles.jsonl"
    extra = {
        "url": "https://example.ma/2024/01/01/un-article-retire/",
        "title": "Un article retiré depuis",
        "text": "Cet article a été retiré par son éditeur après la première version du corpus. " * 5,
        "source": "Médias24",
        "date": "2024-01-01",
    }
    lines = (SAMPLE / "articles.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    first = json.loads(lines[0])
    first["text"] += "\nUne phrase que la version suivante a retirée."  # same URL, so the same id
    lines[0] = json.dumps(first, ensure_ascii=False) + "\n"
    lines.append(json.dumps(extra, ensure_ascii=False) + "\n")
    old_articles.write_text("".join(lines), encoding="utf-8")
    out = root / "out"
    old = build(sample_config(root / "cfg", "0.1.0", old_pages, old_articles), out).path
    new_config = sample_config(root / "cfg", "0.2.0", SAMPLE / "pages", SAMPLE / "articles.jsonl")
    new = build(new_config, out).path
    return old, new, new_config


def documents(release: Path) -> dict[str, tuple]:
    """id -> (language, content) read with pyarrow, independently of the code under test."""
    rows = {}
    for path in sorted(release.glob("data/*/*.parquet")):
        for row in pq.read_table(path, columns=["id", *CONTENT]).to_pylist():
            rows[row["id"]] = (row["language"], tuple(row[c] for c in CONTENT))
    return rows


def independent_diff(old: Path, new: Path) -> dict[str, Counter]:
    before, after = documents(old), documents(new)
    counts: dict[str, Counter] = {"added": Counter(), "removed": Counter(), "changed": Counter()}
    for key, (language, content) in after.items():
        if key not in before:
            counts["added"][language] += 1
        elif before[key][1] != content:
            counts["changed"][language] += 1
    for key, (language, _) in before.items():
        if key not in after:
            counts["removed"][language] += 1
    return counts


def test_diff_counts_match_an_independent_count(releases: tuple[Path, Path, Path]) -> None:
    old, new, _ = releases
    result = diff_releases(old, new)
    expected = independent_diff(old, new)
    for kind in ("added", "removed", "changed"):
        got = {r.language: getattr(r, kind) for r in result.languages if getattr(r, kind)}
        assert got == dict(expected[kind]), kind
    # What the fixture did: two pages added back (en, ar), one article gone, one article edited.
    assert sum(expected["added"].values()) == 2
    assert sum(expected["removed"].values()) == 1
    assert sum(expected["changed"].values()) == 1
    assert result.total.documents == len(documents(new))
    assert (result.old_version, result.new_version) == ("v0.1.0", "v0.2.0")


def test_cli_diff_prints_the_table_and_writes_the_card(
    releases: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    old, new, _ = releases
    target = tmp_path / "v0.2.0"
    shutil.copytree(new, target)
    result = make_runner().invoke(app, ["diff", str(old), str(target)])
    assert result.exit_code == 0, result.output
    assert "v0.2.0 compared with v0.1.0" in result.stdout
    card = (target / "README.md").read_text(encoding="utf-8")
    assert "### v0.2.0 (compared with v0.1.0)" in card
    assert "first release" not in card
    expected = independent_diff(old, new)
    total = sum(expected["added"].values()), sum(expected["removed"].values())
    assert f"| **total** | {total[0]} | {total[1]} |" in card
    verify_release(target)  # the manifest follows the card
    once = release_files(target)
    assert make_runner().invoke(app, ["diff", str(old), str(target)]).exit_code == 0
    assert release_files(target) == once  # running it again changes nothing


def test_rebuild_after_diff_is_unchanged(releases: tuple[Path, Path, Path]) -> None:
    old, new, config = releases
    write_changelog(new, diff_releases(old, new))
    before = release_files(new)
    again = build(config, new.parents[1])
    assert again.status == "unchanged"
    assert release_files(new) == before


def test_diff_of_a_folder_that_is_not_a_release(releases: tuple[Path, Path, Path], tmp_path: Path) -> None:
    old, _, _ = releases
    result = make_runner().invoke(app, ["diff", str(old), str(tmp_path)])
    assert result.exit_code == 1
    assert "no manifest.json" in result.stderr


def copy_release(release: Path, folder: Path) -> Path:
    target = folder / release.name
    shutil.copytree(release, target)
    return target


def no_space(path: os.PathLike | str) -> OSError:
    return OSError(errno.ENOSPC, "No space left on device", str(path))


def test_a_manifest_that_cannot_be_written_leaves_new_as_it_was(
    releases: tuple[Path, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new, _ = releases
    target = copy_release(new, tmp_path / "out")
    before = release_files(target)
    real_write_text, real_write_bytes = Path.write_text, Path.write_bytes

    def refuse_manifest(write):  # the disk fills up when the manifest (or a copy of it) is written
        def guarded(self: Path, *args, **kwargs):
            if "manifest.json" in self.name:
                raise no_space(self)
            return write(self, *args, **kwargs)

        return guarded

    monkeypatch.setattr(Path, "write_text", refuse_manifest(real_write_text))
    monkeypatch.setattr(Path, "write_bytes", refuse_manifest(real_write_bytes))
    result = make_runner().invoke(app, ["diff", str(old), str(target)])
    assert result.exit_code == 1, result.output
    assert result.stderr == (
        f"error: {target}: cannot write the changelog (No space left on device); "
        "its card and manifest are unchanged\n"
    )
    monkeypatch.undo()
    assert release_files(target) == before
    verify_release(target)
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]  # no temporary files left


def test_a_failed_manifest_rename_puts_the_card_back(
    releases: tuple[Path, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new, _ = releases
    target = copy_release(new, tmp_path / "out")
    before = release_files(target)
    real_replace = os.replace

    def replace(source, destination):  # the card is replaced, then the manifest's rename fails
        if Path(destination).name == "manifest.json":
            raise no_space(destination)
        return real_replace(source, destination)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(ReleaseError, match="its card and manifest are unchanged"):
        write_changelog(target, diff_releases(old, target))
    monkeypatch.undo()
    assert release_files(target) == before
    verify_release(target)
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]


def rename_dataset(release: Path, name: str) -> None:
    manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    manifest["name"] = name
    (release / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def test_two_different_datasets_are_refused(releases: tuple[Path, Path, Path], tmp_path: Path) -> None:
    _, new, _ = releases
    other = copy_release(new, tmp_path / "other")
    rename_dataset(other, "other-news")
    target = copy_release(new, tmp_path / "out")
    before = release_files(target)
    result = make_runner().invoke(app, ["diff", str(other), str(target)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {other} is dataset other-news and {target} is dataset maghreb-news: "
        "a changelog compares two versions of one dataset\n"
    )
    assert release_files(target) == before


def test_two_builds_of_one_version_are_compared_without_touching_the_card(
    releases: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    _, new, _ = releases
    target = copy_release(new, tmp_path / "elsewhere")
    before = release_files(target)
    result = make_runner().invoke(app, ["diff", str(new), str(target)])
    assert result.exit_code == 0, result.output
    assert "v0.2.0 compared with v0.2.0" in result.stdout
    assert result.stdout.endswith(f"{target} has the same version as {new}: its card is left as it is\n")
    assert release_files(target) == before
    with pytest.raises(ReleaseError, match=r"no changelog against the same version \(v0\.2\.0\)"):
        write_changelog(target, diff_releases(new, target))
