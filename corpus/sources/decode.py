"""Turn input bytes into text, per file when the file reads as one encoding, else per record.

A file that is valid UTF-8 is UTF-8. A file that is not is read in one legacy code page only when
it reads as one as a whole: its invalid bytes far outnumber its valid multi-byte UTF-8 sequences
(`looks_legacy`). A UTF-8 file with a few bad bytes is not that: it stays UTF-8, and each record
holding bad bytes is settled alone (`settle`): a record that is all legacy bytes is decoded with
the best candidate (its own `encoding`), a record mixing valid UTF-8 with bad bytes cannot be
trusted and is a bad record naming the byte. Nothing is ever decoded by guessing a whole file from
one bad byte (which released every French text of such a file as mojibake).

Choosing among legacy candidates: each is decoded and scored by how many letters look misplaced;
the least damaged wins, ties go to the earlier candidate. We score ourselves rather than ask
charset-normalizer because it gives no answer at all for about a third of the Windows-1256 Arabic
newspapers in our test data. What tells cp1256 from cp1252: French accents (é, à, ç...) sit at the
same bytes in both, so only the other high bytes decide. Read the wrong way, Arabic becomes words
of Latin-1 letters with no ASCII letter ("ÇáÍßæãÉ"), and French capitals become Arabic letters
glued to Latin ones ("ةtat") or standing alone where French has "À" ("ہ Rabat"). A lone accented
Latin letter is a French word ("à"), a lone Arabic letter in Latin text is not.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

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
# Bytes that are not UTF-8, as `surrogateescape` decoding shows them.
_ESCAPED = re.compile("[\udc80-\udcff]")
# A text is in a legacy code page when its invalid bytes outnumber its valid multi-byte UTF-8
# characters this many times: single-byte Arabic makes a valid-looking pair by chance (ك then the
# Arabic comma is 0xDF 0xA1), about one per 50 invalid bytes in the newspapers; a UTF-8 file with a
# stray Latin-1 byte has one invalid byte among hundreds of valid characters.
LEGACY_RATIO = 10
UTF8 = "utf-8"


@dataclass(frozen=True)
class Decoded:
    """A decoded text and its encoding, or the problem that makes it untrustworthy."""

    text: str
    encoding: str
    problem: str | None = None


def _misplaced_letters(text: str) -> int:
    latin = sum(len(m) for m in _LATIN_WITHOUT_ASCII.findall(text))
    # A stray Arabic letter or mark counts double: French has "çà" (two accents, no ASCII letter) but
    # Arabic text never glues a letter to a Latin word.
    stray = len(_STRAY_ARABIC.findall(text)) + len(_STRAY_MARK.findall(text))
    return latin + 2 * stray + len(_UNKNOWN.findall(text))


def has_bad_bytes(escaped: str) -> bool:
    """Whether a `surrogateescape`-decoded text holds bytes that are not UTF-8."""
    return _ESCAPED.search(escaped) is not None


def strip_bom(data: bytes) -> bytes:
    return data[len(codecs.BOM_UTF8) :] if data.startswith(codecs.BOM_UTF8) else data


def line_ends(text: str) -> str:
    """Line ends become `\\n` (CRLF, and a lone CR as old Mac files have it)."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def byte_counts(escaped: str) -> tuple[int, int]:
    """(bytes that are not UTF-8, valid non-ASCII characters) of a `surrogateescape`-decoded text,
    counted by C-level codecs (no list of matches)."""
    clean = escaped.encode(UTF8, "ignore").decode(UTF8)
    return len(escaped) - len(clean), len(clean) - len(clean.encode("ascii", "ignore"))


def reads_as_legacy(invalid: int, valid: int) -> bool:
    """Whether a text with these counts (see `byte_counts`) reads as a legacy code page as a whole."""
    return invalid > 0 and (valid == 0 or invalid >= LEGACY_RATIO * valid)


def looks_legacy(escaped: str) -> bool:
    """Whether a `surrogateescape`-decoded text reads as a legacy code page as a whole."""
    return reads_as_legacy(*byte_counts(escaped))


def best_legacy(data: bytes, candidates: list[str]) -> Decoded | None:
    """The candidate code page that decodes `data` with the fewest misplaced letters."""
    scored: list[tuple[int, int, str, str]] = []
    for rank, candidate in enumerate(candidates):
        try:
            decoded = data.decode(candidate)
        except (UnicodeDecodeError, LookupError):
            continue
        scored.append((_misplaced_letters(decoded), rank, candidate, decoded))
    if not scored:
        return None
    _, _, encoding, text = min(scored)
    return Decoded(text, encoding)


class Utf8Check:
    """Whether bytes fed block by block are all valid UTF-8, checked by Arrow's validation: no
    decoded copy is made (planning the reads of a 330 MB JSONL file: 0.59-0.65 s, against 1.24 s
    with a strict incremental decode). A character cut by a block's end is completed by the next."""

    def __init__(self) -> None:
        self.valid, self.carry = True, b""

    def feed(self, block: bytes) -> None:
        if not self.valid or not block:
            return
        data = self.carry + block if self.carry else block
        cut = _complete(data)
        self.valid, self.carry = _valid_utf8(data, cut), data[cut:]

    def done(self) -> bool:
        """All bytes fed are valid UTF-8 (a character cut short at the very end is not)."""
        return self.valid and not self.carry


def _complete(data: bytes) -> int:
    """Where the last character of `data` starts when the end cuts it short, else `len(data)`."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte < 0x80:
            return len(data)
        if byte >= 0xC0:  # a lead byte: 2, 3 or 4 bytes long
            need = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return len(data) - back if need > back else len(data)
    return len(data)


def _valid_utf8(data: bytes, end: int) -> bool:
    """Whether `data[:end]` is valid UTF-8 (as Python's strict codec has it: no surrogates, no
    overlong forms, nothing above U+10FFFF)."""
    offsets = pa.py_buffer(np.array([0, end], dtype=np.int64))
    try:
        pa.LargeStringArray.from_buffers(1, offsets, pa.py_buffer(data)).validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def printable(text: str) -> str:
    """Text safe to store: bytes that are not UTF-8 and lone surrogates become U+FFFD."""
    return text.encode(UTF8, "surrogatepass").decode(UTF8, "replace")


def first_bad_byte(escaped: str) -> str:
    """`byte 0xE9 at character 43`: where the first byte that is not UTF-8 sits."""
    found = _ESCAPED.search(escaped)
    if found is None:
        return "no bad byte"
    return f"byte 0x{ord(found.group()) - 0xDC00:02X} at character {found.start() + 1}"


def settle(escaped: str, candidates: list[str]) -> Decoded:
    """A record decoded with `surrogateescape`: UTF-8 when clean, a legacy candidate when all its
    bad bytes read as one, else untrustworthy (a `problem` naming the first bad byte)."""
    if not _ESCAPED.search(escaped):
        return Decoded(escaped, UTF8)
    raw = escaped.encode(UTF8, "surrogateescape")
    if looks_legacy(escaped):
        legacy = best_legacy(raw, candidates)
        if legacy is not None:
            return legacy
        return Decoded(escaped, UTF8, f"not UTF-8 and none of {candidates} decodes it")
    return Decoded(escaped, UTF8, f"invalid UTF-8 ({first_bad_byte(escaped)}) among valid UTF-8")


def decode_record(data: bytes, candidates: list[str]) -> Decoded:
    """One record's bytes (a page, an article file): BOM out, `settle`d, line ends as `\\n`."""
    escaped = strip_bom(data).decode(UTF8, "surrogateescape")
    found = settle(escaped, candidates)
    return Decoded(line_ends(found.text), found.encoding, found.problem)


def decode(data: bytes, candidates: list[str], where: str) -> tuple[str, str]:
    """Decode a whole file that must be trusted as one text (UTF-8, else one legacy candidate);
    an untrustworthy file is a `SourceError` naming it."""
    found = decode_record(data, candidates)
    if found.problem:
        hint = "add the right encoding to the source's `encodings`"
        if "among valid" in found.problem:
            hint = "repair the file, or set on_bad_record: skip"
        raise SourceError(f"{where}: {found.problem}; {hint}")
    return found.text, found.encoding


def legacy_lines(data: bytes, encoding: str) -> tuple[list[str], list[str]]:
    """The lines of a file that reads as the legacy code page `encoding` (line ends as `\\n`), each
    decoded alone, and the encoding each was read with: a line that is valid UTF-8 holding
    multi-byte characters was written as UTF-8 (legacy Arabic cannot be: two letters in a row are
    never a valid UTF-8 sequence), so it is read as UTF-8, not released as mojibake."""
    lines, encodings = [], []
    for raw in data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n"):
        if not raw.isascii():
            try:
                lines.append(raw.decode(UTF8))
                encodings.append(UTF8)
                continue
            except UnicodeDecodeError:
                pass
        lines.append(raw.decode(encoding))
        encodings.append(encoding)
    return lines, encodings


def file_encoding(escaped: str, data: bytes, candidates: list[str]) -> str:
    """How a whole file of records is read: `utf-8` (also when a few records hold bad bytes:
    those are settled one by one) or the legacy candidate it reads as as a whole."""
    if not _ESCAPED.search(escaped) or not looks_legacy(escaped):
        return UTF8
    legacy = best_legacy(data, candidates)
    return legacy.encoding if legacy is not None else UTF8
