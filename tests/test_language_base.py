"""The base model run in numpy (`corpus.language.lid176`) against fastText's own binding reading the
same model file: the same label for every text, probabilities equal or one float32 step apart
(exponentials are rounded from float64 here, by the C library's `expf` there)."""

from __future__ import annotations

import json
import warnings
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.errors import CorpusError
from corpus.language import lid176
from corpus.language.base import MAX_CHARS, MODEL_FILE, MODEL_PACKAGE, model_bytes, predict
from corpus.language.lid176 import read_model
from corpus.language.paragraphs import split_units

fasttext = pytest.importorskip("fasttext", reason="fastText's binding (fasttext-predict) is the reference")

# One float32 step at 1.0 (two just under it), where the base model's probabilities mostly lie.
ONE_STEP = 2.0**-23


@cache
def fasttext_model() -> Any:
    """fastText's binding over the shipped model file, loaded once for all examples."""
    return fasttext.load_model(str(resources.files(MODEL_PACKAGE).joinpath(MODEL_FILE))).f


def reference(texts: list[str]) -> tuple[list[str], list[float]]:
    """fastText's answer, one call per text, for the line the build reads (the middle MAX_CHARS
    characters, newlines as spaces)."""
    model = fasttext_model()
    labels, scores = [], []
    for text in texts:
        low = max(0, (len(text) - MAX_CHARS) // 2)
        top = model.predict(text[low : low + MAX_CHARS].replace("\n", " ") + "\n", 1, 0.0, "replace")
        labels.append(top[0][1].removeprefix("__label__") if top else "und")
        scores.append(float(top[0][0]) if top else 0.0)
    return labels, scores


def agreement(texts: list[str]) -> float:
    """Asserts the same labels and probabilities at most one step apart; the share bit-identical."""
    labels, scores = predict(texts)
    want_labels, want_scores = reference(texts)
    assert labels == want_labels
    gaps = np.abs(np.array(scores) - np.array(want_scores))
    assert gaps.max(initial=0.0) <= ONE_STEP
    return float((gaps == 0).mean()) if texts else 1.0


def test_texts_fasttext_reads_in_its_own_way_get_its_answers() -> None:
    texts = [
        "",
        " ",
        "a",
        "</s>",
        "</s> hello world",  # fastText stops reading a line at a literal end-of-line word
        "bonjour tout le monde </s> hello world",
        "__label__en le gouvernement a annoncé",  # label-like words are skipped
        "le\tgouvernement\ra\x0bannoncé\x0cun\x00plan",  # fastText's separators
        "le gouvernement\na annoncé un plan",
        "le\u00a0gouvernement a annoncé",  # a no-break space is part of a word
        "ǅ 😀 ẞ ⴰⵣⵓⵍ",
        "é" * 300,
        "anticonstitutionnellement " * 12,
        "The central bank kept its key rate unchanged. " * 5,
        "El puerto registró un número récord de contenedores.",
    ]
    assert agreement(texts) >= 0.8


def test_a_unit_whose_branch_logit_overflows_gets_fasttexts_answer_without_a_warning() -> None:
    # Ideographs without spaces: one word of many n-grams, a dot product at an inner node of the
    # tree whose exponential is past float32's range.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        agreement(["\U0002e651\U00029cc6\U00020c58\U000229c9\U00019b68\u8c56\u32e7\u42af"])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.text(
            alphabet=st.one_of(
                st.sampled_from(list("abcdeéèçàlnorstu  \t\n<>/_0379")),
                st.characters(blacklist_categories=("Cs",)),
            ),
            max_size=200,
        ),
        max_size=20,
    )
)
def test_any_text_gets_fasttexts_label(texts: list[str]) -> None:
    agreement(texts)


def test_words_read_before_give_the_rows_they_had_when_new(monkeypatch: pytest.MonkeyPatch) -> None:
    batches = [
        ["le gouvernement a annoncé un plan", "the central bank kept its rate"],
        ["le plan du gouvernement est annoncé", "a new central bank rate </s> plan"],
        ["gouvernement", "", "bank bank bank"],
    ]
    computed: list[str] = []
    subword_rows = lid176.subword_rows

    def counted(model: lid176.Lid176, tokens: list[str]) -> tuple[np.ndarray, np.ndarray]:
        computed.extend(tokens)
        return subword_rows(model, tokens)

    monkeypatch.setattr(lid176, "subword_rows", counted)
    monkeypatch.setattr(lid176, "KEPT_WORDS", 9)  # room for nine words only
    remembering = read_model(model_bytes())
    answers = [lid176.predict(remembering, batch, MAX_CHARS) for batch in batches]
    after_first = computed[len(set(" ".join(batches[0]).split())) : len(computed)]
    monkeypatch.setattr(lid176, "KEPT_WORDS", 0)
    assert answers == [lid176.predict(read_model(model_bytes()), batch, MAX_CHARS) for batch in batches]
    assert len(remembering.seen.slots) == 9
    first_nine = list(dict.fromkeys(" ".join(batches[0]).split()))[:9]
    assert list(remembering.seen.slots) == first_nine
    assert not set(first_nine) & set(after_first)  # never computed again
    assert "rate" in after_first  # a word with no room left is computed every time


def test_a_file_that_is_not_a_fasttext_model_is_refused() -> None:
    with pytest.raises(CorpusError, match="not a fastText model"):
        read_model(b"\x00" * 64)


@pytest.mark.realdata
def test_real_sentences_and_news_get_fasttexts_labels(shared_data: Path) -> None:
    lines = (shared_data / "darija-lid" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    sentences = [json.loads(line)["text"] for line in lines]
    news = [pl.read_csv(shared_data / "fr-tn-mosaiquefm" / "MosaiqueFM_v0.csv")["Article"]]
    for path in sorted((shared_data / "fr-financial-ma" / "scrapes").glob("*.csv")):
        news.append(pl.read_csv(path, infer_schema=False)["text"])
    articles = pl.concat(news).drop_nulls()
    documents = pl.DataFrame({"doc": np.arange(articles.len(), dtype=np.uint32), "sample": articles})
    units = split_units(documents, 1000)["unit"].to_list()
    assert len(sentences) > 19_000 and len(units) > 5_000
    # All but a few probabilities are bit for bit fastText's (on the make_corpus news: 21 of 30,590).
    assert agreement(sentences + units) >= 0.999
