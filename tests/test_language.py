"""Language identification, layer by layer, then the paragraph vote and the step.

Texts are our own (tests/data/language/samples.jsonl and the strings below); the real-data
checks are in test_language_realdata.py and the measurements in tests/benchmarks/bench_language.py.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.config import LanguageConfig, load_config
from corpus.engine.memory import run_steps
from corpus.errors import ConfigError, CorpusError
from corpus.language import detect as detect_module
from corpus.language import detect_languages, identify_language, lexicons_sha256, lid176
from corpus.language.arabizi import latin_probabilities
from corpus.language.base import MAX_CHARS, predict
from corpus.language.darija import darija_probability
from corpus.language.detect import classify_units
from corpus.language.lexicon import (
    _word_class,
    fold_arabic,
    group_words,
    lexicon_word,
    load_lexicon,
    probabilities,
    text_words,
    word_weights,
)
from corpus.language.paragraphs import split_units, vote
from corpus.pipeline import plan
from corpus.sources import read_sources
from tests.helpers import frame

SAMPLES = Path(__file__).resolve().parent / "data" / "language" / "samples.jsonl"
REPO = Path(__file__).resolve().parents[1]
SECTION = LanguageConfig()

FRENCH = "La Bourse de Casablanca a terminé la séance en hausse, portée par les valeurs bancaires."
MSA = "أعلنت وزارة الاقتصاد والمالية عن ارتفاع المداخيل الجبائية خلال الأشهر الأولى من السنة الجارية."
DARIJA = "واش كاين شي حد عارف علاش الماء مقطوع فالحومة من البارح؟ راه الدراري ما قادرينش يمشيو للمدرسة."
ARABIZI = "Wach kayn chi wa7ed 3ndo l'adresse dyal lmostacfa? 3afak siftha liya daba."
KABYLE = "Ass-a nella deg Tizi Wezzu i tmeɣra n Yennayer, aseggas ameggaz i yal yiwen."
TIFINAGH = "ⴰⵙⴳⴳⴰⵙ ⴰⵎⴳⴳⴰⵣ ⵉ ⵎⴰⵕⵕⴰ ⵉⵎⴰⵣⵉⵖⵏ 2976"
ENGLISH = "The port handled a record number of containers last year, officials said on Monday."


def detect(*texts: str | None, section: LanguageConfig = SECTION) -> pl.DataFrame:
    return detect_languages(pl.Series(list(texts), dtype=pl.String), section)


def samples() -> pl.DataFrame:
    return pl.read_ndjson(SAMPLES)


def darija_lexicon(texts: pl.Series) -> pl.Series:
    """The hand lexicon's Darija probability alone (the model reads it as one feature)."""
    return probabilities(texts, [load_lexicon("darija")])["darija"]


# --------------------------------------------------------------------------- layers on their own


def test_script_layer_labels_tifinagh_whatever_the_latin_around_it() -> None:
    units = classify_units(pl.DataFrame({"unit": [TIFINAGH, "Yennayer 2976: " + TIFINAGH, "Yennayer"]}), 0.3)
    assert units["label"].to_list()[:2] == ["zgh", "zgh"]
    assert units["label"][2] != "zgh"


def test_script_layer_threshold_is_the_tifinagh_share() -> None:
    text = "ⴰⵣⵓⵍ Azul fell-awen akk d wid yellan da"  # 4 Tifinagh letters of 30
    assert classify_units(pl.DataFrame({"unit": [text]}), 0.1)["label"][0] == "zgh"
    assert classify_units(pl.DataFrame({"unit": [text]}), 0.3)["label"][0] != "zgh"


def test_darija_layer_separates_our_darija_from_msa() -> None:
    rows = samples().filter(pl.col("label").is_in(["ary", "ar"]))
    probability = darija_probability(rows["text"])
    assert ((probability >= 0.5) == (rows["label"] == "ary")).all()


def test_darija_lexicon_counts_markers_with_prefixes_and_suffixes() -> None:
    base = darija_lexicon(pl.Series(["الكتاب على الطاولة في البيت الكبير"]))[0]
    suffixed = darija_lexicon(pl.Series(["الكتاب ديالو على الطاولة فالبيت الكبير"]))[0]
    prefixed = darija_lexicon(pl.Series(["الكتاب على الطاولة وبزاف في البيت الكبير"]))[0]
    assert base < 0.5 < min(suffixed, prefixed)


def test_darija_lexicon_folds_spelling_variants_and_stretched_letters() -> None:
    plain = "الكتاب على الطاولة في البيت الكبير"
    assert darija_lexicon(pl.Series([plain]))[0] < 0.5
    for variant in ["بزااااف", "بـزاف", "واااااش", "إيوا"]:  # stretched, tatweel, hamza seat
        assert darija_lexicon(pl.Series([f"{plain} {variant}"]))[0] > 0.5, variant


def test_darija_lexicon_knows_verb_forms_built_from_stems() -> None:
    """ka-/ta- and gha- prefixes on a stem, with an ending (كنقولو, غاتشوفي), from `stems` groups."""
    plain = "الكتاب على الطاولة في البيت الكبير"
    for verb in ["كنقولو", "غاتشوفي", "تانفهم", "عرفتي"]:
        assert darija_lexicon(pl.Series([f"{plain} {verb}"]))[0] > 0.5, verb


def test_darija_lexicon_leaves_msa_words_that_look_like_verb_forms() -> None:
    """Folding and stems must not turn MSA words into markers: أمتي (my nation), فأين (so where),
    قريتي (my village), كندي (Canadian), غاندي, تنشد (she seeks)."""
    msa = "قال المتحدث إن {} يستحق الاهتمام في هذا المجال الواسع"
    for word in ["أمتي", "فأين", "قريتي", "كندي", "غاندي", "تنشد"]:
        assert darija_lexicon(pl.Series([msa.format(word)]))[0] < 0.5, word


def test_lexicon_stem_groups_combine_every_affix() -> None:
    group = {
        "weight": 3.0,
        "words": ["واش"],
        "stems": ["قول", "شوف"],
        "before": ["كن", "غا"],
        "after": ["", "و"],
    }
    words = group_words(group)
    assert words[0] == "واش" and len(words) == 1 + 2 * 2 * 2
    assert {"كنقول", "كنقولو", "غاشوف", "غاشوفو"} <= set(words)


def lexicon_reference(texts: list[str | None], name: str) -> list[float]:
    """A lexicon's probability computed plainly: every word of a text weighed on its own, averaged."""
    lexicon = load_lexicon(name)
    words = text_words(pl.Series(texts, dtype=pl.String), [lexicon])
    looked = words.with_columns(_lookup=lexicon_word(pl.col("word"), lexicon))
    weighed = looked.with_columns(w=word_weights(pl.col("_lookup"), lexicon))
    means = dict(weighed.group_by("row").agg(pl.col("w").mean()).iter_rows())
    score = [means.get(row, 0.0) for row in range(len(texts))]
    return [1.0 / (1.0 + math.exp(-lexicon.scale * (s - lexicon.offset))) for s in score]


LEXICON_WORDS = [
    "ديال",
    "بزاف",
    "والله",
    "كنقولو",
    "الذي",
    "wach",
    "bzaf",
    "3lach",
    "deg",
    "ɣer",
    "le",
    "the",
]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.lists(st.sampled_from(LEXICON_WORDS) | st.text("abcأإىـ 379,.", max_size=6), max_size=9).map(
                " ".join
            ),
        ),
        max_size=8,
    ),
    st.sampled_from(["darija", "arabizi", "kabyle"]),
)
def test_lexicon_probabilities_equal_weighing_every_word_on_its_own(
    texts: list[str | None], name: str
) -> None:
    found = probabilities(pl.Series(texts, dtype=pl.String), [load_lexicon(name)])[name].to_list()
    assert found == pytest.approx(lexicon_reference(texts, name), rel=1e-12, abs=1e-15)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.lists(
                st.one_of(
                    st.sampled_from(list("ab3 \x00\n\t-_'ـأًّ٣ⴰ😀ǅ")),
                    # stretched letters and spelling variants, which the Darija lexicon folds
                    st.sampled_from(["ا", "ااا", "وو", "ووو", "ييي", "يـي", "ههههه", "أا", "ىي", "إإآ"]),
                    st.characters(blacklist_categories=("Cs",)),
                ),
                max_size=30,
            ).map("".join),
        ),
        max_size=8,
    ),
    st.sampled_from(["darija", "arabizi"]),
)
def test_words_are_what_the_word_regex_extracts(texts: list[str | None], name: str) -> None:
    lexicon = load_lexicon(name)
    series = pl.Series(texts, dtype=pl.String)
    text = fold_arabic(pl.col("t")) if lexicon.fold else pl.col("t")
    extracted = (
        series.to_frame("t")
        .with_row_index("row")
        .select("row", word=text.str.extract_all(lexicon.word_class + "+"))
        .explode("word")
        .drop_nulls()
    )
    assert text_words(series, [lexicon]).rows() == extracted.rows()


def test_a_lexicon_cuts_words_by_one_character_class() -> None:
    assert _word_class("x", r"[\p{L}\d]+") == r"[\p{L}\d]"
    for words in (r"\w+|\d", r"\p{L}*", r"[a-z][0-9]+", r"(\p{L})+"):
        with pytest.raises(CorpusError, match="one character class"):
            _word_class("x", words)


def test_darija_lexicon_on_text_without_words_is_not_darija() -> None:
    assert (
        darija_lexicon(pl.Series(["", "2024 - 15"])).to_list()
        == [pytest.approx(darija_lexicon(pl.Series([""]))[0])] * 2
    )
    assert darija_lexicon(pl.Series([""]))[0] < 0.5


def test_latin_layers_know_arabizi_and_kabyle_and_leave_european_text_alone() -> None:
    rows = samples().filter(pl.col("label").is_in(["ary_Latn", "kab", "en", "es", "fr"]))
    found = latin_probabilities(rows["text"])
    assert ((found["arabizi"] >= 0.5) == (rows["label"] == "ary_Latn")).all()
    assert ((found["kabyle"] >= 0.5) == (rows["label"] == "kab")).all()


def test_arabizi_lexicon_digits_count_only_inside_words() -> None:
    lexicon = [load_lexicon("arabizi")]
    plain = probabilities(pl.Series(["Le 3 mai, 7 personnes et 9 voitures"]), lexicon)["arabizi"][0]
    arabizi = probabilities(pl.Series(["wa7ed m3a sa7bo b9aw"]), lexicon)["arabizi"][0]
    assert plain < 0.5 < arabizi


def fasttext_ngram_hashes(words: list[bytes], minn: int, maxn: int) -> list[tuple[int, int]]:
    """(hash, word) of each n-gram as fastText's computeSubwords walks them: by first character, then
    length; FNV-1a over the bytes read as signed chars."""
    found = []
    for word, data in enumerate(words):
        bounds = [i for i, byte in enumerate(data) if byte & 0xC0 != 0x80] + [len(data)]
        for first in range(len(bounds) - 1):
            for n in range(minn, min(maxn, len(bounds) - 1 - first) + 1):
                value = 2166136261
                for byte in data[bounds[first] : bounds[first + n]]:
                    value = ((value ^ (byte | 0xFFFFFF00 if byte >= 0x80 else byte)) * 16777619) & 0xFFFFFFFF
                found.append((value, word))
    return found


@settings(max_examples=80, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12), max_size=12))
def test_base_model_hashes_ngrams_as_fasttext_does(words: list[str]) -> None:
    encoded = [f"<{word}>".encode() for word in words]
    data = np.frombuffer(b"".join(encoded), np.uint8)
    sizes = np.array([len(word) for word in encoded], dtype=np.int64)
    hashes, owners = lid176._ngram_hashes(data, sizes, 2, 4)
    assert list(zip(hashes.tolist(), owners.tolist(), strict=True)) == fasttext_ngram_hashes(encoded, 2, 4)


def test_base_model_labels_major_languages() -> None:
    labels, scores = predict([FRENCH, ENGLISH, "El puerto registró un número récord de contenedores."])
    assert labels == ["fr", "en", "es"]
    assert min(scores) > 0.5


# --------------------------------------------------------------------------- paragraphs and vote


def test_split_units_cuts_lines_and_long_lines_into_windows() -> None:
    documents = (
        pl.DataFrame({"doc": [0, 1, 2], "sample": ["a\nbb", "x" * 120, ""]}).with_row_index("_").drop("_")
    )
    units = split_units(documents.with_columns(pl.col("doc").cast(pl.UInt32)), 50)
    assert units.filter(pl.col("doc") == 0)["unit"].to_list() == ["a", "bb"]
    assert units.filter(pl.col("doc") == 1)["unit"].str.len_chars().to_list() == [50, 50, 20]
    assert units.filter(pl.col("doc") == 2)["unit"].to_list() == [""]


def test_vote_weights_units_by_letters_and_flags_code_switching() -> None:
    units = pl.DataFrame(
        {
            "doc": pl.Series([0, 0, 0, 1, 1], dtype=pl.UInt32),
            "label": ["fr", "ar", "fr", "fr", "en"],
            "score": [0.9, 0.8, 0.7, 0.9, 0.9],
            "letters": [300, 300, 100, 950, 50],
        }
    )
    voted = vote(units, 3, 0.2)
    assert voted["label"].to_list() == ["fr", "fr", "und"]
    assert voted["share"].to_list() == pytest.approx([400 / 700, 0.95, 0.0])
    assert voted["score"][0] == pytest.approx((0.9 * 300 + 0.7 * 100) / 400)
    assert voted["code_switching"].to_list() == [True, False, False]


def test_vote_does_not_count_und_paragraphs_as_switching() -> None:
    units = pl.DataFrame(
        {
            "doc": pl.Series([0, 0], dtype=pl.UInt32),
            "label": ["fr", "und"],
            "score": [0.9, 0.1],
            "letters": [60, 40],
        }
    )
    row = vote(units, 1, 0.2).row(0, named=True)
    assert (row["label"], row["share"], row["code_switching"]) == ("fr", 0.6, False)


# --------------------------------------------------------------------------- detect_languages


def test_every_own_sample_gets_its_label() -> None:
    rows = samples()
    found = detect_languages(rows["text"], SECTION)
    wrong = rows.with_columns(found["language"]).filter(pl.col("label") != pl.col("language"))
    assert wrong.height == 0, wrong


def test_mixed_document_gets_dominant_language_share_and_flag() -> None:
    mixed = "\n".join([DARIJA, DARIJA, ARABIZI])
    row = detect(mixed).row(0, named=True)
    assert row["language"] == "ary"
    assert 0.5 < row["language_share"] < 0.8
    assert row["code_switching"] is True
    single = detect(DARIJA).row(0, named=True)
    assert (single["language_share"], single["code_switching"]) == (1.0, False)


def test_the_base_model_reads_the_middle_of_a_unit() -> None:
    """fastText reads a unit's middle MAX_CHARS characters: French there, English at both ends."""
    french = (" ".join([FRENCH] * 3))[:MAX_CHARS]
    english = (" ".join([ENGLISH] * 3))[:100]
    labels, _ = predict([english + french + english, english + english + french])
    assert labels == ["fr", "en"]


def test_long_line_without_newlines_is_still_seen_as_two_languages() -> None:
    french = " ".join([FRENCH] * 12)  # about 1,080 characters
    english = " ".join([ENGLISH] * 6)  # about 510 characters
    row = detect(french + " " + english).row(0, named=True)
    assert row["language"] == "fr"
    assert row["code_switching"] is True


def test_labels_outside_the_config_become_und() -> None:
    german = "Die Regierung hat am Montag einen neuen Haushaltsplan für das kommende Jahr vorgestellt."
    assert detect(german)["language"].to_list() == ["und"]
    only_french = LanguageConfig(labels=["fr", "und"], thresholds={})
    assert detect(FRENCH, DARIJA, TIFINAGH, section=only_french)["language"].to_list() == ["fr", "und", "und"]


def test_per_label_threshold_sends_weak_documents_to_und() -> None:
    assert detect(ENGLISH)["language"][0] == "en"
    strict = LanguageConfig(thresholds={**SECTION.thresholds, "en": 1.0})
    found = detect(ENGLISH, FRENCH, section=strict)
    assert found["language"].to_list() == ["und", "fr"]
    assert found["language_score"][0] > 0.5  # the score stays, only the label changes


def test_default_threshold_applies_to_labels_without_their_own() -> None:
    section = LanguageConfig(threshold=1.0, thresholds={"fr": 0.5})
    assert detect(FRENCH, ENGLISH, section=section)["language"].to_list() == ["fr", "und"]


def test_empty_and_null_texts_are_und_with_zero_score() -> None:
    found = detect("", None, "  \n 2024 ")
    assert found["language"].to_list() == ["und"] * 3
    assert found["language_score"].to_list() == [0.0] * 3
    assert found["code_switching"].to_list() == [False] * 3


def test_no_texts_gives_an_empty_frame() -> None:
    found = detect_languages(pl.Series([], dtype=pl.String), SECTION)
    assert found.height == 0
    assert found.columns == ["language", "language_score", "language_share", "code_switching"]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(list("abc 3ⴰⵣ\nديال بزاف")), max_size=80), max_size=12))
def test_one_row_per_text_in_order_with_valid_values(texts: list[str]) -> None:
    found = detect_languages(pl.Series(texts, dtype=pl.String), SECTION)
    assert found.height == len(texts)
    assert set(found["language"]) <= set(SECTION.labels)
    assert found["language_share"].is_between(0, 1).all()
    assert found["language_score"].is_between(0, 1).all()
    assert (found.filter(pl.col("language_share") == 1.0)["code_switching"] == False).all()  # noqa: E712
    solo = [detect_languages(pl.Series([t], dtype=pl.String), SECTION).row(0) for t in texts[:3]]
    assert solo == found.head(3).rows()


# --------------------------------------------------------------------------- the step


def test_step_reads_the_text_not_the_parent_title_and_keeps_every_row() -> None:
    rows = frame(
        title=["Un titre en français sur la Bourse de Casablanca", "Annonce", None],
        text=[DARIJA, "", KABYLE],
    )
    out = identify_language(rows, SECTION)
    assert out.height == rows.height
    assert out["language"].to_list() == ["ary", "fr", "kab"]  # empty text: the title decides
    assert out["removed_reason"].null_count() == rows.height


def write_language_config(folder: Path, section: str) -> Path:
    config = folder / "config.yaml"
    config.write_text(
        f"name: t\nversion: 0.1.0\nsources: [{{name: a, kind: jsonl, path: a.jsonl}}]\nlanguage: {section}\n",
        encoding="utf-8",
    )
    return config


def test_config_rejects_thresholds_for_unknown_labels(tmp_path: Path) -> None:
    config = write_language_config(tmp_path, "{labels: [fr, und], thresholds: {fr: 0.5, ary: 0.6}}")
    with pytest.raises(ConfigError, match=r"language: thresholds for labels not in `labels`: ary$"):
        load_config(config)


def test_config_rejects_tiny_units(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"language.unit_chars: must be >= 50$"):
        load_config(write_language_config(tmp_path, "{unit_chars: 10}"))


def test_embedded_sample_pages_get_their_languages() -> None:
    loaded = load_config(REPO / "configs" / "maghreb.yaml")
    steps = plan(loaded).steps
    until = [step.name for step in steps].index("language") + 1
    rows = run_steps(read_sources(loaded), steps[:until]).released
    by_file = {Path(f).name: r for f, r in zip(rows["source_file"], rows.iter_rows(named=True), strict=True)}
    darija = by_file["025_darija_as3ar-ramadan.txt"]
    assert (darija["language"], darija["code_switching"]) == ("ary", True)  # one paragraph of Arabizi
    assert by_file["011_tifinagh_yennayer-agadir.txt"]["language"] == "zgh"
    assert by_file["017_sdoud-hespress.txt"]["language"] == "ar"
    assert by_file["016_paso-estrecho-es.txt"]["language"] == "es"


def test_lexicon_fingerprint_is_stable_and_covers_every_lexicon() -> None:
    assert len(lexicons_sha256()) == 64
    names = sorted(p.name for p in (REPO / "corpus" / "language" / "lexicons").glob("*.yaml"))
    assert names == ["arabizi.yaml", "darija.yaml", "kabyle.yaml"]


def test_units_seen_before_are_recalled_with_the_labels_they_were_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    texts = pl.read_ndjson(SAMPLES)["text"]
    monkeypatch.setattr(detect_module, "_memory", {})
    monkeypatch.setattr(detect_module, "REMEMBERED_UNITS", 0)
    unremembered = detect_languages(texts, LanguageConfig())
    monkeypatch.setattr(detect_module, "REMEMBERED_UNITS", 10)  # fewer than the samples' units
    first_half = detect_languages(texts[: texts.len() // 2], LanguageConfig())
    assert detect_module._memory[LanguageConfig().tifinagh_share].height == 10
    classified: list[int] = []
    real = detect_module._classify
    monkeypatch.setattr(
        detect_module, "_classify", lambda units, share: classified.append(units.height) or real(units, share)
    )
    assert first_half.equals(unremembered.head(texts.len() // 2))
    assert detect_languages(texts, LanguageConfig()).equals(unremembered)
    units = split_units(pl.DataFrame({"sample": texts}).with_row_index("doc"), LanguageConfig().unit_chars)
    assert classified == [units["unit"].n_unique() - 10]
