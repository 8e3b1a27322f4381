"""Layer 3b, Latin script: Darija in Latin letters (`ary_Latn`, "Arabizi") and Kabyle (`kab`).

No wheel-shipped model knows either: fastText reads Arabizi as anything from French to Malay.
Arabizi has digits for Arabic sounds inside words (3 = ع, 7 = ح, 9 = ق) and a Darija lexicon in
Latin spelling; Kabyle has letters of its own (ɣ, ɛ, č, ḍ…) and short grammar words. French,
Spanish and English function words count against both (`lexicons/arabizi.yaml`, `kabyle.yaml`).
"""

from __future__ import annotations

import polars as pl

from corpus.language.lexicon import load_lexicon, probabilities


def latin_probabilities(texts: pl.Series) -> pl.DataFrame:
    """Per Latin-script text, the probability that it is Arabizi (`arabizi`) and Kabyle (`kabyle`)."""
    return probabilities(texts, [load_lexicon("arabizi"), load_lexicon("kabyle")])
