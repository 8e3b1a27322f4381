"""Layer 3b, Latin script: Darija in Latin letters (`ary_Latn`, "Arabizi") and Kabyle (`kab`).

No wheel-shipped model knows either: fastText reads Arabizi as anything from French to Malay, and
is often sure of it (fr 0.87 on "Bghit nsowlek wach l9raya ghadi tbda f septembre"), so it cannot
veto. Arabizi comes from the trained model's `latin` head (`model.py`: character n-grams, which
see the digits 3 = ع, 7 = ح, 9 = ق inside words, plus the Arabizi lexicon's logit), learnt from
DODa against French news. Kabyle has letters of its own (ɣ, ɛ, č, ḍ…) and short grammar words
(`lexicons/kabyle.yaml`) and no training text here, so it stays a lexicon.
"""

from __future__ import annotations

import polars as pl

from corpus.language.lexicon import load_lexicon, probabilities
from corpus.language.model import head_logits, sigmoid


def latin_probabilities(texts: pl.Series) -> pl.DataFrame:
    """Per Latin-script text, the probability that it is Arabizi (`arabizi`) and Kabyle (`kabyle`).

    Both lexicons are read in one pass over the words; the Arabizi one feeds the model's head."""
    strings = texts.cast(pl.String).fill_null("").to_list()  # once, for the lexicons and the head
    lexicons = probabilities(strings, [load_lexicon("arabizi"), load_lexicon("kabyle")])
    arabizi = sigmoid(head_logits(strings, "latin", lexicons["arabizi"].to_numpy()))
    return pl.DataFrame({"arabizi": arabizi, "kabyle": lexicons["kabyle"]})
