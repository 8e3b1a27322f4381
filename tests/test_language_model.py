"""The trained language model's pieces: featuriser, windows, split, training and the shipped weights.

Texts are our own; the model's quality on real data is measured in tests/benchmarks/bench_language.py
and floored in test_language_realdata.py.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.config import LanguageConfig
from corpus.language import detect_languages, weights_sha256
from corpus.language import features as features_module
from corpus.language.features import Hashing, bucket_counts, fold, mean_weights
from corpus.language.model import MODEL_FILES, head_logits, lexicon_logits, load_model, short_shifts
from corpus.language.train import PINNED, fit, pinned, write_model
from corpus.language.training_data import FOLDS, VALIDATION, fold_of, with_folds
from corpus.language.windows import LENGTHS, SNAP, balanced, cut

HASHING = Hashing(orders=(1, 2, 3, 4, 5), bits=12)
WEIGHTS = np.random.default_rng(7).normal(size=1 << 12).astype(np.float32)
DARIJA = "واش كاين شي حد عارف علاش الماء مقطوع فالحومة من البارح؟ راه الدراري ما قادرينش يمشيو للمدرسة."
MSA = "أعلنت وزارة الاقتصاد والمالية عن ارتفاع المداخيل الجبائية خلال الأشهر الأولى من السنة الجارية."
ARABIZI = "Wach kayn chi wa7ed 3ndo l'adresse dyal lmostacfa? 3afak siftha liya daba."
FRENCH = "La Bourse de Casablanca a terminé la séance en hausse, portée par les valeurs bancaires."
MODEL = Path(__file__).resolve().parents[1] / "corpus" / "language" / "weights"


def folded(text: str) -> str:
    return "".join(map(chr, fold([text]).codes))


# --------------------------------------------------------------------------- featuriser


def test_fold_unifies_arabic_spellings_and_drops_marks_and_punctuation() -> None:
    assert folded("أحمدُ، إلى مدرسةٍ!") == folded("احمد الي مدرسه") == " احمد الي مدرسه "
    assert folded("بـــزاف") == folded("بزاف")


def test_fold_cuts_stretched_letters_to_one_and_keeps_doubles() -> None:
    assert folded("Bzaaaaf hhhhh wa333 كذوووووب") == folded("bzaf h wa3 كذوب") == " bzaf h wa3 كذوب "
    assert folded("bzzaf lli مزيااان اللّه") == " bzzaf lli مزيان الله "
    together = mean_weights(["Mzyaaaan bzzzzaf!!!", "mzyan bzaf"], WEIGHTS, HASHING)
    assert together[0][0] == together[0][1] and together[1][0] == together[1][1]


def test_fold_keeps_digits_only_beside_letters() -> None:
    assert folded("Wa7ed m3a 3 drari f 2024") == " wa7ed m3a drari f "


def _folded_one_by_one(texts: list[str]) -> str:
    """`fold` read plainly, a text and a character at a time: the table, marks out, runs of three
    or more one character, digits beside no letter spaces, texts joined, runs of spaces one."""
    table, out = features_module.fold_table(), []
    for text in texts:
        kept = "".join(chr(c) for c in (int(table[min(ord(char), 0xFFFF)]) for char in text) if c != 0)
        kept = re.sub(r"(.)\1{2,}", r"\1", kept, flags=re.S)
        letter = [not char.isdigit() and char != " " for char in kept]
        out.append(
            "".join(
                " " if char.isdigit() and not any(letter[max(i - 1, 0) : i + 2]) else char
                for i, char in enumerate(kept)
            )
        )
    return re.sub(" +", " ", " " + " ".join(out) + " ")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(list("aAb 3379ـهاوي.!\u064e")), max_size=14), max_size=5))
def test_fold_is_what_reading_each_character_gives(texts: list[str]) -> None:
    assert "".join(map(chr, fold(texts).codes)) == _folded_one_by_one(texts)


def test_features_of_a_text_do_not_depend_on_its_neighbours() -> None:
    texts = [DARIJA, "", "a", ARABIZI, "  ", MSA]
    together, counts = mean_weights(texts, WEIGHTS, HASHING)
    alone = [mean_weights([t], WEIGHTS, HASHING)[0][0] for t in texts]
    assert together.tolist() == alone
    assert counts[1] == counts[4] == 0


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.sampled_from(list("ab 37éديالأ،.\n\u064e")), max_size=30), min_size=1, max_size=6
    )
)
def test_mean_weights_equal_the_mean_over_counted_buckets(texts: list[str]) -> None:
    """The scoring pass and the training pass see the same features."""
    means, counts = mean_weights(texts, WEIGHTS, HASHING)
    rows, buckets = bucket_counts(texts, HASHING)
    assert counts.tolist() == np.bincount(rows, minlength=len(texts)).tolist()
    for row, mean in enumerate(means):
        chosen = WEIGHTS[buckets[rows == row]].astype(np.float64)
        assert mean == pytest.approx(chosen.mean() if chosen.size else 0.0, abs=1e-5)


def test_features_grow_linearly_and_chunks_change_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    text = DARIJA + " " + ARABIZI
    one = mean_weights([text], WEIGHTS, HASHING)[1][0]
    ten = mean_weights([" ".join([text] * 10)], WEIGHTS, HASHING)[1][0]
    assert ten == pytest.approx(10 * one, rel=0.01)
    batch = [DARIJA, MSA, ARABIZI, FRENCH] * 5
    expected = mean_weights(batch, WEIGHTS, HASHING)[0]
    monkeypatch.setattr(features_module, "CHUNK_CHARS", 100)
    assert mean_weights(batch, WEIGHTS, HASHING)[0].tolist() == expected.tolist()


# --------------------------------------------------------------------------- split and windows


def test_split_is_a_stable_hash_of_the_group() -> None:
    folds = [fold_of(f"source#{i}") for i in range(2000)]
    assert folds == [fold_of(f"source#{i}") for i in range(2000)]
    assert set(folds) == set(range(FOLDS))
    assert abs(folds.count(VALIDATION) / 2000 - 1 / FOLDS) < 0.03
    items = pl.DataFrame({"group": ["a", "b", "a"]})
    assert with_folds(items)["fold"].to_list() == [fold_of("a"), fold_of("b"), fold_of("a")]


def test_windows_cycle_lengths_end_on_spaces_and_lose_no_word() -> None:
    stream = " ".join(f"word{i}" for i in range(400))
    windows = cut(stream, 0)
    assert " ".join(windows) == stream
    for turn, window in enumerate(windows[:-1]):
        assert LENGTHS[turn % len(LENGTHS)] <= len(window) <= LENGTHS[turn % len(LENGTHS)] + SNAP
    assert len(cut(stream, 3)[0]) >= LENGTHS[3]


def test_balanced_windows_give_each_side_as_many_characters_per_fold() -> None:
    items = pl.DataFrame(
        {
            "text": [ARABIZI * 3, FRENCH * 20, ARABIZI * 2, FRENCH * 20],
            "label": ["ary_Latn", "fr", "ary_Latn", "fr"],
            "source": ["doda", "news", "doda", "news"],
            "fold": [1, 1, 2, 2],
        }
    )
    windows = balanced(items, "ary_Latn", passes=2)
    chars = (
        windows.group_by("fold", "positive")
        .agg(pl.col("text").str.len_chars().cast(pl.Int64).sum())
        .sort("fold", "positive")
    )
    positive, negative = chars.filter(pl.col("positive"))["text"], chars.filter(~pl.col("positive"))["text"]
    assert (abs(positive - negative) <= max(LENGTHS) + SNAP).all()
    assert set(windows["source"]) == {"doda", "news"}


# --------------------------------------------------------------------------- training and weights


def test_fit_learns_a_toy_arabizi_versus_french_problem() -> None:
    positive = ["wa7ed dyal 3la bzaf", "wach kayn chi 7aja", "khoya 3afak daba", "mzyan bzaf wa7ed"] * 5
    negative = [
        "le marché des valeurs",
        "la séance de bourse",
        "les banques et la dette",
        "une hausse des prix",
    ] * 5
    fitted = fit(positive + negative, np.array([True] * 20 + [False] * 20), HASHING, 1e-4)
    weights = fitted.weights.astype(np.float32)
    logits = mean_weights(["3la wach bzaf", "des valeurs de la banque"], weights, HASHING)[0] + fitted.bias
    assert logits[0] > 0 > logits[1]
    assert fitted.prior == 0.0


def test_fit_does_not_depend_on_how_features_were_chunked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Training sums run in one order whatever the chunking, so the weights are reproducible."""
    texts = [ARABIZI, FRENCH, "wa7ed m3a bzaf", "la séance de la bourse", DARIJA, MSA] * 3
    positive = np.array([True, False] * 9)
    whole = fit(texts, positive, HASHING, 1e-6)
    monkeypatch.setattr(features_module, "CHUNK_CHARS", 60)
    chunked = fit(texts, positive, HASHING, 1e-6)
    assert whole.weights.tobytes() == chunked.weights.tobytes() and whole.bias == chunked.bias


def test_written_model_is_deterministic(tmp_path: Path) -> None:
    fitted = fit(["wa7ed 3la", "la bourse"], np.array([True, False]), Hashing((1, 2), 18), 1e-4)
    for folder in (tmp_path / "a", tmp_path / "b"):
        write_model(folder, {"arabic": fitted, "latin": fitted}, {"note": 1})
    for name in MODEL_FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_training_runs_again_unless_blas_threads_kernels_and_simd_are_pinned(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from numpy._core._multiarray_umath import __cpu_features__

    if not (__cpu_features__.get("AVX2") and __cpu_features__.get("FMA3")):
        pytest.skip("this CPU has no AVX2/FMA: training runs unpinned here")
    for name, value in PINNED.items():
        monkeypatch.setenv(name, value)
    assert pinned()
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")  # what a 2-core machine gets by default
    assert not pinned()
    monkeypatch.delenv("OPENBLAS_NUM_THREADS")
    assert not pinned()


def test_shipped_model_is_small_fingerprinted_and_credits_its_sources() -> None:
    assert sum((MODEL / name).stat().st_size for name in MODEL_FILES) < 3_000_000
    digest = hashlib.sha256()
    for name in MODEL_FILES:
        digest.update(name.encode() + b"\0" + (MODEL / name).read_bytes())
    assert weights_sha256() == digest.hexdigest()
    meta = json.loads((MODEL / "model.json").read_text(encoding="utf-8"))
    assert set(meta["heads"]) == set(load_model().heads) == {"arabic", "latin"}
    credits = (MODEL / "ATTRIBUTION.md").read_text(encoding="utf-8")
    assert "CC BY-SA 4.0" in credits and "tatoeba.org #" in credits


def test_heads_tell_darija_from_msa_and_arabizi_from_french() -> None:
    arabic = head_logits([DARIJA, MSA], "arabic")
    latin = head_logits([ARABIZI, FRENCH], "latin")
    assert arabic[0] > 0 > arabic[1]
    assert latin[0] > 0 > latin[1]


def test_short_arabic_texts_lose_a_shift_that_shrinks_to_nothing_with_length() -> None:
    """Under the head's short_ngrams n-grams the logit loses short_shift x log(short_ngrams / n-grams)."""
    head, hashing = load_model().heads["arabic"], load_model().hashing
    texts = ["قال الوزير", MSA[:40], DARIJA, " ".join([MSA] * 4)]
    means, counts = mean_weights(texts, head.weights, hashing)
    unshifted = means + head.bias + head.prior * lexicon_logits(texts, "arabic")
    lost = unshifted - head_logits(texts, "arabic")
    assert head.short_shift > 0 and counts[0] < counts[1] < head.short_ngrams <= counts[3]
    assert lost[0] > lost[1] > 0 and lost[3] == 0
    assert lost == pytest.approx(head.short_shift * np.log(np.maximum(head.short_ngrams / counts, 1)))
    assert short_shifts(counts, head.short_ngrams, 0.0).tolist() == [0.0] * 4
    assert load_model().heads["latin"].short_shift == 0.0


def test_darija_article_quoting_an_msa_official_is_darija_with_code_switching() -> None:
    """A mixed document takes the label holding most letters; the quote sets code_switching."""
    article = "\n".join([DARIJA, DARIJA.replace("البارح", "الصباح"), MSA])
    row = detect_languages(pl.Series([article]), LanguageConfig()).row(0, named=True)
    assert row["language"] == "ary"
    assert row["code_switching"] is True
    assert 0.5 < row["language_share"] < 0.8
