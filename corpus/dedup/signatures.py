"""MinHash signatures over word n-grams, vectorised with numpy, equal to datasketch's.

Tokens are cut from the Arrow byte buffer and hashed with a numpy xxh3-64 (`corpus.dedup.tokens`,
equal to xxhash's); n-gram hashes are a polynomial of the token hashes folded to 32 bits; the
128 affine permutations of datasketch 2.x (`affine32`: murmur3 finaliser, then `a*h + b` modulo
2^32, `a` odd) are applied to every n-gram of a batch at once and min-reduced per document.
`shingle_hash` computes the same 32-bit value from one shingle, so `datasketch.MinHash(num_perm,
seed, hashfunc=shingle_hash)` fed `shingles(text)` gives exactly the same hash values.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import polars as pl
import xxhash

from corpus.dedup.tokens import token_bounds, utf8_buffer, xxh3_tokens

# Odd 64-bit multiplier of the n-gram polynomial (the golden ratio constant: well mixed bits).
NGRAM_BASE = 0x9E3779B97F4A7C15
MASK64 = (1 << 64) - 1
# datasketch 2.x affine32: murmur3 fmix32 constants.
FMIX32 = (16, 0x85EBCA6B, 13, 0xC2B2AE35, 16)
# Documents per numpy batch: 400 news articles are ~140k n-grams, scratch arrays of ~1 MB that
# stay in the CPU cache (2.2x faster than batches of 20k on 100k articles).
BATCH_DOCS = 400
# Threads hashing batches: each writes its own rows, so the result does not depend on it.
THREADS = min(4, os.cpu_count() or 1)


def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The `a` (odd) and `b` parameters datasketch 2.x draws for `affine32` with this seed."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def token_hash(word: bytes) -> int:
    return xxhash.xxh3_64_intdigest(word)


def shingle_hash(shingle: bytes) -> int:
    """32-bit hash of one shingle (words joined by single spaces): the datasketch `hashfunc`."""
    value = 0
    for word in shingle.split(b" ") if shingle else []:
        value = (value * NGRAM_BASE + token_hash(word)) & MASK64
    return (value ^ (value >> 32)) & 0xFFFFFFFF


def shingles(matching: str, ngram: int) -> list[bytes]:
    """Word n-grams of a matching text; a text shorter than n words is one shingle of all its words."""
    words = matching.split()
    if len(words) < ngram:
        return [" ".join(words).encode()]
    return [" ".join(words[i : i + ngram]).encode() for i in range(len(words) - ngram + 1)]


def token_hashes(matching: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """Flat uint64 token hashes (`token_hash` of every word) of all documents and each
    document's token count, cut and hashed from the Arrow buffer (see `corpus.dedup.tokens`)."""
    data, offsets = utf8_buffer(matching)
    begins, ends, counts = token_bounds(data, offsets)
    return xxh3_tokens(data, begins, ends), counts


def ngram_hashes(tokens: np.ndarray, counts: np.ndarray, ngram: int) -> tuple[np.ndarray, np.ndarray]:
    """32-bit n-gram hashes (flat) and the start of each document's run; every document has at
    least one (documents shorter than n words hash all their words, empty ones hash to 0)."""
    per_doc = np.maximum(counts - ngram + 1, 1)
    offsets = np.zeros(counts.size, dtype=np.int64)
    np.cumsum(per_doc[:-1], out=offsets[1:])
    base = np.uint64(NGRAM_BASE)
    # Horner over the flat array: windows[i] is the polynomial of tokens i..i+n-1, valid where
    # those n tokens are in one document (not in the last n-1 positions of a document).
    windows = tokens.copy()
    with np.errstate(over="ignore"):
        for k in range(1, ngram):
            head = windows[: max(tokens.size - k, 0)]
            np.multiply(head, base, out=head)
            np.add(head, tokens[k:], out=head)
        ends = np.cumsum(counts)
        tail = np.minimum(counts, ngram - 1)
        within = np.arange(tail.sum()) - np.repeat(np.cumsum(tail) - tail, tail)
        valid = np.ones(tokens.size, dtype=bool)
        valid[np.repeat(ends, tail) - 1 - within] = False
        short = np.flatnonzero(counts < ngram)
        if short.size:
            # Fewer words than n: one shingle of all the words there are.
            value = np.empty(int(per_doc.sum()), dtype=np.uint64)
            filled = np.ones(value.size, dtype=bool)
            filled[offsets[short]] = False
            value[filled] = windows[valid]
            starts = ends[short] - counts[short]
            acc = np.zeros(short.size, dtype=np.uint64)
            for k in range(min(ngram - 1, tokens.size)):
                word = tokens[np.minimum(starts + k, tokens.size - 1)]
                acc = np.where(k < counts[short], acc * base + word, acc)
            value[offsets[short]] = acc
        else:
            value = windows[valid]
    np.bitwise_xor(value, value >> np.uint64(32), out=value)
    return value.astype(np.uint32), offsets


def gram_hashes(matching: pl.Series, ngram: int) -> tuple[np.ndarray, np.ndarray]:
    """`ngram_hashes` of many documents, tokenised `BATCH_DOCS` at a time (bounded scratch memory)."""
    grams, offsets, size = [], [], 0
    for low in range(0, matching.len(), BATCH_DOCS):
        part, starts = ngram_hashes(*token_hashes(matching.slice(low, BATCH_DOCS)), ngram)
        grams.append(part)
        offsets.append(starts + size)
        size += part.size
    if not grams:
        return np.zeros(0, dtype=np.uint32), np.zeros(0, dtype=np.int64)
    return np.concatenate(grams), np.concatenate(offsets)


def fmix32(values: np.ndarray) -> np.ndarray:
    s1, m1, s2, m2, s3 = FMIX32
    values = values ^ (values >> np.uint32(s1))
    values = values * np.uint32(m1)
    values = values ^ (values >> np.uint32(s2))
    values = values * np.uint32(m2)
    return values ^ (values >> np.uint32(s3))


def min_hash(grams: np.ndarray, offsets: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per document, the minimum of every permutation over its n-gram hashes (docs x perms).
    One contiguous 1-D pass per permutation (40x faster than a 2-D reduceat along axis 0)."""
    mixed = fmix32(grams)
    out = np.empty((offsets.size, a.size), dtype=np.uint32)
    permuted = np.empty_like(mixed)
    with np.errstate(over="ignore"):
        for p in range(a.size):
            np.multiply(mixed, a[p], out=permuted)
            np.add(permuted, b[p], out=permuted)
            out[:, p] = np.minimum.reduceat(permuted, offsets)
    return out


def signatures(
    matching: pl.Series, num_perm: int, seed: int, ngram: int, out: np.ndarray | None = None
) -> np.ndarray:
    """MinHash signatures (documents x num_perm, uint32) of matching texts, written into `out`
    when given. Small batches of documents keep every scratch array in the CPU cache; batches are
    shared among threads (numpy releases the GIL) and each writes its own rows."""
    if out is None:
        out = np.empty((matching.len(), num_perm), dtype=np.uint32)
    a, b = permutations(num_perm, seed)

    def batch(low: int) -> None:
        tokens, counts = token_hashes(matching.slice(low, BATCH_DOCS))
        grams, offsets = ngram_hashes(tokens, counts, ngram)
        out[low : low + counts.size] = min_hash(grams, offsets, a, b)

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(batch, range(0, matching.len(), BATCH_DOCS)))
    return out
