"""Undo text that was decoded with the wrong code page (mojibake), per document.

Three round trips cover this corpus, each accepted only when its result is clean:
UTF-8 read as Windows-1256 ("ط§ظ„" for "ال"), Windows-1256 read as Windows-1252/Latin-1
("ÇáÍßæãÉ" for "الحكومة"), and UTF-8 read as Windows-1252/Latin-1 ("Ã©" for "é"). A whole-text
round trip is tried first (one encode and one decode in C); ftfy (whose heuristics handle mixed
and partly lossy text) is the fallback for Latin mojibake only, because it does not know the two
Arabic cases. HTML entities are unescaped first, as ftfy does ("10Î&frac14;s" is mojibake too).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import ftfy
import ftfy.bad_codecs  # registers the sloppy-windows-1252 codec
import ftfy.badness

# What Windows-1256 shows for each byte, as a lookup for building character classes.
_CP1256 = bytes(range(256)).decode("cp1256")
_SLOPPY_1252 = bytes(range(256)).decode("sloppy-windows-1252")


def _chars(table: str, low: int, high: int, keep: Callable[[str], bool] = lambda c: True) -> str:
    return "".join(re.escape(table[b]) for b in range(low, high + 1) if keep(table[b]))


def _arabic(char: str) -> bool:
    return "\u0600" <= char <= "\u06ff"


# UTF-8 read as cp1256: a lead byte of an Arabic letter (D8-DB: "ط", "ظ", "ع", "غ") then a
# continuation byte. Continuations real Arabic puts after those letters (، ؛ ؟ « » “ ” … NBSP,
# ZWNJ/ZWJ) are left out of the hint, so "فقط،" and "تسايتونغ”" are not flagged.
_CONT_1256 = _chars(_CP1256, 0x80, 0xBF)
_TYPOGRAPHY = "،؛؟«»‘’“”…–—•\xa0\u200c\u200d"
_HINT_UTF8_AS_1256 = "[طظعغ][" + _chars(_CP1256, 0x80, 0xBF, lambda c: c not in _TYPOGRAPHY) + "]"
# Runs of two or more whole UTF-8 sequences as cp1256 shows them (a damaged word has at least two
# letters), for text only partly damaged.
_LEAD2_1256, _LEAD3_1256 = _chars(_CP1256, 0xC2, 0xDF), _chars(_CP1256, 0xE0, 0xEF)
_RUN_UTF8_AS_1256 = re.compile(f"(?:[{_LEAD2_1256}][{_CONT_1256}]|[{_LEAD3_1256}][{_CONT_1256}]{{2}}){{2,}}")

# cp1256 read as cp1252 or Latin-1: the characters those show for bytes that cp1256 maps to
# Arabic letters, marks, tatweel and Arabic punctuation. French accents (é, à, ç...) sit at the
# same bytes in both code pages and are not in the class.
_ARABIC_BYTES = [b for b in range(0x80, 0x100) if _arabic(_CP1256[b])]
_AS_LATIN = "".join(re.escape(_SLOPPY_1252[b]) + re.escape(chr(b)) for b in _ARABIC_BYTES)
_HINT_1256_AS_1252 = f"[{_AS_LATIN}]{{3}}"
_RUN_1256_AS_1252 = re.compile(f"[{_AS_LATIN}]{{2,}}")
_TO_1256 = {ord(_SLOPPY_1252[b]): _CP1256[b] for b in _ARABIC_BYTES} | {b: _CP1256[b] for b in _ARABIC_BYTES}

# UTF-8 read as cp1252/Latin-1: a lead byte shown as a Latin-1 letter followed by a continuation
# byte shown the same way ("Ã©", "â€™", "Ã" + U+FFFD where `errors="replace"` ate the byte). Leads
# that are French letters (é, à, Ç...) are left out but for "â€": "café :" with a no-break space
# and "été »" are clean.
_HINT_UTF8_AS_1252 = (
    r"[àâ×][\u0080-\u009f\u00a1-\u00aa\u00ac-\u00af\u00b1-\u00ba\u00bc-\u00bf\u0152\u0153\u0160\u0161"
    r"\u0178\u017d\u017e\u0192\u02c6\u02dc\u2020-\u2022\u2030\u2039\u203a\u20ac\u2122\ufffd]"
    r"|[ÂÃÄÅÆÌÍÎÏÐÑÒÓÔÕÖØÙÚÛÜÝÞßáãäåæìíîï][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc"
    r"\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122\ufffd]|[\u0080-\u009f]"
)
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
# Markup where entities may be meant literally (ftfy makes the same exception).
_MARKUP = re.compile(r"<[A-Za-z/!]")

# Characters that clean French, Arabic, Spanish, English and Tamazight news is made of. A document
# with anything else (Cyrillic or Mac Roman mojibake, box drawing...) goes to the slow path too,
# where ftfy's own detector decides; clean documents almost never leave this set.
_PLAIN = (
    # ASCII with C0 controls, French/Spanish letters and Latin-1 symbols (not the mojibake leads
    # Ã, Å, Ð, Ø...), ×, combining accents, modifier and phonetic letters (ᵉ, ʳ), super/subscripts,
    # arrows, common math, enclosed numbers, shapes and dingbats, emoji and variation selectors.
    r"\x00-\x7f\u00a0-\u00ac\u00ae-\u00c2\u00c4\u00c6-\u00cb\u00ce\u00cf\u00d1\u00d4\u00d6\u00d7"
    r"\u00d9\u00db\u00dc\u00e0-\u00e2\u00e4\u00e6-\u00ef\u00f1\u00f3\u00f4\u00f6\u00f9-\u00fc\u00ff"
    r"\u0152\u0153\u0178\u02b0-\u02c5\u0300-\u036f\u1d00-\u1dbf\u2070-\u209f\u2190-\u21ff\u2212"
    r"\u223c\u2248\u2260\u2264\u2265\u2460-\u24ff\u25a0-\u25c9\u25cb-\u27bf\u2b00-\u2bff\ufe00-\ufe0f"
    r"\U0001f000-\U0001faff"
    # Arabic, Tifinagh, the spaces, joiners, marks and punctuation of U+2000-U+206F, €, ™, the
    # presentation and width forms hygiene maps to letters.
    r"\u0600-\u06ff\u2d30-\u2d7f\u2000-\u206f\u20ac\u2122\u3000\ufb00-\ufdff\ufe70-\ufeff\uff00-\uffef"
)
_ANY_ENTITY = r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});"
# The fast path: a document that matches none of this cannot hold mojibake or an entity.
SUSPECT = "|".join([f"[^{_PLAIN}]", _HINT_UTF8_AS_1256, _HINT_1256_AS_1252, _HINT_UTF8_AS_1252, _ANY_ENTITY])

_ARABIC_LETTER = "\u0621-\u063a\u0641-\u064a\u066e-\u06d3\u06fa-\u06ff"
_LATIN_LETTER = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f"
# Signs that a decoding is wrong: an Arabic letter glued to a Latin letter or to a symbol that
# Arabic text does not put inside words (Latin-1 and Windows-1252 symbols, C1 controls).
_JUNK = (
    "\u0080-\u009f\u00a1-\u00aa\u00ac-\u00ba\u00bc-\u00bf\u0152\u0153\u0160\u0161\u0178"
    "\u017d\u017e\u0192\u02c6\u02dc\u2020-\u2022\u2030\u2039\u203a\u2122"
)
_MIXED_WORD = re.compile(
    f"[{_ARABIC_LETTER}][{_LATIN_LETTER}{_JUNK}]|[{_LATIN_LETTER}{_JUNK}][{_ARABIC_LETTER}]"
)
# When `errors="replace"` ate one continuation byte, the character it most likely belonged to in
# news text: ” (E2 80 9D), a combining acute (CC 81, decomposed "é"), emoji variation selector
# (EF B8 8F), Arabic ف (D9 81). Byte shown as the sloppy-windows-1252 character, so the round
# trip restores it.
_LOST_BYTE_GUESSES = {"â€\ufffd": "â€\x9d", "Ì\ufffd": "Ì\x81", "ï¸\ufffd": "ï¸\x8f", "Ù\ufffd": "Ù\x81"}
_LOST_BYTE = re.compile("|".join(map(re.escape, _LOST_BYTE_GUESSES)))

_FTFY = ftfy.TextFixerConfig(
    # Only ftfy's encoding repair: entities, spaces, controls, ligatures, widths, line breaks and
    # NFC are done for every document by our own steps, so damaged and clean copies end up equal.
    unescape_html=False,
    remove_terminal_escapes=False,
    fix_latin_ligatures=False,
    fix_character_width=False,
    # French « », ’ and “ ” are correct typography.
    uncurl_quotes=False,
    fix_line_breaks=False,
    remove_control_chars=False,
    normalization=None,
    explain=False,
)


def mend(text: str, use_ftfy: bool = True) -> tuple[str, list[str]]:
    """Unescape entities and undo mojibake in one document; the names of the fixes that applied."""
    names: list[str] = []
    for name, fix in (
        ("html_entities", _unescape),
        ("mojibake.utf8_as_cp1256", _utf8_as_cp1256),
        ("mojibake.cp1256_as_cp1252", _cp1256_as_cp1252),
        ("mojibake.utf8_as_cp1252", _utf8_as_cp1252),
    ):
        fixed = fix(text)
        if fixed != text:
            names.append(name)
            text = fixed
    if _LOST_BYTE.search(text):
        guessed = _utf8_as_cp1252(_LOST_BYTE.sub(lambda m: _LOST_BYTE_GUESSES[m.group()], text))
        if "\ufffd" not in guessed or guessed.count("\ufffd") < text.count("\ufffd"):
            names.append("mojibake.lost_byte_guessed")
            text = guessed
    if use_ftfy and re.search(f"[^{_PLAIN}]|{_HINT_UTF8_AS_1252}", text):
        fixed = ftfy.fix_encoding(text, _FTFY)
        if fixed != text:
            names.append("mojibake.ftfy")
            text = fixed
    return text, names


def _unescape(text: str) -> str:
    if "&" not in text or _MARKUP.search(text):
        return text
    for _ in range(4):  # "&amp;eacute;" is escaped twice: unescape to the end, so repair is idempotent
        fixed = _ENTITY.sub(_entity, text)
        if fixed == text:
            break
        text = fixed
    return text


def _entity(match: re.Match[str]) -> str:
    value = html.unescape(match.group())
    return match.group() if "\ufffd" in value or (value.startswith("&") and len(value) > 1) else value


def _utf8_as_cp1256(text: str) -> str:
    if not re.search(_HINT_UTF8_AS_1256, text):
        return text
    try:
        fixed = text.encode("cp1256").decode("utf-8")
    except UnicodeError:
        fixed = _RUN_UTF8_AS_1256.sub(_run_utf8_as_cp1256, text)
    return fixed if _clean_arabic(fixed, text) else text


def _run_utf8_as_cp1256(match: re.Match[str]) -> str:
    try:
        fixed = match.group().encode("cp1256").decode("utf-8")
    except UnicodeError:
        return match.group()
    return fixed if any(_arabic(c) for c in fixed) else match.group()


def _cp1256_as_cp1252(text: str) -> str:
    if not re.search(_HINT_1256_AS_1252, text):
        return text
    for codec in ("sloppy-windows-1252", "latin-1"):
        try:
            fixed = text.encode(codec).decode("cp1256")
        except UnicodeError:
            continue
        if _clean_arabic(fixed, text):
            return fixed
    # Mixed text: convert only runs of such characters, if they are most of the document's letters.
    runs = sum(len(m) for m in _RUN_1256_AS_1252.findall(text))
    letters = sum(c.isalpha() for c in text)
    if runs < 0.5 * letters:
        return text
    fixed = _RUN_1256_AS_1252.sub(lambda m: m.group().translate(_TO_1256), text)
    return fixed if _clean_arabic(fixed, text) else text


def _utf8_as_cp1252(text: str) -> str:
    """Whole-text round trips through Windows-1252 then Latin-1, repeated for double mojibake."""
    for _ in range(3):
        # ftfy's own detector decides whether the text is damaged at all ("É’" is not).
        if not re.search(_HINT_UTF8_AS_1252, text) or not ftfy.badness.is_bad(text):
            break
        for codec in ("sloppy-windows-1252", "latin-1"):
            try:
                fixed = text.encode(codec).decode("utf-8")
            except UnicodeError:
                continue
            break
        else:
            break
        text = fixed
    return text


def _clean_arabic(fixed: str, damaged: str) -> bool:
    """The round trip gave Arabic, left no trace of either Arabic mojibake, and at most a quarter
    of the damaged text's oddities (real Arabic text glues a few "·" or Latin names to words)."""
    return (
        re.search(f"[{_ARABIC_LETTER}]", fixed) is not None
        and re.search(_HINT_UTF8_AS_1256, fixed) is None
        and re.search(_HINT_1256_AS_1252, fixed) is None
        and fixed.count("\ufffd") <= damaged.count("\ufffd")
        and 4 * _oddities(fixed) <= _oddities(damaged)
    )


def _oddities(text: str) -> int:
    """Arabic letters glued to Latin letters or symbols, and runs that look like Arabic mojibake."""
    hints = len(re.findall(_HINT_UTF8_AS_1256, text)) + len(re.findall(_HINT_1256_AS_1252, text))
    return len(_MIXED_WORD.findall(text)) + hints
