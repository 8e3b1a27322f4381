"""Boilerplate: aggregator pages parsed into title, byline and body; known furniture removed."""

from __future__ import annotations

import polars as pl
import pytest

from corpus.boilerplate import load_furniture, strip_boilerplate
from corpus.config import BoilerplateConfig
from corpus.errors import ConfigError
from tests.helpers import CONFIGS, FOOTER_AR, FOOTER_FR, MODAL_FR, NBSP, frame, page

PATTERNS = load_furniture(CONFIGS / "boilerplate.yaml")
SECTION = BoilerplateConfig()

TICKER_FR = [
    "Le patron de la DGSE loue la coopération entre la France et le Maroc",
    "RNI : Akhannouch plébiscité à Casablanca",
    "Botola D2 / J8: Programme du jour",
]
TICKER_AR = ["أمطار رعدية مرتقبة بعدد من المناطق", "ارتفاع أسعار المحروقات بالمغرب"]
MODAL_AR = ["شكرا على التبليغ!", "سيتم حجب هذه الصورة تلقائيا بعد أن يتم التبليغ عنها من طرف عدد من الأشخاص."]

FRENCH_PAGE = page(
    TICKER_FR,
    MODAL_FR,
    "Rabat : la marina du Bouregreg rouvre ses pontons",
    "Publié dans L'opinion le 09 - 02 - 2023",
    [
        "La marina du Bouregreg a rouvert ses pontons après six mois de travaux.",
        "Les plaisanciers pourront de nouveau y amarrer leurs bateaux dès lundi.",
    ],
    FOOTER_FR,
)
ARABIC_PAGE = page(
    TICKER_AR,
    MODAL_AR,
    "تونس: ارتفاع صادرات التمور خلال الموسم الحالي",
    "نشر في الشروق يوم ١٢ - ٠٩ - ٢٠٢٢",
    ["سجلت صادرات التمور ارتفاعا ملحوظا خلال الموسم الحالي.", "وتوقع المهنيون استمرار هذا المنحى."],
    FOOTER_AR,
)
MEDIAS24_FURNITURE = (
    "Si vous voulez que l'information se rapproche de vous Suivez la chaîne Médias24 sur WhatsApp "
    "© Médias24. Toute reproduction interdite, sous quelque forme que ce soit, sauf autorisation "
    "écrite de la Société des Nouveaux Médias. Ce contenu est protégé par la loi et notamment loi "
    "88-13 relative à la presse et l’édition ainsi que les lois 66.19 et 2-00 relatives aux droits "
    "d’auteur et droits voisins."
)


def stripped(texts: list[str], layouts: list[str], **columns: list) -> pl.DataFrame:
    return strip_boilerplate(frame(text=texts, layout=layouts, **columns), SECTION, PATTERNS)


def test_french_page_is_parsed() -> None:
    row = stripped([FRENCH_PAGE], ["page"]).row(0, named=True)
    assert row["title"] == "Rabat : la marina du Bouregreg rouvre ses pontons"
    assert row["source_raw"] == "L'opinion"
    assert row["published_raw"] == "09 - 02 - 2023"
    assert row["text"] == (
        "La marina du Bouregreg a rouvert ses pontons après six mois de travaux.\n"
        "Les plaisanciers pourront de nouveau y amarrer leurs bateaux dès lundi."
    )
    assert row["layout"] == "page"
    assert row["removed_reason"] is None
    for gone in (
        "DGSE",
        "Akhannouch",
        "Merci d'avoir signalé",
        "automatiquement bloquée",
        "Cliquez ici",
        NBSP,
    ):
        assert gone not in row["text"]


def test_arabic_page_with_eastern_digits_is_parsed() -> None:
    row = stripped([ARABIC_PAGE], ["page"]).row(0, named=True)
    assert row["title"] == "تونس: ارتفاع صادرات التمور خلال الموسم الحالي"
    assert row["source_raw"] == "الشروق"
    assert row["published_raw"] == "١٢ - ٠٩ - ٢٠٢٢"
    assert (
        row["text"]
        == "سجلت صادرات التمور ارتفاعا ملحوظا خلال الموسم الحالي.\nوتوقع المهنيون استمرار هذا المنحى."
    )
    for gone in ("أمطار رعدية", "التبليغ", "اضغط هنا"):
        assert gone not in row["text"]


def test_page_without_final_newline_is_parsed() -> None:
    text = FRENCH_PAGE.removesuffix("\n")
    row = stripped([text], ["page"]).row(0, named=True)
    assert row["title"] == "Rabat : la marina du Bouregreg rouvre ses pontons"
    assert row["text"].endswith("dès lundi.")


def test_page_without_byline_is_kept_whole_as_unknown() -> None:
    text = (
        "Libye : la compagnie nationale relance deux champs\n\n"
        "La compagnie a annoncé la remise en production de deux champs.\n\n"
        "Selon elle, ils ajouteront 45.000 barils par jour."
    )
    row = stripped([text], ["page"]).row(0, named=True)
    assert row["layout"] == "unknown"
    assert row["text"] == text
    assert row["title"] is None
    assert row["source_raw"] is None
    assert row["published_raw"] is None
    assert row["removed_reason"] is None


def test_only_pages_are_parsed() -> None:
    # The same text in a record is left as it is (records carry their own title and byline).
    rows = stripped([FRENCH_PAGE], ["record"], title=["Titre du fichier"])
    row = rows.row(0, named=True)
    assert row["layout"] == "record"
    assert row["title"] == "Titre du fichier"
    assert "Publié dans L'opinion" in row["text"]


def test_medias24_furniture_is_removed_from_the_end() -> None:
    article = (
        "Le marché boursier a progressé de 3 % sur la semaine.\n"
        "Les analystes restent prudents pour le trimestre. "
    )
    row = stripped([article + MEDIAS24_FURNITURE], ["record"]).row(0, named=True)
    assert row["text"] == (
        "Le marché boursier a progressé de 3 % sur la semaine.\n"
        "Les analystes restent prudents pour le trimestre."
    )
    assert row["furniture"] == ["whatsapp_invitation", "medias24_copyright"]
    for gone in ("WhatsApp", "Médias24", "droits voisins"):
        assert gone not in row["text"]


def test_furniture_is_removed_inside_a_parsed_page() -> None:
    text = page(
        TICKER_FR,
        MODAL_FR,
        "Inflation : la hausse des prix ralentit",
        "Publié dans Médias24 le 07 - 11 - 2023",
        [
            "L'inflation a ralenti à 4,3 % en octobre.",
            "Toute reproduction interdite sans autorisation préalable.",
        ],
        FOOTER_FR,
    )
    row = stripped([text], ["page"]).row(0, named=True)
    assert row["text"] == "L'inflation a ralenti à 4,3 % en octobre."
    assert row["furniture"] == ["reproduction_interdite"]


def test_clean_text_has_no_furniture() -> None:
    rows = stripped(["Un article sans mobilier.", "مقال بدون حشو."], ["record", "record"])
    assert rows["furniture"].to_list() == [[], []]
    assert rows["text"].to_list() == ["Un article sans mobilier.", "مقال بدون حشو."]


def test_page_with_empty_body_is_marked_empty() -> None:
    text = page(
        TICKER_FR,
        MODAL_FR,
        "Football : les Verts U23 en stage",
        "Publié dans TSA Algérie le 05 - 09 - 2022",
        [],
        FOOTER_FR,
    )
    rows = stripped([text, FRENCH_PAGE], ["page", "page"])
    assert rows["removed_reason"].to_list() == ["empty", None]
    assert rows["title"][0] == "Football : les Verts U23 en stage"
    assert rows["text"][0] == ""


def test_text_that_is_only_furniture_is_empty() -> None:
    rows = stripped([MEDIAS24_FURNITURE, "جميع الحقوق محفوظة."], ["record", "record"])
    assert rows["removed_reason"].to_list() == ["empty", "empty"]


def test_min_chars_removes_short_documents() -> None:
    rows = strip_boilerplate(
        frame(text=["court", "un texte assez long pour rester"], layout=["record", "record"]),
        BoilerplateConfig(min_chars=10),
        PATTERNS,
    )
    assert rows["removed_reason"].to_list() == ["empty", None]


def test_invalid_pattern_is_a_config_error(tmp_path) -> None:
    path = tmp_path / "patterns.yaml"
    path.write_text("patterns:\n  - name: broken\n    regex: '(unclosed'\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_furniture(path)
    assert "broken" in str(caught.value)


def test_patterns_file_names_are_loaded() -> None:
    names = [p.name for p in PATTERNS]
    assert "whatsapp_invitation" in names
    assert "medias24_copyright" in names
    assert len(names) == len(set(names))
