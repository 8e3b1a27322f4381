"""Repair beyond ftfy: Arabic mojibake, per-character hygiene, entities, lost bytes, totals."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corpus.config import RepairConfig
from corpus.repair import repair, repair_totals
from tests.helpers import frame, one

DEFAULT = RepairConfig()
SENTENCES = [
    "المغرب",
    "الحكومة تعلن عن برنامج جديد لدعم الفلاحين في المناطق القروية.",
    "قال الوزير: «النمو سيبلغ 3 في المائة»، وأضاف أن الصادرات ارتفعت؟",
    "ارتفعت صادرات الحوامض من سوس بنسبة 12 % حسب Le Matin.",
]


def repaired(text: str, section: RepairConfig = DEFAULT) -> dict:
    return repair(one(text), section).row(0, named=True)


@pytest.mark.parametrize("clean", SENTENCES)
def test_utf8_read_as_cp1256_is_undone(clean: str) -> None:
    row = repaired(clean.encode("utf-8").decode("cp1256"))
    assert row["text"] == clean
    assert row["repairs"] == ["mojibake.utf8_as_cp1256:text"]


@pytest.mark.parametrize("clean", SENTENCES)
@pytest.mark.parametrize("shown_as", ["cp1252", "latin-1"])
def test_cp1256_read_as_cp1252_or_latin1_is_undone(clean: str, shown_as: str) -> None:
    row = repaired(clean.encode("cp1256").decode(shown_as))
    assert row["text"] == clean
    assert row["repairs"] == ["mojibake.cp1256_as_cp1252:text"]


def test_utf8_arabic_read_as_cp1252_is_undone() -> None:
    clean = SENTENCES[1]
    row = repaired(clean.encode("utf-8").decode("cp1252", errors="replace"))
    assert row["text"] == clean


def test_partly_damaged_arabic_is_undone_word_by_word() -> None:
    # A clean French sentence keeps the whole-text round trip from working; the damaged words are
    # still recognised and decoded one run at a time.
    damaged = "Le Matin écrit : " + "المغرب الحكومة".encode().decode("cp1256")
    assert repaired(damaged)["text"] == "Le Matin écrit : المغرب الحكومة"


@pytest.mark.parametrize(
    "clean",
    [
        "فقط، هذا ما قاله الوزير؛ ثم ماذا؟",  # ط and ظ before Arabic punctuation are not mojibake
        "نقلت صحيفة “فرانكفورتر الغمايني تسايتونغ” عن موديز",
        "Die Größe der Ölförderung wächst",  # Latin-1 letters side by side, not Arabic
        "Ελληνικά, Čeština, Tiếng Việt",
        "ÇA SUFFIT ! À DÉFAUT DE MIEUX",
    ],
)
def test_clean_text_is_not_taken_for_mojibake(clean: str) -> None:
    row = repaired(clean)
    assert row["text"] == clean
    assert row["repairs"] == []


def test_lost_byte_of_a_closing_quote_is_guessed() -> None:
    # errors="replace" turned the last byte of ” (E2 80 9D) into U+FFFD.
    damaged = "Il a dit “oui” à l’été".encode().decode("cp1252", errors="replace")
    assert "\ufffd" in damaged
    row = repaired(damaged)
    assert row["text"] == "Il a dit “oui” à l’été"
    assert "mojibake.lost_byte_guessed:text" in row["repairs"]


@pytest.mark.parametrize(
    ("text", "expected", "repair_name"),
    [
        ("قال\u200f الوزير\u200e", "قال الوزير", "invisible"),
        ("مرحبا\u200bبكم", "مرحبابكم", "invisible"),  # zero-width space
        ("écono\u00admie", "économie", "invisible"),  # soft hyphen
        ("سلام\u200dعليكم", "سلامعليكم", "invisible"),  # ZWJ between letters: a stray
        ("\ufeffLe Matin", "Le Matin", "invisible"),
        ("ﻻ ﷲ", "لا الله", "presentation_forms"),
        ("la ﬁnance", "la finance", "presentation_forms"),
        ("ＭＡＰ，２０２５", "MAP,2025", "presentation_forms"),
        ("مـــغـــرب", "مغرب", "tatweel"),
        ("e\u0301te\u0301", "été", "nfc"),
        ("ا\u0653", "آ", "nfc"),
        ("ligne\r\nsuite\rfin\u2028", "ligne\nsuite\nfin\n", "line_breaks"),
        ("10\u2009000\u00a0DH", "10 000 DH", "spaces"),
    ],
)
def test_hygiene_rule_per_character(text: str, expected: str, repair_name: str) -> None:
    row = repaired(text)
    assert row["text"] == expected
    assert row["repairs"] == [f"hygiene.{repair_name}:text"]


@pytest.mark.parametrize(
    "kept",
    ["می\u200cخواهم", "👨\u200d👩\u200d👧", "❤\ufe0f\u200d🔥", "« Il a dit ’oui’ »"],
)
def test_meaningful_invisible_characters_are_kept(kept: str) -> None:
    row = repaired(kept)
    assert row["text"] == kept
    assert row["repairs"] == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("AT&amp;T et l&#8217;&eacute;t&#xE9;", "AT&T et l’été"),
        ("double &amp;eacute;chappement", "double échappement"),
        ("Le prix&nbsp;: 10 dirhams", "Le prix : 10 dirhams"),
        ("R&D, S&P et &foo; restent", "R&D, S&P et &foo; restent"),
        ("<p>&amp; dans du balisage</p>", "<p>&amp; dans du balisage</p>"),
    ],
)
def test_html_entities(text: str, expected: str) -> None:
    assert repaired(text)["text"] == expected


def test_tatweel_and_presentation_forms_switches() -> None:
    section = RepairConfig(strip_tatweel=False, presentation_forms=False)
    assert repaired("مـغـرب ﻻ", section)["text"] == "مـغـرب ﻻ"


def test_repair_totals_count_documents_per_repair() -> None:
    rows = repair(
        frame(
            text=["Ã©tÃ©", "Ã©tÃ©\u00a0!", "propre", "مـغـرب", None],
            title=["Ã‰tÃ©", None, None, "مـغـرب", None],
        ),
        DEFAULT,
    )
    assert repair_totals(rows) == {
        "hygiene.spaces": 1,
        "hygiene.tatweel": 1,
        "mojibake.ftfy": 1,
        "mojibake.utf8_as_cp1252": 1,
    }


def test_input_frame_is_not_modified() -> None:
    rows = one("Ã©tÃ©\u00a0")
    repair(rows, DEFAULT)
    assert rows["text"].to_list() == ["Ã©tÃ©\u00a0"]


# Property: idempotent on Arabic damage, presentation forms, tatweel, joiners and entities too.
PIECES = [
    *"ابتثجحخدذرزسشصضطظعغفقكلمنهويةأإآىء ،.؛؟«»\n",
    *["ـ", "\u200d", "\u200c", "\u200f", "\u0653", "\u064e", "\u0651", "ﻻ", "ﷲ", "ﺏ", "😀"],
    *["ط§", "ظ„", "ظ…", "ع¤", "Çá", "Í", "ßæ", "ãÉ", "Ã©", "â€", "\ufffd", "&amp;", "&#1604;", "&nbsp;"],
]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(PIECES), max_size=30).map("".join))
def test_repair_is_idempotent_on_arabic_damage(text: str) -> None:
    once = repair(one(text), DEFAULT)
    twice = repair(once, DEFAULT)
    assert twice["text"].to_list() == once["text"].to_list()
    assert twice["repairs"].to_list() == [[]]
