"""Repair on real text: ftfy's own labelled cases, clean scraped articles, the Arabic newspapers."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import ftfy.fixes
import pytest

from corpus.config import RepairConfig
from corpus.repair import repair
from corpus.sources.decode import decode
from tests.helpers import frame

pytestmark = pytest.mark.realdata


def comparable(text: str) -> str:
    # French quotes are kept on purpose (ftfy's labels straighten them): compare without quote style.
    return ftfy.fixes.uncurl_quotes(text)


def test_ftfy_cases_expected_to_pass_still_pass(shared_data: Path) -> None:
    path = shared_data / "ftfy" / "test_cases.json"
    if not path.is_file():
        pytest.skip(f"{path.name} is absent from the shared data")
    cases = [case for case in json.loads(path.read_text(encoding="utf-8")) if case["expect"] == "pass"]
    assert len(cases) > 100
    ours = repair(frame(text=[c["original"] for c in cases]), RepairConfig())["text"].to_list()
    # The labels after the hygiene we declare (spaces, controls, NFC...), mojibake repair off.
    labels = repair(frame(text=[c["fixed"] for c in cases]), RepairConfig(mojibake=False))["text"].to_list()
    failures = []
    for case, got, label in zip(cases, ours, labels, strict=True):
        # Where ftfy's label has U+FFFD for a byte that was lost, our guess of that byte is accepted.
        pattern = re.escape(comparable(label)).replace("\ufffd", ".")
        if not re.fullmatch(pattern, comparable(got), re.DOTALL):
            failures.append((case["label"], got, label))
    assert failures == []


@pytest.fixture(scope="module")
def real_texts(shared_data: Path) -> dict[str, list[str]]:
    """Clean real articles: French scrapes (UTF-8 CSV) and the Arabic newspapers (cp1256 files)."""
    french = []
    for path in sorted((shared_data / "fr-financial-ma" / "scrapes").glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            french += [row["text"] for row in csv.DictReader(handle) if row.get("text")]
    with (shared_data / "fr-tn-mosaiquefm" / "MosaiqueFM_v0.csv").open(encoding="utf-8", newline="") as f:
        french += [row["Article"] for row in csv.DictReader(f) if row.get("Article")]
    files = sorted((shared_data / "ar-newspapers-maghreb").rglob("*.txt"))
    arabic = [decode(p.read_bytes(), ["cp1256", "cp1252"], p.name)[0] for p in files]
    return {"fr": french, "ar": arabic}


@pytest.mark.parametrize("language", ["fr", "ar"])
def test_clean_real_articles_change_only_by_declared_hygiene(
    real_texts: dict[str, list[str]], language: str
) -> None:
    texts = real_texts[language]
    rows = frame(text=texts)
    repaired = repair(rows, RepairConfig())
    hygiene_only = repair(rows, RepairConfig(mojibake=False))
    assert repaired["text"].to_list() == hygiene_only["text"].to_list()
    names = set(repaired["repairs"].explode().drop_nulls())
    assert names and all(name.startswith("hygiene.") for name in names), names
    # Hygiene only removes or swaps invisible and variant characters: the visible letters stay.
    letters = re.compile(r"[^\w]|_|\u0640")
    for before, after in zip(texts, repaired["text"].to_list(), strict=True):
        assert len(letters.sub("", after)) >= len(letters.sub("", before)) - 5


def test_arabic_newspapers_have_no_replacement_character(real_texts: dict[str, list[str]]) -> None:
    repaired = repair(frame(text=real_texts["ar"]), RepairConfig())
    assert repaired.height == 634
    text = repaired["text"]
    for unwanted in ("\ufffd", "\r", "\x00", "\xa0", "\u200f", "\u0640"):
        assert text.str.contains(unwanted, literal=True).sum() == 0, unwanted
    assert (repaired["removed_reason"] == "unrecoverable_encoding").sum() == 22
