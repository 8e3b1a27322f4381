"""Choosing between Windows-1256 and Windows-1252 for files that are not UTF-8."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from corpus.sources.decode import decode

ORDERS = [["cp1256", "cp1252"], ["cp1252", "cp1256"]]


@pytest.mark.parametrize("candidates", ORDERS)
@pytest.mark.parametrize(
    "text",
    [
        "À Rabat.",
        "ÉTÉ CHAUD À RABAT : LES ÉLÈVES EN VACANCES",
        "Où en est-on ? Çà et là, « À bientôt »",
        "Économie : l'Office chérifien des phosphates (OCP) à Khouribga",
        "Ñandú, Größe, Ålesund et Ærø",
    ],
)
def test_french_and_latin_text_is_cp1252(text: str, candidates: list[str]) -> None:
    assert decode(text.encode("cp1252"), candidates, "fr.txt") == (text, "cp1252")


@pytest.mark.parametrize("candidates", ORDERS)
@pytest.mark.parametrize(
    "text",
    [
        "في",
        "المغرب",
        "قال الوزير إن صندوق النقد الدولي (FMI) يتوقع نموا بنسبة 3 %.",
        "بورصة الدار البيضاء: مؤشر MASI يرتفع، و« أكوا » تتراجع",
        "وقعت الحكومة اتفاقية مع Renault و Stellantis",
    ],
)
def test_arabic_text_is_cp1256(text: str, candidates: list[str]) -> None:
    assert decode(text.encode("cp1256"), candidates, "ar.txt") == (text, "cp1256")


def misread(data: bytes, expected: str, candidates: list[str]) -> bool:
    """Whether `decode` gets the text wrong; when both code pages give the same text (ASCII and
    the accents they share), either label is right and the earlier candidate is taken."""
    text, encoding = decode(data, candidates, "file")
    other = "cp1252" if expected == "cp1256" else "cp1256"
    same = data.decode(expected) == data.decode(other, errors="replace")
    return text != data.decode(expected).replace("\r\n", "\n") or (encoding != expected and not same)


@pytest.mark.realdata
@pytest.mark.parametrize("candidates", ORDERS)
def test_every_arabic_newspaper_is_cp1256(shared_data: Path, candidates: list[str]) -> None:
    files = sorted((shared_data / "ar-newspapers-maghreb").rglob("*.txt"))
    assert len(files) == 634
    assert [f.name for f in files if misread(f.read_bytes(), "cp1256", candidates)] == []


@pytest.mark.realdata
@pytest.mark.parametrize("candidates", ORDERS)
def test_real_french_articles_saved_as_cp1252_are_cp1252(shared_data: Path, candidates: list[str]) -> None:
    texts = []
    for path in sorted((shared_data / "fr-financial-ma" / "scrapes").glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            texts += [row["text"] for row in csv.DictReader(handle) if row.get("text")]
    encodable = []
    for text in dict.fromkeys(texts):
        try:
            encodable.append(text.encode("cp1252"))
        except UnicodeEncodeError:
            continue
    assert len(encodable) > 500
    # Articles with a capital accent (É, À...) or another byte the two code pages read differently.
    telling = [raw for raw in encodable if raw.decode("cp1252") != raw.decode("cp1256")]
    assert len(telling) > 50
    assert [raw[:60] for raw in encodable if misread(raw, "cp1252", candidates)] == []
