"""Word tokens of matching texts and their xxh3-64 hashes, cut from the Arrow byte buffer.

Matching texts are words between single spaces, so token bounds are found in the flat UTF-8
bytes of a batch with numpy, and each token is hashed by a numpy transcription of xxh3-64 (seed
0, default secret) for its length classes 1-3, 4-8, 9-16 and 17-32 bytes; longer tokens (about 3
in a million words of news) go through the xxhash package one by one. The values are those of
`xxhash.xxh3_64_intdigest(word)` (tested on every length class). Why not polars `str.split`, a
Categorical and one xxhash call per distinct word, as before: that took 0.46 s per 20k news
articles (most of what signatures cost), this about 0.35 s on one thread and, unlike it, it runs
in cache-sized batches on two threads (signatures went from 17k to 34k docs/s on 2 cores).
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa
import xxhash

SPACE = 32
# The first 64 bytes of xxh3's default secret (kSecret): all that tokens up to 32 bytes read.
SECRET = bytes.fromhex(
    "b8fe6c3923a44bbe7c01812cf721ad1cded46de9839097db7240a4a4b7b3671f"
    "cb79e64eccc0e578825ad07dccff7221b8084674f743248ee03590e6813a264c"
)
PRIME64_1 = np.uint64(0x9E3779B185EBCA87)
PRIME64_2 = np.uint64(0xC2B2AE3D27D4EB4F)
PRIME64_3 = np.uint64(0x165667B19E3779F9)
PRIME_MX1 = np.uint64(0x165667919E3779F9)
PRIME_MX2 = np.uint64(0x9FB21C651E98DF25)
LOW32 = np.uint64(0xFFFFFFFF)
# Longest token hashed with numpy; longer ones take the xxhash package (rare in any language).
LONGEST = 32
# Tokens hashed per numpy pass: 64k tokens keep every scratch array within L2 (512 KB); on a
# batch of 20k articles (7M tokens) this halves the time.
CHUNK_TOKENS = 1 << 16


def _secret(offset: int, size: int = 8) -> np.uint64:
    return np.uint64(int.from_bytes(SECRET[offset : offset + size], "little"))


def utf8_buffer(texts: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """The flat UTF-8 bytes of the texts (nulls as empty) and each text's start (n + 1 offsets)."""
    array = texts.fill_null("").to_arrow()
    if not isinstance(array, pa.LargeStringArray):
        array = array.cast(pa.large_string())
    buffers = array.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int64, count=len(array) + 1, offset=array.offset * 8)
    data = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None else np.zeros(0, np.uint8)
    return data[offsets[0] : offsets[-1]], offsets - offsets[0]


def token_bounds(data: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start and end byte of every maximal run of non-space bytes inside one text, and the number
    of such tokens per text. Tokens lie between separators: the spaces, and the text boundaries
    as separators of width 0 (one pass over the bytes, the rest over the separators)."""
    spaces = np.flatnonzero(data == SPACE)
    inner = offsets[1:-1]
    where = np.searchsorted(spaces, inner)
    begins = np.concatenate([[0], np.insert(spaces + 1, where, inner)])
    ends = np.append(np.insert(spaces, where, inner), data.size)
    token = ends > begins
    begins, ends = begins[token], ends[token]
    return begins, ends, np.diff(np.searchsorted(begins, offsets))


def _mul128_fold64(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Low 64 bits xor high 64 bits of the 128-bit product, from 32-bit halves."""
    left_lo, left_hi = left & LOW32, left >> np.uint64(32)
    right_lo, right_hi = right & LOW32, right >> np.uint64(32)
    lo_lo = left_lo * right_lo
    hi_lo = left_hi * right_lo
    cross = (lo_lo >> np.uint64(32)) + (hi_lo & LOW32) + left_lo * right_hi
    upper = (hi_lo >> np.uint64(32)) + (cross >> np.uint64(32)) + left_hi * right_hi
    return ((cross << np.uint64(32)) | (lo_lo & LOW32)) ^ upper


def _rotate_left(value: np.ndarray, bits: int) -> np.ndarray:
    return (value << np.uint64(bits)) | (value >> np.uint64(64 - bits))


def _avalanche(value: np.ndarray) -> np.ndarray:
    value = value ^ (value >> np.uint64(37))
    value *= PRIME_MX1
    return value ^ (value >> np.uint64(32))


def _upto3(data: np.ndarray, begins: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    first = data[begins].astype(np.uint64)
    middle = data[begins + (lengths >> 1)].astype(np.uint64)
    last = data[begins + lengths - 1].astype(np.uint64)
    combined = (first << np.uint64(16)) | (middle << np.uint64(24)) | last | (lengths.astype(np.uint64) << 8)
    value = combined ^ (_secret(0, 4) ^ _secret(4, 4))
    value ^= value >> np.uint64(33)
    value *= PRIME64_2
    value ^= value >> np.uint64(29)
    value *= PRIME64_3
    return value ^ (value >> np.uint64(32))


def _upto8(words32: np.ndarray, begins: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    first = words32[begins].astype(np.uint64)
    last = words32[begins + lengths - 4].astype(np.uint64)
    value = (last + (first << np.uint64(32))) ^ (_secret(8) ^ _secret(16))
    value ^= _rotate_left(value, 49) ^ _rotate_left(value, 24)
    value *= PRIME_MX2
    value ^= (value >> np.uint64(35)) + lengths.astype(np.uint64)
    value *= PRIME_MX2
    return value ^ (value >> np.uint64(28))


def _upto16(words64: np.ndarray, begins: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    low = words64[begins] ^ (_secret(24) ^ _secret(32))
    high = words64[begins + lengths - 8] ^ (_secret(40) ^ _secret(48))
    value = lengths.astype(np.uint64) + low.byteswap() + high + _mul128_fold64(low, high)
    return _avalanche(value)


def _upto32(words64: np.ndarray, begins: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    tail = begins + lengths - 16
    value = lengths.astype(np.uint64) * PRIME64_1
    value += _mul128_fold64(words64[begins] ^ _secret(0), words64[begins + 8] ^ _secret(8))
    value += _mul128_fold64(words64[tail] ^ _secret(16), words64[tail + 8] ^ _secret(24))
    return _avalanche(value)


def xxh3_tokens(data: np.ndarray, begins: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """xxh3-64 of every token `data[begin:end]` (non-empty), as uint64, in chunks of tokens whose
    scratch arrays stay in the CPU cache."""
    out = np.empty(begins.size, dtype=np.uint64)
    # Unaligned little-endian words starting at every byte (views, no copy).
    words32 = np.ndarray((max(data.size - 3, 0),), dtype="<u4", buffer=data, strides=(1,))
    words64 = np.ndarray((max(data.size - 7, 0),), dtype="<u8", buffer=data, strides=(1,))
    classes = [(1, 3, _upto3, data), (4, 8, _upto8, words32), (9, 16, _upto16, words64)]
    classes.append((17, LONGEST, _upto32, words64))
    with np.errstate(over="ignore"):
        for low in range(0, begins.size, CHUNK_TOKENS):
            chunk_begins = begins[low : low + CHUNK_TOKENS]
            lengths = ends[low : low + CHUNK_TOKENS] - chunk_begins
            chunk_out = out[low : low + CHUNK_TOKENS]
            for shortest, longest, kernel, source in classes:
                chosen = np.flatnonzero((lengths >= shortest) & (lengths <= longest))
                if chosen.size:
                    chunk_out[chosen] = kernel(source, chunk_begins[chosen], lengths[chosen])
    for index in np.flatnonzero(ends - begins > LONGEST):
        out[index] = xxhash.xxh3_64_intdigest(data[begins[index] : ends[index]].tobytes())
    return out
