"""Telling UTF-8 files from others, and choosing between Windows-1256 and Windows-1252 for files
that are not UTF-8."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corpus.sources.decode import Utf8Check, decode

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


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _checked(data: bytes, cuts: list[int]) -> bool:
    check = Utf8Check()
    for low, high in itertools.pairwise([0, *sorted(c % (len(data) + 1) for c in cuts), len(data)]):
        check.feed(data[low:high])
    return check.done()


# Valid text cut inside its characters, and what Python's strict codec refuses: a surrogate, an
# overlong form, a code point above U+10FFFF, a lone continuation byte, a character cut at the end.
BYTES = st.one_of(
    st.text().map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.binary(),
    st.lists(
        st.sampled_from(
            [
                b"a",
                "é".encode(),
                "ش".encode(),
                "😀".encode(),
                b"\xed\xa0\x80",
                b"\xc0\xaf",
                b"\xf4\x90\x80\x80",
                b"\x80",
                b"\xe2\x82",
            ]
        )
    ).map(b"".join),
)


@given(BYTES, st.lists(st.integers(min_value=0), max_size=6))
def test_the_block_by_block_utf8_check_agrees_with_the_strict_codec(data: bytes, cuts: list[int]) -> None:
    assert _checked(data, cuts) is _utf8(data)
