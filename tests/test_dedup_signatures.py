"""Signatures: equal to datasketch's (affine32, same seed, our shingle hash), stored so that
datasketch alone can read them, and comparable only with the same parameters."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import datasketch
import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest
import xxhash
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.config import DedupConfig
from corpus.dedup import load_earlier, remove_near, shingle_hash, shingles, signatures, write_signatures
from corpus.dedup.signatures import permutations
from corpus.dedup.tokens import token_bounds, utf8_buffer, xxh3_tokens
from corpus.errors import ConfigError
from tests.helpers import frame

WORDS = st.text(alphabet="abcdéèàçقلبيةا", min_size=1, max_size=8)
TEXTS = st.lists(WORDS, min_size=0, max_size=40).map(" ".join)


def datasketch_signature(text: str, num_perm: int, seed: int, ngram: int) -> np.ndarray:
    minhash = datasketch.MinHash(num_perm=num_perm, seed=seed, hashfunc=shingle_hash)
    minhash.update_batch(shingles(text, ngram))
    return minhash.hashvalues


@settings(max_examples=60, deadline=None)
@given(texts=st.lists(TEXTS, min_size=1, max_size=8), ngram=st.integers(1, 6), seed=st.integers(0, 99))
def test_vectorised_signatures_equal_datasketch(texts: list[str], ngram: int, seed: int) -> None:
    ours = signatures(pl.Series(texts, dtype=pl.String), 64, seed, ngram)
    for text, row in zip(texts, ours, strict=True):
        assert np.array_equal(row, datasketch_signature(text, 64, seed, ngram)), text


# Words of every xxh3 length class (1-3, 4-8, 9-16, 17-32 bytes, and longer through xxhash), in
# one- to four-byte UTF-8 characters, with runs of spaces and spaces at either end.
ANY_WORD = st.text(alphabet=st.sampled_from("aé€ق𝔸ⵣ"), min_size=1, max_size=45)
SPACED = st.lists(st.tuples(ANY_WORD, st.sampled_from([" ", "  ", "   "])), max_size=12).map(
    lambda parts: "".join(word + space for word, space in parts)
)


@settings(max_examples=200, deadline=None)
@given(texts=st.lists(st.one_of(st.none(), SPACED, SPACED.map(lambda t: " " + t)), min_size=1, max_size=6))
def test_token_hashes_are_xxh3_of_every_word(texts: list[str | None]) -> None:
    series = pl.Series(["skipped", *texts], dtype=pl.String).slice(1)  # an offset into the buffer
    data, offsets = utf8_buffer(series)
    begins, ends, counts = token_bounds(data, offsets)
    words = [[w.encode() for w in (t or "").split(" ") if w] for t in texts]
    assert counts.tolist() == [len(w) for w in words]
    expected = [xxhash.xxh3_64_intdigest(w) for ws in words for w in ws]
    assert xxh3_tokens(data, begins, ends).tolist() == expected


def test_permutations_are_datasketchs_affine32() -> None:
    a, b = datasketch.MinHash(num_perm=128, seed=7).permutations
    ours = permutations(128, 7)
    assert np.array_equal(ours[0], a) and np.array_equal(ours[1], b)


def test_shorter_than_n_words_is_one_shingle_of_what_there_is() -> None:
    assert shingles("un deux trois", 5) == [b"un deux trois"]
    assert shingles("a b c d e f", 5) == [b"a b c d e", b"b c d e f"]
    assert shingles("", 5) == [b""]


def news(seed: int, words: int = 200) -> str:
    rng = np.random.default_rng(seed)
    return " ".join(f"mot{n}" for n in rng.integers(0, 5000, words))


def released_frame() -> pl.DataFrame:
    texts = [news(1), news(2), news(3)]
    rows = frame(
        id=["a", "b", "c"],
        text=texts,
        language=["fr", "fr", "ar"],
        source=["MAP Express", "Le Matin", "Hespress"],
        url=["https://x.ma/a", "https://x.ma/b", None],
        published_date=[dt.date(2024, 1, d) for d in (1, 2, 3)],
    )
    return remove_near(rows, DedupConfig())


def test_stored_signatures_load_as_lean_minhash_and_work_in_minhashlsh(tmp_path: Path) -> None:
    write_signatures(released_frame(), tmp_path, DedupConfig())
    table = pq.read_table(tmp_path / "signatures" / "minhash.parquet")
    stored = json.loads(table.schema.metadata[b"corpus.minhash"])
    lsh = datasketch.MinHashLSH(threshold=0.8, num_perm=stored["num_perm"])
    for row in table.to_pylist():
        lean = datasketch.LeanMinHash(seed=stored["seed"], hashvalues=row["minhash"], scheme=stored["scheme"])
        lsh.insert(row["id"], lean)
    # Tomorrow's article: a copy of b with a new last sentence, hashed with datasketch alone.
    article = news(2) + " une phrase ajoutée à la fin"
    query = datasketch.MinHash(num_perm=stored["num_perm"], seed=stored["seed"], hashfunc=shingle_hash)
    query.update_batch(shingles(article, stored["ngram"]))
    assert lsh.query(query) == ["b"]


def test_signatures_file_is_sorted_by_id_and_byte_identical(tmp_path: Path) -> None:
    released = released_frame()
    write_signatures(released, tmp_path / "one", DedupConfig())
    write_signatures(released.reverse(), tmp_path / "two", DedupConfig())
    one, two = (tmp_path / name / "signatures" / "minhash.parquet" for name in ("one", "two"))
    assert one.read_bytes() == two.read_bytes()
    assert pl.read_parquet(one)["id"].to_list() == ["a", "b", "c"]


def test_against_a_folder_that_is_no_release_names_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not a release with signatures"):
        load_earlier(tmp_path, DedupConfig())


def test_against_a_release_with_other_parameters_is_refused(tmp_path: Path) -> None:
    write_signatures(released_frame(), tmp_path, DedupConfig())
    (tmp_path / "manifest.json").write_text('{"version": "v0.1.0"}', encoding="utf-8")
    assert load_earlier(tmp_path, DedupConfig()).version == "v0.1.0"
    with pytest.raises(ConfigError, match="use the same num_perm, seed and ngram"):
        load_earlier(tmp_path, DedupConfig(ngram=3))
