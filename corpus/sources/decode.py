"""Turn input bytes into text, recording the encoding used.

UTF-8 is tried first (strictly). Otherwise each configured single-byte candidate is decoded and
scored by how much the result looks like mojibake; the least damaged wins, ties go to the
earlier candidate. We score ourselves rather than ask charset-normalizer because it gives no
answer at all for about a third of the Windows-1256 Arabic newspapers in our test data, and a
two-candidate choice (cp1256 vs cp1252) is decided reliably by one regex.
"""

from __future__ import annotations

import codecs
import re

from corpus.errors import SourceError

# Signs of a wrong single-byte guess: runs of Latin-1 letters (Arabic read as cp1252: "ÇáÍßæãÉ"),
# Arabic letters glued to Latin ones inside a word, and C1 control characters.
_MOJIBAKE = re.compile(r"[\u00c0-\u00ff]{2,}|[A-Za-z][\u0621-\u064a]|[\u0621-\u064a][A-Za-z]|[\x80-\x9f]")


def _mojibake_score(text: str) -> int:
    return sum(len(m) for m in _MOJIBAKE.findall(text))


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
            scored.append((_mojibake_score(decoded), rank, candidate, decoded))
        if not scored:
            raise SourceError(
                f"{where}: not UTF-8 (bad byte at offset {exc.start}) and none of "
                f"{candidates} decodes it; add the right encoding to the source's `encodings`"
            ) from exc
        _, _, encoding, text = min(scored)
    return text.replace("\r\n", "\n").replace("\r", "\n"), encoding
