"""Turn input bytes into text, recording the encoding used.

UTF-8 is tried first (strictly). Otherwise each configured single-byte candidate is decoded and
scored by how many letters look misplaced; the least damaged wins, ties go to the earlier
candidate. We score ourselves rather than ask charset-normalizer because it gives no answer at
all for about a third of the Windows-1256 Arabic newspapers in our test data.

What tells cp1256 from cp1252: French accents (é, à, ç...) sit at the same bytes in both, so only
the other high bytes decide. Read the wrong way, Arabic becomes words of Latin-1 letters with no
ASCII letter ("ÇáÍßæãÉ"), and French capitals become Arabic letters glued to Latin ones ("ةtat")
or standing alone where French has "À" ("ہ Rabat"). A lone accented Latin letter is a French
word ("à"), a lone Arabic letter in Latin text is not.
"""

from __future__ import annotations

import codecs
import re

from corpus.errors import SourceError

_ARABIC = "\u0621-\u063a\u0641-\u064a\u066e-\u06d3\u06fa-\u06ff"
_ARABIC_MARKS = "\u064b-\u065f\u0670\u0640"
_LATIN_HIGH = "\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f"
# An Arabic letter with no Arabic letter or mark on either side (glued to Latin, or alone).
_STRAY_ARABIC = re.compile(f"(?<![{_ARABIC}{_ARABIC_MARKS}])[{_ARABIC}](?![{_ARABIC}{_ARABIC_MARKS}])")
# A haraka (Arabic vowel mark) after anything but an Arabic letter: "Calviٌo" for "Calviño".
_STRAY_MARK = re.compile(f"(?<![{_ARABIC}{_ARABIC_MARKS}])[\u064b-\u065f\u0670]")
# Two or more accented Latin letters with no ASCII letter around them.
_LATIN_WITHOUT_ASCII = re.compile(f"(?<![A-Za-z])[{_LATIN_HIGH}]{{2,}}(?![A-Za-z])")
# Control characters from C1 and replacement characters: bytes the code page does not know.
_UNKNOWN = re.compile("[\x80-\x9f\ufffd]")


def _misplaced_letters(text: str) -> int:
    latin = sum(len(m) for m in _LATIN_WITHOUT_ASCII.findall(text))
    # A stray Arabic letter or mark counts double: French has "çà" (two accents, no ASCII letter) but
    # Arabic text never glues a letter to a Latin word.
    stray = len(_STRAY_ARABIC.findall(text)) + len(_STRAY_MARK.findall(text))
    return latin + 2 * stray + len(_UNKNOWN.findall(text))


def decode(data: bytes, candidates: list[str], where: str) -> tuple[str, str]:
    """Decode `data` (UTF-8 first, then the best of `candidates`); line ends become `\\n`."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        text, encoding = data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        scored: list[tuple[int, int, str, str]] = []
        for rank, candidate in enumerate(candidates):
            try:
                decoded = data.decode(candidate)
            except (UnicodeDecodeError, LookupError):
                continue
            scored.append((_misplaced_letters(decoded), rank, candidate, decoded))
        if not scored:
            raise SourceError(
                f"{where}: not UTF-8 (bad byte at offset {exc.start}) and none of "
                f"{candidates} decodes it; add the right encoding to the source's `encodings`"
            ) from exc
        _, _, encoding, text = min(scored)
    return text.replace("\r\n", "\n").replace("\r", "\n"), encoding
