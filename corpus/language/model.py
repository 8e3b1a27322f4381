"""The trained Darija model: logistic regressions over hashed character n-grams.

Two heads share one featuriser (`features.py`): `arabic` tells Darija in Arabic script (`ary`)
from MSA (`ar`), `latin` tells Darija in Latin letters (`ary_Latn`) from other Latin text. A
head's logit is its bias, plus the mean weight of the text's features (so it does not grow with
length), plus its hand lexicon's logit times a learnt weight (the lexicon as a feature), minus a
shift for texts with few n-grams (`short_shifts`).
Written here rather than taken from a library: scikit-learn or fastText training would add a
dependency for 40 lines of numpy, their file formats are not byte-reproducible, and inference
here is the same vectorised pass the featuriser already makes.
Weights ship in `weights/` (`weights.npy`, float16, and `model.json`); `python -m
corpus.language.train` rebuilds both byte for byte. Attribution for the text they were trained on
(CC BY-SA 4.0, CC BY 2.0 FR, CC BY-SA 3.0, MIT) is in `weights/ATTRIBUTION.md`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from corpus.errors import CorpusError
from corpus.language.features import Hashing, mean_weights
from corpus.language.lexicon import load_lexicon, probabilities

MODEL_FILES = ("model.json", "weights.npy")
# The hand lexicon each head reads as one more feature (its logit), and how far that logit may go:
# probabilities clipped to 1e-4..1 - 1e-4 (logits within ±9.2), as in training, so a text crowded
# with markers gets a bounded push. Without the lexicon, Hespress F1 of ary fell from 0.917 to 0.724.
LEXICONS = {"arabic": "darija", "latin": "arabizi"}
PRIOR_CLIP = 1e-4


@dataclass(frozen=True)
class Head:
    """One binary head: weights per bucket, bias, and the labels of its two sides."""

    weights: np.ndarray  # float32, one per bucket
    bias: float
    prior: float  # weight of the lexicon's logit
    positive: str
    negative: str
    short_ngrams: int  # texts with fewer n-grams than this are pushed toward `negative` ...
    short_shift: float  # ... by short_shift x log(short_ngrams / n-grams) (see short_shifts)


@dataclass(frozen=True)
class Model:
    hashing: Hashing
    heads: dict[str, Head]


def _folder():  # type: ignore[no-untyped-def]
    return resources.files("corpus.language").joinpath("weights")


@cache
def load_model() -> Model:
    """The shipped model (never downloaded)."""
    try:
        meta = json.loads(_folder().joinpath("model.json").read_text(encoding="utf-8"))
        with _folder().joinpath("weights.npy").open("rb") as handle:
            weights = np.load(handle).astype(np.float32)
        hashing = Hashing(**{**meta["hashing"], "orders": tuple(meta["hashing"]["orders"])})
        heads = {
            name: Head(
                weights[head["row"]],
                head["bias"],
                head["prior"],
                head["positive"],
                head["negative"],
                head["short_ngrams"],
                head["short_shift"],
            )
            for name, head in meta["heads"].items()
        }
    except (OSError, KeyError, ValueError, IndexError, TypeError) as exc:
        raise CorpusError(
            f"language: model in corpus/language/weights is missing or malformed: {exc}"
        ) from exc
    return Model(hashing, heads)


def weights_sha256() -> str:
    """One fingerprint of the shipped model files, for the release manifest."""
    digest = hashlib.sha256()
    for name in MODEL_FILES:
        digest.update(name.encode() + b"\0" + _folder().joinpath(name).read_bytes())
    return digest.hexdigest()


def lexicon_probabilities(texts: list[str], head: str) -> np.ndarray:
    """The probability the head's hand lexicon gives each text."""
    name = LEXICONS[head]
    return probabilities(texts, [load_lexicon(name)])[name].to_numpy()


def lexicon_logits(texts: list[str], head: str, found: np.ndarray | None = None) -> np.ndarray:
    """The logit of the head's lexicon for each text (from `found` probabilities when the caller has
    them), clipped (see PRIOR_CLIP)."""
    found = lexicon_probabilities(texts, head) if found is None else found
    clipped = np.clip(found, PRIOR_CLIP, 1.0 - PRIOR_CLIP)
    return np.asarray(np.log(clipped / (1.0 - clipped)))


def short_shifts(counts: np.ndarray, ngrams: int, shift: float) -> np.ndarray:
    """What a text with `counts` n-grams loses from its logit: shift x log(ngrams / counts) under
    `ngrams` n-grams, nothing at or above. The mean weight of a few n-grams strays far from the bias,
    and the training windows balance the labels at every length, so the fit cannot learn that most
    short Arabic text is MSA (train.SHORT_SHIFT has the figures)."""
    if not shift:
        return np.zeros(len(counts))
    return np.asarray(shift * np.log(np.maximum(ngrams / np.maximum(counts, 1), 1.0)))


def head_logits(texts: list[str], head: str, lexicon: np.ndarray | None = None) -> np.ndarray:
    """Each text's logit of the head's positive label: bias, mean n-gram weight, weighted lexicon
    logit (`lexicon`: the head's lexicon probabilities, when already computed with another lexicon),
    minus the short-text shift."""
    model = load_model()
    chosen = model.heads[head]
    means, counts = mean_weights(texts, chosen.weights, model.hashing)
    prior = lexicon_logits(texts, head, lexicon) if chosen.prior else 0.0
    shifts = short_shifts(counts, chosen.short_ngrams, chosen.short_shift)
    return means + chosen.bias + chosen.prior * prior - shifts


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """Logistic function, without overflow warnings for large negative logits."""
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * logits)))
