"""Text repair: mojibake fixed, French typography kept, Unicode hygiene, lost letters detected."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from corpus.config import RepairConfig
from corpus.repair import repair
from tests.helpers import frame, one

DEFAULT = RepairConfig()


def repaired(text: str, section: RepairConfig = DEFAULT, **columns: str) -> dict:
    return repair(one(text, **columns), section).row(0, named=True)


@pytest.mark.parametrize(
    ("damaged", "expected"),
    [
        ("Ã©tÃ©", "été"),
        ("lâ€™Ã©conomie", "l’économie"),
        ("La rÃ©colte dâ€™agrumes progresse de 12 %", "La récolte d’agrumes progresse de 12 %"),
        ("Ø§Ù„Ù…ØºØ±Ø¨", "المغرب"),
    ],
)
def test_mojibake_is_fixed(damaged: str, expected: str) -> None:
    row = repaired(damaged)
    assert row["text"] == expected
    assert row["repairs"] == ["mojibake.utf8_as_cp1252:text"]
    assert row["removed_reason"] is None


def test_title_and_outlet_are_repaired_too() -> None:
    row = repaired("texte propre", title="Ã‰tÃ© chaud", source_raw="MÃ©dias24")
    assert row["title"] == "Été chaud"
    assert row["source_raw"] == "Médias24"
    assert row["text"] == "texte propre"
    assert sorted(row["repairs"]) == ["mojibake.utf8_as_cp1252:source_raw", "mojibake.utf8_as_cp1252:title"]


def test_french_typographic_quotes_survive() -> None:
    text = "Il a déclaré : « C’est l’été » et “ça continue”, d’après l’APS."
    row = repaired(text)
    assert row["text"] == text
    assert row["repairs"] == []


def test_quotes_survive_next_to_a_repair() -> None:
    # ftfy runs on this one (it has mojibake); the correct quotes around it must stay curly.
    row = repaired("« Lâ€™Ã©tÃ© » et “chaud”")
    assert row["text"] == "« L’été » et “chaud”"


def test_nbsp_and_narrow_nbsp_become_spaces() -> None:
    row = repaired("Prix\u00a0: 12\u202f%\u00a0!")
    assert row["text"] == "Prix : 12 % !"
    assert row["repairs"] == ["hygiene.spaces:text"]


def test_bidi_marks_removed_but_zwnj_kept() -> None:
    row = repaired("\u200fقال\u200e الوزير\u061c إن\u202b النمو\u202c می\u200cخواهم")
    assert row["text"] == "قال الوزير إن النمو می\u200cخواهم"
    assert "\u200c" in row["text"]
    assert row["repairs"] == ["hygiene.invisible:text"]


def test_zwnj_alone_is_not_a_repair() -> None:
    row = repaired("می\u200cخواهم")
    assert row["text"] == "می\u200cخواهم"
    assert row["repairs"] == []


def test_control_characters_removed_but_tabs_and_newlines_kept() -> None:
    row = repaired("ligne un\tA\r\nligne deux\x00\x07\x1b[31m")
    assert row["text"] == "ligne un\tA\nligne deux"
    assert row["repairs"] == ["hygiene.line_breaks:text", "hygiene.controls:text"]


def test_c1_control_is_read_as_windows_1252() -> None:
    # A lone C1 control in decoded text is a Windows-1252 byte read as Latin-1: U+0085 is "…".
    row = repaired("Nous n'en avons pas parlé\x85 Tu sais")
    assert row["text"] == "Nous n'en avons pas parlé… Tu sais"
    assert row["repairs"] == ["mojibake.ftfy:text"]


def test_clean_text_records_no_repair() -> None:
    rows = repair(
        frame(
            text=["Le Maroc exporte plus d’agrumes.", "ارتفعت الصادرات بنسبة 12 في المائة.", "ⵜⴰⵎⴰⵣⵉⵖⵜ"],
            title=["Agrumes", "الصادرات", None],
            source_raw=["Le Matin", "هسبريس", None],
        ),
        DEFAULT,
    )
    assert rows["repairs"].to_list() == [[], [], []]
    assert rows["text"].to_list() == [
        "Le Maroc exporte plus d’agrumes.",
        "ارتفعت الصادرات بنسبة 12 في المائة.",
        "ⵜⴰⵎⴰⵣⵉⵖⵜ",
    ]


def test_repairs_list_hygiene_and_mojibake_separately() -> None:
    row = repaired("Ã©tÃ©\u00a0chaud")
    # The real NBSP after "chaud" stops the whole-text round trip: ftfy repairs the pieces.
    assert sorted(row["repairs"]) == ["hygiene.spaces:text", "mojibake.ftfy:text"]
    assert row["text"] == "été chaud"


def test_a_rule_runs_where_an_earlier_rule_brought_its_trigger() -> None:
    # Shadda, BEL, fatha: no two marks in a row until the control goes, then NFC reorders them.
    row = repaired("ب\u0651\x07\u064e")
    assert row["text"] == "ب\u064e\u0651"
    assert sorted(row["repairs"]) == ["hygiene.controls:text", "hygiene.nfc:text"]


def test_letters_lost_to_question_marks_are_unrecoverable() -> None:
    rows = repair(
        frame(
            text=[
                "??? ?? ????? " * 20,
                "??? ?? ????? المغرب " * 20,
                # Many question marks, but among many more letters: a questionnaire, not damage.
                "Le Maroc va-t-il relever ses taux directeurs cette année ? " * 25,
                "Pourquoi ? Comment ? Qui ? " * 3,
            ]
        ),
        DEFAULT,
    )
    assert rows["removed_reason"].to_list() == [
        "unrecoverable_encoding",
        "unrecoverable_encoding",
        None,
        None,
    ]


def test_switches_turn_repairs_off() -> None:
    section = RepairConfig(mojibake=False, strip_bidi_controls=False, normalize_spaces=False)
    row = repaired("Ã©tÃ©\u00a0\u200f", section)
    assert row["text"] == "Ã©tÃ©\u00a0\u200f"
    assert row["repairs"] == []


def test_null_text_is_left_alone() -> None:
    rows = repair(frame(text=[None, "x"], title=[None, None]), DEFAULT)
    assert rows["text"].to_list() == [None, "x"]
    assert rows["repairs"].to_list() == [[], []]
    assert rows["removed_reason"].to_list() == [None, None]


@pytest.mark.parametrize(
    ("damaged", "expected"),
    [
        ("Le prix&nbsp;: 10 dirhams", "Le prix : 10 dirhams"),
        ("Le prix de lâ€™Ã©nergieÂ : en hausse", "Le prix de l’énergie : en hausse"),
        ("Ø§Ù„Ù…ØºØ±Ø¨â€Ž", "المغرب"),
    ],
)
def test_ftfy_output_gets_hygiene_too(damaged: str, expected: str) -> None:
    assert repaired(damaged)["text"] == expected


# Property: repair is idempotent.
FRENCH = list("abcdeéèêàâçôùîïÉÀÇœ")
ARABIC = list("ابتثجحخدذرزسشصضطظعغفقكلمنهويةأإآىءـ")
PUNCTUATION = [*" .,;:!?«»’“”-'\"()\n", "\u00a0", "\u202f", "\u200e", "\u200f", "\u200c"]
# Fragments whose ftfy repair is plain letters and punctuation.
MOJIBAKE = ["Ã©", "Ã¨", "Ã§", "Ã ", "Ã\u00a0", "Ã‰", "â€™", "â€œ", "Ø§", "Ù„", "Ø±", "Â°", "&amp;"]
# Fragments whose repair is an NBSP or a bidi control, which hygiene must then remove.
MOJIBAKE_EXOTIC = ["Â\u00a0", "Â ", "â€Ž", "&nbsp;"]


def texts(fragments: list[str]) -> st.SearchStrategy[str]:
    pieces = st.sampled_from(FRENCH + ARABIC + PUNCTUATION) | st.sampled_from(fragments)
    return st.lists(pieces, max_size=40).map("".join)


def assert_idempotent(text: str) -> None:
    once = repair(one(text, title=text), DEFAULT)
    twice = repair(once, DEFAULT)
    assert twice["text"].to_list() == once["text"].to_list()
    assert twice["title"].to_list() == once["title"].to_list()
    # A second pass finds nothing left to change.
    assert twice["repairs"].to_list() == [[]]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts(MOJIBAKE))
def test_repair_is_idempotent(text: str) -> None:
    assert_idempotent(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example("Ã©Â\u00a0")
@given(texts(MOJIBAKE + MOJIBAKE_EXOTIC))
def test_repair_is_idempotent_with_any_mojibake(text: str) -> None:
    assert_idempotent(text)


def test_repair_keeps_rows_and_order() -> None:
    texts_in = ["b", "Ã©", "a\u00a0", None]
    rows = repair(frame(text=texts_in, id=["1", "2", "3", "4"]), DEFAULT)
    assert rows["id"].to_list() == ["1", "2", "3", "4"]
    assert rows.height == len(texts_in)
    assert rows.schema["repairs"] == pl.List(pl.String)
