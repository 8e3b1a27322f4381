"""Shared pieces for benchmarks: generated corpora and result tables.

Benchmarks are marked `benchmark` and excluded from the default run; run them with
`pytest -m benchmark tests/benchmarks -s`. They need `../shared` beside the checkout.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
GENERATOR = SHARED / "bench" / "make_corpus.py"
# Generated corpora are kept between runs (ignored by git): they take minutes at 100k documents.
CACHE = ROOT / ".bench-cache"
CONFIGS = ROOT / "configs"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.benchmark)


def make_corpus(docs: int, fmt: str = "jsonl", seed: int = 11, **options: float) -> Path:
    """A labelled corpus from the shared generator, cached by its arguments."""
    if not GENERATOR.is_file():
        pytest.skip("../shared/bench/make_corpus.py is absent: benchmarks need the shared folder")
    extra = [f"--{k.replace('_', '-')}={v}" for k, v in sorted(options.items())]
    name = "-".join([f"{docs}", fmt, f"s{seed}", *[e.strip("-").replace("=", "") for e in extra]])
    out = CACHE / name
    if not (out / "labels.jsonl").is_file():
        out.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, str(GENERATOR), "--docs", str(docs), "--out", str(out)]
        subprocess.run([*command, "--format", fmt, "--seed", str(seed), *extra], check=True)
    return out


def corpus_config(
    folder: Path, articles: Path, name: str = "bench", recurring: bool = True, **dedup: object
) -> Path:
    """A config reading make_corpus JSONL (a file, folder or glob) with the repository's
    patterns and outlets; `recurring=False` turns the corpus-level furniture pass off."""
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "name": name,
        "version": "0.1.0",
        "sources": [
            {
                "name": "bench",
                "kind": "jsonl",
                "path": os.path.relpath(articles, folder),
                "columns": {
                    "url": "url",
                    "title": "title",
                    "text": "text",
                    "source": "source",
                    "published": "date",
                },
            }
        ],
        "boilerplate": {"patterns": os.path.relpath(CONFIGS / "boilerplate.yaml", folder)},
        "metadata": {"outlets": os.path.relpath(CONFIGS / "outlets.yaml", folder)},
        "dedup": dict(dedup),
    }
    if not recurring:
        config["boilerplate"]["recurring"] = False
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def corpus_build_command(config: Path, out: Path, quiet: bool = True) -> list[str]:
    """`corpus build --quiet` as a user runs it: the installed script beside this interpreter
    (without `--quiet` it prints its summary, stages included: see `stage_seconds`)."""
    script = Path(sys.executable).with_name("corpus")
    if not script.is_file():
        pytest.skip(f"no corpus script beside {sys.executable}: pip install -e . first")
    return [str(script), "build", str(config), "--out", str(out), *(["--quiet"] if quiet else [])]


def stage_seconds(log: Path) -> dict[str, float]:
    """The wall seconds of each stage from a build's printed summary (its "stages" table)."""
    found: dict[str, float] = {}
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("stages (wall time)")), None)
    for line in lines[start:] if start is not None else []:
        cells = [cell.strip() for cell in line.strip("│ ").split("│")]
        if len(cells) == 2 and cells[1].replace(".", "", 1).isdigit():
            found[cells[0]] = float(cells[1])
        elif line.startswith("└"):
            break
    return found


def print_table(title: str, header: list[str], rows: list[list[object]]) -> None:
    """A plain Markdown table on stdout (visible with -s), so results paste into notes."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(header)]
    print(f"\n{title}")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
