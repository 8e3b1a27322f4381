"""Sources behind URLs (fsspec): listed and read as local files are, named by their URL in lineage.

`file://` URLs take the fsspec path in every process of a build; `memory://` (one process) checks
listing, gzip and the errors. No network: object stores (s3fs, gcsfs) are the same code with
another fsspec file system.
"""

from __future__ import annotations

import gzip
import io
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import fsspec
import polars as pl
import pytest

from corpus.build import Options, build
from corpus.config import SourceConfig
from corpus.errors import SourceError
from corpus.sources import list_files, read_source
from corpus.sources.paths import Remote
from tests.helpers import CONFIGS

SAMPLE = CONFIGS.parent / "corpus" / "sample"


def source(**fields: object) -> SourceConfig:
    return SourceConfig(**{"name": "src", **fields})


def sample_config(folder: Path, pages: str, articles: str) -> Path:
    path = folder / "config.yaml"
    path.write_text(
        "name: urls\nversion: 0.1.0\nsources:\n"
        f"  - {{name: sample-pages, kind: pages, path: '{pages}'}}\n"
        f"  - {{name: sample-articles, kind: jsonl, path: '{articles}',\n"
        "     columns: {url: url, title: title, text: text, source: source, published: date}}\n"
        f"boilerplate: {{patterns: {CONFIGS / 'boilerplate.yaml'}}}\n"
        f"metadata: {{outlets: {CONFIGS / 'outlets.yaml'}, default_timezone: Africa/Casablanca}}\n",
        encoding="utf-8",
    )
    return path


def released(folder: Path, part: str) -> pl.DataFrame:
    files = sorted((folder / "urls" / "v0.1.0").glob(f"{part}/**/*.parquet"))
    return pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed")


def test_a_build_from_file_urls_releases_what_local_paths_release(tmp_path: Path) -> None:
    local = sample_config(tmp_path, str(SAMPLE / "pages"), str(SAMPLE / "articles.jsonl"))
    (tmp_path / "u").mkdir()
    urls = sample_config(tmp_path / "u", (SAMPLE / "pages").as_uri(), (SAMPLE / "articles.jsonl").as_uri())
    build(local, tmp_path / "a", Options(workers=2))
    build(urls, tmp_path / "b", Options(workers=2))
    for part in ("data", "removed"):
        a, b = released(tmp_path / "a", part), released(tmp_path / "b", part)
        assert a.height > 0 and a.height == b.height
        assert b["source_file"].str.starts_with("file:///").all()
        # Lineage names each file by its URL, and nothing else changes.
        paths = [os.path.relpath(u.removeprefix("file://"), tmp_path) for u in b["source_file"]]
        assert paths == a["source_file"].to_list()
        assert a.drop("source_file").equals(b.drop("source_file"))


@pytest.fixture
def memory() -> Iterator[tuple[fsspec.AbstractFileSystem, str]]:
    """An in-memory bucket of its own (fsspec's memory file system is shared by the process)."""
    system = fsspec.filesystem("memory")
    root = f"/bucket-{uuid.uuid4().hex}"
    yield system, root
    if system.exists(root):
        system.rm(root, recursive=True)


def test_urls_list_globs_and_folders_and_read_gzip(memory: tuple[fsspec.AbstractFileSystem, str]) -> None:
    system, root = memory
    system.pipe(f"{root}/day-2/a.jsonl", b'{"text": "deux"}\n')
    system.pipe(f"{root}/day-1/a.jsonl.gz", gzip.compress(b'{"text": "un"}\n{"text": "encore"}\n'))
    system.pipe(f"{root}/day-1/notes.txt", b"not a jsonl file")
    folder = list_files(source(kind="jsonl", path=f"memory://{root}"), Path.cwd())
    assert folder == [Remote(f"memory://{root}/day-1/a.jsonl.gz"), Remote(f"memory://{root}/day-2/a.jsonl")]
    assert list_files(source(kind="jsonl", path=f"memory://{root}/*/a.jsonl*"), Path.cwd()) == folder
    rows = read_source(source(kind="jsonl", path=f"memory://{root}/**/*.jsonl*"), Path.cwd())
    assert rows.select("text", "source_file", "source_line").rows() == [
        ("un", f"memory://{root}/day-1/a.jsonl.gz", 1),
        ("encore", f"memory://{root}/day-1/a.jsonl.gz", 2),
        ("deux", f"memory://{root}/day-2/a.jsonl", 1),
    ]


def test_csv_and_parquet_behind_urls_read_as_local_files(
    tmp_path: Path, memory: tuple[fsspec.AbstractFileSystem, str]
) -> None:
    system, root = memory
    frame = pl.DataFrame({"text": ["Le port de Tanger", "الميناء"], "title": ["a", "b"]})
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    system.pipe(f"{root}/t.parquet", buffer.getvalue())
    (tmp_path / "t.parquet").write_bytes(buffer.getvalue())
    csv = frame.write_csv().encode()
    system.pipe(f"{root}/t.csv", csv)
    (tmp_path / "t.csv").write_bytes(csv)
    for kind in ("parquet", "csv"):
        here = read_source(source(kind=kind, path=f"t.{kind}"), tmp_path)
        there = read_source(source(kind=kind, path=f"memory://{root}/t.{kind}"), tmp_path)
        assert there["source_file"].unique().to_list() == [f"memory://{root}/t.{kind}"]
        assert here.drop("source_file").equals(there.drop("source_file"))


def test_url_problems_name_the_source_or_the_protocol(memory: tuple[fsspec.AbstractFileSystem, str]) -> None:
    _, root = memory
    with pytest.raises(SourceError, match=r"sources\['src'\].path: memory://.* does not exist"):
        list_files(source(kind="jsonl", path=f"memory://{root}/absent.jsonl"), Path.cwd())
    with pytest.raises(SourceError, match="matches no file"):
        list_files(source(kind="jsonl", path=f"memory://{root}/*.jsonl"), Path.cwd())
    with pytest.raises(SourceError, match="fsspec cannot read this protocol"):
        list_files(source(kind="jsonl", path="nosuch://bucket/a.jsonl"), Path.cwd())
    try:
        import s3fs  # noqa: F401
    except ImportError:
        with pytest.raises(SourceError, match="s3fs"):
            list_files(source(kind="jsonl", path="s3://bucket/a.jsonl"), Path.cwd())
