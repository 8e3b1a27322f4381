"""Train the Darija model from the shared data and write its weights, byte for byte reproducibly.

    python -m corpus.language.train --data ../shared/data

Reads `training_data.py`'s items, keeps the training folds (never the validation fold), cuts
them into length-balanced windows (`windows.py`) and fits each head by L-BFGS on the windows'
feature frequencies (scipy, needed only here). Everything is ordered and single-threaded, and the
weights are rounded to float16 and written with `np.save` (no zip, no timestamp), so the same
data gives the same bytes.

The machine must not choose the arithmetic either: OpenBLAS picks its kernels and thread count per
CPU, numpy its SIMD loops (tanh, exp, log), and each choice changes the fit's last digits, which
L-BFGS carries into the weights. So the command runs itself again with `PINNED` in the environment
(both libraries read it when they load): one thread, OpenBLAS's Haswell kernels, numpy's loops up
to AVX2. An x86-64 CPU with AVX2 and FMA (Intel since 2013, every AMD Zen) then takes the same
arithmetic (checked on an AMD EPYC only); an older or non-x86 CPU trains with its own kernels, and
says its weights will differ.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import polars as pl

from corpus.language.features import Hashing, bucket_counts
from corpus.language.model import lexicon_logits
from corpus.language.training_data import FOLDS, VALIDATION, labelled_items
from corpus.language.windows import balanced

# Character n-grams of 1-5 letters, in 2^18 buckets (see features.py). Dev folds: without unigrams
# cross-validation F1 +0.005 but PUD read as MSA 0.913 -> 0.905; whole words as well changed nothing;
# averaging over count + 100 (pulling short texts toward the bias) cost 0.013 of cross-validation F1.
# Four training folds, `arabic` head, F1 of ary under 60 characters / sentences / Hespress comments:
# 0.749 / 0.937 / 0.894 as it is; 2^20 buckets 0.739 / 0.938 / 0.881; 1-6-grams 0.747 / 0.934 /
# 0.894; DODa's Arabizi transliterated into Arabic letters as more (conversational) Darija 0.753 /
# 0.934 / 0.892; the lexicon's weight raised for texts under SHORT_NGRAMS 0.749 at most.
HASHING = Hashing(orders=(1, 2, 3, 4, 5), bits=18)
# L2 penalty on the weights (per window, mean log-loss), chosen on development data (two of the four
# training folds, the Hespress comments, PUD left out): F1 of ary 0.923 on the folds against 0.895
# for 1e-6 and 0.865 for 1e-5; Hespress 0.906, 0.894, 0.885. Less penalty leans more on a source's
# style (PUD left out: 0.907 read as MSA at 1e-6, 0.880 at 1e-7); LABEL_NOISE wins that back.
L2 = 1e-7
# Passes over the positive side's text, each cut with the window lengths in another order: more
# windows from the small Darija sources, as many characters of negatives.
PASSES = 3
# Darija sentences whose lexicon logit is below this are left out of the `arabic` head's training:
# a text without any marker scores -2.1, so these hold MSA function words and no Darija marker that
# outweighs them (OLDI translations that kept MSA grammar). Dev folds: Hespress F1 of ary 0.906 ->
# 0.917, PUD read as MSA 0.913 -> 0.945, cross-validation F1 unchanged (0.923 -> 0.921).
LABEL_NOISE = {"arabic": -2.2}
# Texts with fewer n-grams than SHORT_NGRAMS (about 65 characters) lose SHORT_SHIFT x log(SHORT_NGRAMS /
# n-grams) from the head's logit (model.short_shifts): the windows balance the labels at every length,
# so the fit cannot learn that short Arabic text is mostly MSA. Cross-validation on the training folds,
# texts under 60 characters: MSA read as Darija 8.2% -> 1.9% (as for sentences), ary precision 0.359 ->
# 0.694, recall 0.880 -> 0.807; sentences and paragraphs unchanged (F1 0.937, 0.988); Hespress held-out
# F1 of ary 0.884 -> 0.894. Larger shifts raise F1 under 60 characters further only because those texts
# are 95% MSA (4.0: 0.795, recall 0.737), and 3.0 already loses a Hespress Darija comment. At the same
# 1.9-2.0% misread, a step below 60 characters kept recall 0.735, a shift in 1/sqrt(n-grams) cost
# sentence F1 0.937 -> 0.915; averaging over count + 30 in training changed nothing (precision 0.348),
# and a log(n-grams) feature fitted in training did worse (10.1% misread, precision 0.316).
SHORT_NGRAMS = 300
SHORT_SHIFT = {"arabic": 2.0, "latin": 0.0}
# The environment training runs in (see the module docstring). On an AMD
# EPYC (AVX2), two OpenBLAS threads, its Sandybridge kernels or numpy without AVX2 each gave other weights.
PINNED = {
    "OPENBLAS_NUM_THREADS": "1",
    "OPENBLAS_CORETYPE": "Haswell",
    "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",
}
ITERATIONS = 400  # at most this many L-BFGS iterations: bounds the training time (about a minute a head)
# head -> (positive label, negative label, labels it learns from).
HEADS = {
    "arabic": ("ary", "ar", ("ary", "ar")),
    "latin": ("ary_Latn", "fr", ("ary_Latn", "fr")),
}
MODEL_FOLDER = Path(__file__).resolve().parent / "weights"


@dataclass(frozen=True)
class Fitted:
    weights: np.ndarray  # float64, one per bucket
    bias: float
    prior: float  # weight of the lexicon's logit (0 without one)


def design(texts: list[str], hashing: Hashing):  # type: ignore[no-untyped-def]
    """Rows of feature frequencies (counts over the text's total), a scipy CSR matrix built from
    sorted (row, bucket) pairs: the same matrix, in the same memory order, however the features
    were chunked, so the fit's sums run in one order and the weights come out byte for byte."""
    from scipy import sparse

    rows, columns = bucket_counts(texts, hashing)
    pairs, counts = np.unique(rows << hashing.bits | columns, return_counts=True)
    rows, columns = pairs >> hashing.bits, pairs & ((1 << hashing.bits) - 1)
    totals = np.maximum(np.bincount(rows, weights=counts, minlength=len(texts)), 1)
    shape = (len(texts), 1 << hashing.bits)
    return sparse.csr_matrix((counts / totals[rows], (rows, columns)), shape=shape)


def fit(
    texts: list[str], positive: np.ndarray, hashing: Hashing, l2: float, prior: np.ndarray | None = None
) -> Fitted:
    """Binary logistic regression on the texts' feature frequencies, plus the lexicon's logit
    (`prior`) as one more feature when given; L2 penalty on the bucket weights only."""
    from scipy.optimize import minimize

    matrix = design(texts, hashing)
    target = positive.astype(np.float64)
    extra = np.zeros(len(texts)) if prior is None else prior.astype(np.float64)
    size = matrix.shape[1]

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        weights = params[:size]
        logits = matrix @ weights + params[size] + params[size + 1] * extra
        # log(1 + e^z) - t z, stable for large |z|
        value = np.logaddexp(0.0, logits) - target * logits
        error = 0.5 * (1.0 + np.tanh(0.5 * logits)) - target
        grad = np.concatenate(
            [matrix.T @ error / len(target) + l2 * weights, [error.mean(), error @ extra / len(target)]]
        )
        return float(value.mean() + 0.5 * l2 * weights @ weights), grad

    start = np.zeros(size + 2)
    found = minimize(loss, start, jac=True, method="L-BFGS-B", options={"maxiter": ITERATIONS})
    return Fitted(found.x[:size], float(found.x[size]), float(found.x[size + 1]))


def training_windows(items: pl.DataFrame, head: str, folds: set[int]) -> pl.DataFrame:
    """The head's balanced windows from the given folds (positive items below LABEL_NOISE left out)."""
    positive, _, labels = HEADS[head]
    chosen = items.filter(pl.col("label").is_in(labels) & pl.col("fold").is_in(sorted(folds)))
    if head in LABEL_NOISE:
        noisy = (chosen["label"] == positive).to_numpy()
        noisy &= lexicon_logits(chosen["text"].to_list(), head) < LABEL_NOISE[head]
        chosen = chosen.filter(pl.Series(~noisy))
    return balanced(chosen, positive, PASSES)


def fit_head(items: pl.DataFrame, head: str, folds: set[int], l2: float = L2, prior: bool = True) -> Fitted:
    """Fit one head on the windows of the given folds, with its lexicon's logit as a feature or not."""
    windows = training_windows(items, head, folds)
    texts = windows["text"].to_list()
    logits = lexicon_logits(texts, head) if prior else None
    return fit(texts, windows["positive"].to_numpy(), HASHING, l2, logits)


def write_model(folder: Path, fitted: dict[str, Fitted], notes: dict[str, object]) -> None:
    """`weights.npy` (float16, one row per head) and `model.json`, both deterministic."""
    folder.mkdir(parents=True, exist_ok=True)
    names = sorted(fitted)
    buffer = io.BytesIO()
    np.save(buffer, np.stack([fitted[n].weights for n in names]).astype("<f2"), allow_pickle=False)
    (folder / "weights.npy").write_bytes(buffer.getvalue())
    heads = {
        name: {
            "row": row,
            "bias": round(fitted[name].bias, 6),
            "prior": round(fitted[name].prior, 6),
            "short_ngrams": SHORT_NGRAMS,
            "short_shift": SHORT_SHIFT[name],
            "positive": HEADS[name][0],
            "negative": HEADS[name][1],
        }
        for row, name in enumerate(names)
    }
    meta = {"hashing": asdict(HASHING), "heads": heads, "training": notes}
    text = json.dumps(meta, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    (folder / "model.json").write_text(text, encoding="utf-8")


ATTRIBUTION = """# What the language model was trained on

`weights.npy` and `model.json` are derived from the sentences and articles below (training folds
only; `corpus/language/training_data.py` says which). The share-alike and attribution licences of
the first four carry over to the weights: redistribute them under CC BY-SA 4.0 with this file.

| label | source | licence |
|---|---|---|
| ary | OLDI Seed `ary_Arab` (openlanguagedata/seed @4584967) | CC BY-SA 4.0 |
| ar | Tatoeba sentences via omnia197/eng2ara (contributors listed below) | CC BY 2.0 FR |
| ar | Universal Dependencies UD_Arabic-PUD @be733f4 | CC BY-SA 3.0 |
| ary_Latn | DODa `sentences.csv` (darija-open-dataset/dataset @f6b952c), (c) 2020 aissam | MIT |
| ar | Maghreb newspapers (Nasreddine/arabic_news_papers_for_llms) | none stated |
| ar | Moroccan news, feb.txt (elsayed-issa/The-Moroccan-News-Corpus) | none stated |
| fr (negatives) | financial news (khalidAgnaber/Moroccan_Financial_News_Analysis_System) | none stated |
| fr (negatives) | Mosaique FM (cahiersdelaliberte/mediachecker) | AGPL-3.0 repository |

The model keeps hashed n-gram weights, not text. The MIT notice of DODa: Copyright (c) 2020 aissam;
permission is granted free of charge to deal in the dataset without restriction, provided the
copyright notice and permission notice are included.

## Tatoeba sentences used (tatoeba.org sentence number and contributor)

"""


def write_attribution(folder: Path, items: pl.DataFrame) -> None:
    """`ATTRIBUTION.md`: sources, licences and every Tatoeba sentence credited (training folds)."""
    credits = items.filter(pl.col("credit").is_not_null())["credit"].unique().sort()
    text = ATTRIBUTION + "\n".join(f"- {credit}" for credit in credits) + "\n"
    (folder / "ATTRIBUTION.md").write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    """Train every head on the training folds and write the model."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data", type=Path, required=True, help="the shared data folder (../shared/data)")
    parser.add_argument("--out", type=Path, default=MODEL_FOLDER, help="where to write the model")
    args = parser.parse_args(argv)
    items = labelled_items(args.data)
    training = set(range(FOLDS)) - {VALIDATION}
    fitted = {head: fit_head(items, head, training) for head in HEADS}
    notes = {
        "l2": L2,
        "passes": PASSES,
        "iterations": ITERATIONS,
        "folds": sorted(training),
        "label_noise": LABEL_NOISE,
    }
    write_model(args.out, fitted, notes)
    write_attribution(args.out, items.filter(pl.col("fold").is_in(sorted(training))))


def pinned() -> bool:
    """Whether this process already runs with `PINNED` (or cannot: a CPU without AVX2 and FMA)."""
    from numpy._core._multiarray_umath import __cpu_features__

    if not (__cpu_features__.get("AVX2") and __cpu_features__.get("FMA3")):
        print("no AVX2/FMA on this CPU: the weights will differ from the shipped ones", file=sys.stderr)
        return True
    return all(os.environ.get(name) == value for name, value in PINNED.items())


if __name__ == "__main__":
    if not pinned():  # numpy and OpenBLAS are loaded already: start again with the pins set
        command = [sys.executable, "-m", "corpus.language.train", *sys.argv[1:]]
        os.execve(sys.executable, command, {**os.environ, **PINNED})
    main()
