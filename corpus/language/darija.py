"""Layer 3a, Darija in Arabic script: Moroccan Arabic (`ary`) versus Modern Standard Arabic (`ar`).

Every wheel-shipped model labels Darija `ar`. The trained model's `arabic` head (`model.py`) reads
character n-grams and words, learnt from Darija and MSA windows of equal lengths, plus the hand
lexicon's logit (`lexicons/darija.yaml`: ديال، كاين، بزاف، ma-…-sh, ka-/ta- verbs against MSA function
words) as one more feature; tests/benchmarks/bench_language.py measures both and their sum.
"""

from __future__ import annotations

import polars as pl

from corpus.language.lexicon import load_lexicon, probabilities
from corpus.language.model import head_logits, sigmoid


def darija_probability(texts: pl.Series) -> pl.Series:
    """Probability that each Arabic-script text is Darija rather than MSA."""
    strings = texts.cast(pl.String).fill_null("").to_list()  # once, for the lexicon and the head
    lexicon = probabilities(strings, [load_lexicon("darija")])["darija"].to_numpy()
    return pl.Series(sigmoid(head_logits(strings, "arabic", lexicon)))
