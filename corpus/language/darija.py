"""Layer 3a, Darija in Arabic script: Moroccan Arabic (`ary`) versus Modern Standard Arabic (`ar`).

Every wheel-shipped model labels Darija `ar`. Darija differs from MSA mostly in grammar words
(ديال، كاين، بزاف، واش، دابا، غادي…) and a few affixes (ma-…-sh negation, ka-/ta- verb prefix), so a
weighted marker lexicon (`lexicons/darija.yaml`), with MSA function words counting against,
separates them; see tests/benchmarks/bench_language.py for its precision and recall.
"""

from __future__ import annotations

import polars as pl

from corpus.language.lexicon import load_lexicon, probabilities


def darija_probability(texts: pl.Series) -> pl.Series:
    """Probability that each Arabic-script text is Darija rather than MSA."""
    return probabilities(texts, [load_lexicon("darija")])["darija"]
