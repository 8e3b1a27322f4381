"""Weighted marker lexicons (YAML in `lexicons/`), scored over whole batches of texts.

A lexicon is a few groups of words or whole-word regexes, each with a weight saying how specific
it is; a text's score is the sum of the weights of its words per word, mapped to a probability
by a logistic curve. Hand weights keep every decision explainable and need no training text.
A group may also give verb `stems` with the `before`/`after` affixes to combine them with
(كن+قول+و → كنقولو), and a lexicon may `fold` spelling variants (أ إ آ → ا, elongated letters)
in both its words and the texts, so one entry covers the ways commenters spell it.
Texts are cut into words once and the words looked up in a hash table: a regex alternation
with Unicode word boundaries over the raw text measured 1 µs per character, 40 times slower.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import polars as pl
import yaml

from corpus import codepoints
from corpus.errors import CorpusError
from corpus.language.features import chunks

# `word*` in a lexicon stands for the word plus these endings (Darija pronoun suffixes, feminine and
# plural endings): ديال* finds ديالو, ديالهم; مزيان* finds مزيانة.
SUFFIXES = ("", "ي", "ك", "و", "ه", "ها", "هم", "نا", "كم", "ة", "ين", "ات", "ش")


@dataclass(frozen=True)
class Lexicon:
    name: str
    words: dict[str, float]  # word -> weight
    patterns: tuple[tuple[float, str], ...]  # (weight, regex matching a whole word)
    prefixes: str  # one-letter prefixes a word may carry (و and, ف in)
    word_class: str  # what a word is a run of: one regex character class (`words: '\p{L}+'`)
    ignore_case: bool
    fold: bool  # fold Arabic spelling variants before lookup (see `fold_arabic`)
    offset: float  # score (weight per word) at which the probability is one half
    scale: float  # steepness of the logistic curve around `offset`


# What stands between two texts while they are cut as one string (any character of a text outside
# the word class is a space by then, so this one marks only the ends).
TEXT_END = "\x00"
# Arabic spelling variants commenters mix freely: hamza seats on alif, alif maqsura, tatweel.
FOLDED = {"أ": "ا", "إ": "ا", "آ": "ا", "ى": "ي", "ـ": ""}
# Letters commenters stretch for emphasis (بزااااف, واااش): runs this long or longer are one letter.
STRETCHED = {"ا": 2, "و": 3, "ي": 3, "ه": 3}
STRETCHED_CODES = np.array(sorted(map(ord, STRETCHED)), dtype=np.uint32)
STRETCHED_RUNS = np.array([STRETCHED[chr(code)] for code in STRETCHED_CODES], dtype=np.int64)


def fold_arabic(text: pl.Expr) -> pl.Expr:
    """The folded spelling of Arabic words or texts (variants unified, stretched letters shortened).

    Two passes: the variants in one (Aho-Corasick), then every stretched run in one regex whose
    replacement keeps the one group that matched (a pass per letter was twice as slow)."""
    runs = "|".join(f"({letter}){{{run},}}" for letter, run in STRETCHED.items())
    kept = "".join(f"${{{group}}}" for group in range(1, len(STRETCHED) + 1))
    return text.str.replace_many(FOLDED).str.replace_all(runs, kept)


def _expand(word: str) -> list[str]:
    return [word[:-1] + s for s in SUFFIXES] if word.endswith("*") else [word]


def group_words(group: dict[str, Any]) -> list[str]:
    """The words of a marker group: its `words`, plus every before + stem + after of its `stems`."""
    words = [str(w) for w in group.get("words", [])]
    stems = [str(s) for s in group.get("stems", [])]
    before = [str(b) for b in group.get("before", [""])]
    after = [str(a) for a in group.get("after", [""])]
    return words + [b + s + a for s in stems for b in before for a in after]


@cache
def load_lexicon(name: str) -> Lexicon:
    """A lexicon shipped in the package (`corpus/language/lexicons/<name>.yaml`)."""
    path = resources.files("corpus.language").joinpath("lexicons", f"{name}.yaml")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        ignore_case = bool(raw.get("ignore_case", False))
        fold = bool(raw.get("fold", False))
        forms, weights = [], []
        for group in raw["markers"]:
            for word in group_words(group):
                for form in _expand(word.lower() if ignore_case else word):
                    forms.append(form)
                    weights.append(float(group["weight"]))
        if fold:
            forms = (
                pl.Series(forms, dtype=pl.String)
                .to_frame("w")
                .select(fold_arabic(pl.col("w")))["w"]
                .to_list()
            )
        words: dict[str, float] = {}
        for form, weight in zip(forms, weights, strict=True):
            words.setdefault(form, weight)  # the first group naming a word sets its weight
        patterns = tuple(
            (float(p["weight"]), ("(?i)" if ignore_case else "") + f"^(?:{p['regex']})$")
            for p in raw.get("patterns", [])
        )
        return Lexicon(
            name,
            words,
            patterns,
            str(raw.get("prefixes", "")),
            _word_class(name, str(raw["words"])),
            ignore_case,
            fold,
            float(raw["offset"]),
            float(raw["scale"]),
        )
    except (OSError, KeyError, TypeError, ValueError, yaml.YAMLError) as exc:
        raise CorpusError(f"language: lexicon {name}.yaml is missing or malformed: {exc}") from exc


def _word_class(name: str, words: str) -> str:
    """The character class of a lexicon's `words` regex, which must be one class repeated (letters:
    `\\p{L}+`), since words are cut with a table of that class (see `_spaced`)."""
    if not re.fullmatch(r"(\\p\{\w+\}|\[[^\[\]]+\])\+", words):
        raise CorpusError(f"language: lexicon {name}.yaml: words must be one character class and +: {words}")
    return words.removesuffix("+")


def lexicons_sha256() -> str:
    """One fingerprint of every shipped lexicon (they shape `language` as much as the model does)."""
    digest = hashlib.sha256()
    folder = resources.files("corpus.language").joinpath("lexicons")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            digest.update(entry.name.encode() + b"\0" + entry.read_bytes())
    return digest.hexdigest()


def lexicon_entry(word: pl.Expr, lexicon: Lexicon) -> pl.Expr:
    """The lexicon word each word counts as: itself, else itself without its one-letter prefix;
    null when neither is in the lexicon."""
    known = {w: w for w in lexicon.words}  # a hash lookup: `is_in` on a list measured 1.4x slower
    exact = word.replace_strict(known, default=None, return_dtype=pl.String)
    if not lexicon.prefixes:
        return exact
    stripped = word.str.slice(1).replace_strict(known, default=None, return_dtype=pl.String)
    return pl.coalesce(exact, pl.when(word.str.contains(f"^[{lexicon.prefixes}]")).then(stripped))


def word_weights(word: pl.Expr, lexicon: Lexicon) -> pl.Expr:
    """Weight of each word: its lexicon entry's (see `lexicon_entry`), else the first matching pattern."""
    entry = lexicon_entry(word, lexicon).replace_strict(lexicon.words, default=None, return_dtype=pl.Float64)
    patterns = [pl.when(word.str.contains(regex)).then(pl.lit(weight)) for weight, regex in lexicon.patterns]
    return pl.coalesce([entry, *patterns]).fill_null(0.0)


def text_words(texts: pl.Series | list[str], lexicons: list[Lexicon]) -> pl.DataFrame:
    """One row per word of each text (`row`, `word`), cut and folded as the lexicons read them
    (lowered by `lexicon_word` when they ignore case); lexicons read together must agree."""
    first = lexicons[0]
    cut = (first.word_class, first.ignore_case, first.fold)
    if any((lex.word_class, lex.ignore_case, lex.fold) != cut for lex in lexicons):
        raise CorpusError("language: lexicons scored together must cut words the same way")
    strings = texts if isinstance(texts, list) else texts.cast(pl.String).fill_null("").to_list()
    spaced = pl.Series("text", _spaced(strings, first.word_class, first.fold), dtype=pl.String)
    return (
        spaced.to_frame()
        .with_row_index("row")
        .select("row", word=pl.col("text").str.split(" "))
        .explode("word")
        .filter(pl.col("word") != "")
    )


def _spaced(texts: list[str], word_class: str, fold: bool) -> list[str]:
    """Each text with every character outside the class a space (and folded as `fold_arabic` folds,
    when `fold`), so that words are what splitting at spaces leaves: one table lookup over the code
    points in numpy (see `_word_table`). Extracting the words with the class regex took about a
    sixth of the language step's instructions on news (a forward and a backward search per word);
    folding the texts in polars first cost a pass and a copy of every text."""
    table = _word_table(word_class, fold)
    spaced: list[str] = []
    for _, part in chunks(texts):
        codes = table.take(codepoints.code_points(TEXT_END.join(part)), mode="clip")
        lengths = np.fromiter(map(len, part), dtype=np.int64, count=len(part))
        codes[(np.cumsum(lengths + 1) - 1)[:-1]] = ord(TEXT_END)
        if fold:
            codes = _unstretched(_without(codes, DROPPED))
        spaced.extend(codes.tobytes().decode("utf-32-le").split(TEXT_END))
    return spaced


DROPPED = np.uint32(0xFFFFFFFF)  # what `_word_table` gives the characters folding drops (no code point)


@cache
def _word_table(word_class: str, fold: bool) -> np.ndarray:
    """What each code point becomes in a text cut into words: itself inside the class, a space
    outside it (past the table, clipped to its last entry: a space); with `fold`, the FOLDED
    variants their letter, or DROPPED."""
    inside = codepoints.class_table(((1, word_class),))
    table = np.where(inside != 0, np.arange(inside.size, dtype=np.uint32), np.uint32(ord(" ")))
    for variant, folded in FOLDED.items() if fold else ():
        table[ord(variant)] = table[ord(folded)] if folded else DROPPED
    return table


def _without(codes: np.ndarray, value: np.uint32) -> np.ndarray:
    """The code points but those equal to `value` (no copy when there are none)."""
    found = codes == value
    return codes[~found] if found.any() else codes


def _unstretched(codes: np.ndarray) -> np.ndarray:
    """Every run of a stretched letter at least its STRETCHED length long cut to its first letter,
    as `fold_arabic`'s regex cuts it."""
    repeats = codes[1:] == codes[:-1]
    repeats &= (codes[1:] - STRETCHED_CODES[0]) <= STRETCHED_CODES[-1] - STRETCHED_CODES[0]
    candidates = np.flatnonzero(repeats) + 1  # positions repeating the stretched-range letter before
    candidates = candidates[np.isin(codes[candidates], STRETCHED_CODES)]
    if not candidates.size:
        return codes
    # Adjacent repeats belong to one run: two runs of different letters never touch at a repeat.
    first = np.flatnonzero(np.diff(candidates, prepend=-2) != 1)  # the first repeat of each run
    repeated = np.diff(first, append=candidates.size)  # a run's length less one
    need = STRETCHED_RUNS[np.searchsorted(STRETCHED_CODES, codes[candidates[first]])]
    dropped = candidates[np.repeat(repeated + 1 >= need, repeated)]
    return np.delete(codes, dropped) if dropped.size else codes


def lexicon_word(word: pl.Expr, lexicon: Lexicon) -> pl.Expr:
    """A word as the lexicon looks it up: lowered when it ignores case. Word by word, after the
    text is cut: a few capitals lower to a letter plus a mark, which would cut a lowered text."""
    return word.str.to_lowercase() if lexicon.ignore_case else word


def probabilities(texts: pl.Series | list[str], lexicons: list[Lexicon]) -> pl.DataFrame:
    """Per text, the probability of each lexicon's language (one column per lexicon name).

    The texts are cut into words once for all lexicons, which must agree on what a word is.
    """
    words = text_words(texts, lexicons)
    # Each distinct word is lowered and weighed once (a corpus repeats its words: 5,000 news
    # paragraphs hold 945k words, 69k distinct); only the words that weigh something (a few
    # hundred) are joined back to their occurrences, the rest adding nothing to a text's sum.
    distinct = words.select(pl.col("word").unique(maintain_order=True)).with_columns(
        _lookup=lexicon_word(pl.col("word"), lexicons[0])
    )
    weighed = (word_weights(pl.col("_lookup"), lex).alias(lex.name) for lex in lexicons)
    weights = distinct.select("word", *weighed).filter(
        pl.any_horizontal(pl.col(lex.name) != 0.0 for lex in lexicons)
    )
    sums = (
        words.filter(pl.col("word").is_in(weights["word"].implode()))
        .join(weights, on="word", how="left", maintain_order="left")
        .group_by("row")
        .agg(pl.col(lex.name).sum() for lex in lexicons)
    )
    counts = np.bincount(words["row"].to_numpy(), minlength=len(texts))
    every = pl.DataFrame({"row": pl.int_range(len(texts), eager=True, dtype=pl.UInt32), "_words": counts})
    scores = every.join(sums, on="row", how="left").sort("row")
    return scores.select(
        (1.0 / (1.0 + ((_per_word(lex.name) - lex.offset) * -lex.scale).exp())).alias(lex.name)
        for lex in lexicons
    )


def _per_word(name: str) -> pl.Expr:
    """A lexicon's weight per word of the text (0 for a text without words)."""
    return pl.when(pl.col("_words") > 0).then(pl.col(name).fill_null(0.0) / pl.col("_words")).otherwise(0.0)
