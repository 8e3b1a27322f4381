"""Shared pieces for benchmarks: generated corpora and result tables.

Benchmarks are marked `benchmark` and excluded from the default run; run them with
`pytest -m benchmark tests/benchmarks -s`. They need `../shared` beside the checkout.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
GENERATOR = SHARED / "bench" / "make_corpus.py"
# Generated corpora are kept between runs (ignored by git): they take minutes at 100k documents.
CACHE = ROOT / ".bench-cache"


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


def print_table(title: str, header: list[str], rows: list[list[object]]) -> None:
    """A plain Markdown table on stdout (visible with -s), so results paste into notes."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(header)]
    print(f"\n{title}")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
