"""Unicode hygiene as polars expressions: one named rule per kind of invisible or variant character.

Decisions per character: bidi marks and embeddings, zero-width space, word joiner, soft hyphen and
BOM are dropped (scrapers leave them; they split or glue tokens invisibly); ZWNJ is kept (it changes
how Persian and some Arabic words are written); ZWJ is kept only inside emoji sequences, where it
builds one glyph. Presentation forms, Latin ligatures and full-width forms become the letters they
draw (NFKC of those characters only: NFKC of the whole text would also rewrite ², ½ and ’).
Tatweel is elongation for justification, not a letter.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Callable
from typing import NamedTuple

import polars as pl

from corpus.config import RepairConfig


class Rule(NamedTuple):
    """A named hygiene rule: the characters that trigger it and the expression that applies it."""

    name: str
    trigger: str
    apply: Callable[[pl.Expr], pl.Expr]


LINE_BREAKS = r"\r\n?|[\u2028\u2029]"
# ANSI colour codes pasted from terminals, then C0/C1 controls other than tab and newline.
TERMINAL_ESCAPES = r"\x1b\[[0-9;?]*[A-Za-z]"
CONTROLS = r"[\x00-\x08\x0b-\x1f\x7f-\x9f]"
# Bidi marks, embeddings and isolates; zero-width space, word joiner and invisible operators;
# soft hyphen; BOM; Mongolian vowel separator.
INVISIBLE = r"[\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069\u200b\u2060-\u2064\u00ad\ufeff\u180e]"
# ZWJ not preceded by a pictograph, variation selector or skin tone (the emoji sequences).
STRAY_ZWJ = r"(^|[^\p{So}\x{FE0F}\x{1F3FB}-\x{1F3FF}\x{200D}])\x{200D}+"
EXOTIC_SPACES = r"[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]"
TATWEEL = "\u0640"
# Latin ligatures and digraphs (ĳ, ŉ, ǆ, ǉ, ǌ, ǳ, FB00-FB06), Arabic presentation forms A and B,
# half- and full-width forms.
COMPATIBILITY_RANGES = [
    (0x0132, 0x0133),
    (0x0149, 0x0149),
    (0x01C4, 0x01CC),
    (0x01F1, 0x01F3),
    (0xFB00, 0xFB06),
    (0xFB50, 0xFDFF),
    (0xFE70, 0xFEFE),
    (0xFF00, 0xFFEF),
]


@functools.cache
def compatibility_table() -> tuple[list[str], list[str]]:
    """Each presentation or width form and the characters it stands for."""
    forms, letters = [], []
    for low, high in COMPATIBILITY_RANGES:
        for point in range(low, high + 1):
            char = chr(point)
            mapped = unicodedata.normalize("NFKC", char)
            if mapped != char:
                forms.append(char)
                letters.append(mapped)
    return forms, letters


def rules(section: RepairConfig) -> list[Rule]:
    """The hygiene rules the config turns on, in the order they must run (NFC last)."""
    forms, letters = compatibility_table()
    chosen = [
        Rule("line_breaks", r"[\r\u2028\u2029]", lambda e: e.str.replace_all(LINE_BREAKS, "\n")),
        Rule(
            "controls",
            CONTROLS,
            lambda e: e.str.replace_all(TERMINAL_ESCAPES, "").str.replace_all(CONTROLS, ""),
        ),
    ]
    if section.strip_bidi_controls:
        chosen.append(
            Rule(
                "invisible",
                INVISIBLE[:-1] + r"\u200d]",
                lambda e: e.str.replace_all(INVISIBLE, "").str.replace_all(STRAY_ZWJ, "${1}"),
            )
        )
    if section.normalize_spaces:
        chosen.append(Rule("spaces", EXOTIC_SPACES, lambda e: e.str.replace_all(EXOTIC_SPACES, " ")))
    if section.presentation_forms:
        chosen.append(
            Rule("presentation_forms", _char_class(forms), lambda e: e.str.replace_many(forms, letters))
        )
    if section.strip_tatweel:
        chosen.append(Rule("tatweel", TATWEEL, lambda e: e.str.replace_all(TATWEEL, "", literal=True)))
    if section.uncurl_quotes:
        chosen.append(
            Rule(
                "quotes",
                "[‘’‚‛“”„‟]",
                lambda e: e.str.replace_all("[‘’‚‛]", "'").str.replace_all("[“”„‟]", '"'),
            )
        )
    chosen.append(Rule("nfc", _nfc_unstable(), lambda e: e.str.normalize("NFC")))
    return chosen


def needs_hygiene(chosen: list[Rule]) -> str:
    """Any character some rule may change: a text without one is left alone."""
    return "|".join(rule.trigger for rule in chosen)


@functools.cache
def _nfc_unstable() -> str:
    """Where NFC may change text: a singleton (Å for Å), the second half of a composition (é as
    e + U+0301, آ as ا + U+0653), or two combining marks in a row (which NFC may reorder). A
    single haraka after a letter (أيضاً) is already NFC, so most Arabic text skips the rule."""
    changing, marks = set(), set()
    for point in range(0x30000):
        if 0xD800 <= point <= 0xDFFF:
            continue
        char = chr(point)
        if unicodedata.combining(char):
            marks.add(char)
        if unicodedata.normalize("NFC", char) != char:
            changing.add(char)
        parts = unicodedata.decomposition(char).split()
        if len(parts) == 2 and not parts[0].startswith("<"):
            changing.add(chr(int(parts[1], 16)))  # a character that composes with the one before it
    changing |= {chr(p) for p in (*range(0x1161, 0x1176), *range(0x11A8, 0x11C3))}  # Hangul jamo
    mark = _char_class(sorted(marks))
    return f"{_char_class(sorted(changing))}|{mark}{mark}"


def _char_class(chars: list[str]) -> str:
    points = sorted({ord(c) for c in chars})
    return "[" + "".join(_range(low, high) for low, high in _ranges(points)) + "]"


def _ranges(points: list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for point in points:
        if out and point == out[-1][1] + 1:
            out[-1] = (out[-1][0], point)
        else:
            out.append((point, point))
    return out


def _range(low: int, high: int) -> str:
    return f"\\x{{{low:X}}}" if low == high else f"\\x{{{low:X}}}-\\x{{{high:X}}}"
