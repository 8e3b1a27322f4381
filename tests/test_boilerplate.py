"""Boilerplate: aggregator pages parsed; known furniture and corpus-level recurring segments removed."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from corpus.boilerplate import furniture_counts, load_furniture, strip_boilerplate
from corpus.boilerplate.recurring import RecurringFurniture, segments
from corpus.config import BoilerplateConfig, QualityConfig
from corpus.engine.memory import MemoryStore
from corpus.errors import ConfigError
from corpus.quality import quality
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


def checked(rows: pl.DataFrame, section: QualityConfig | None = None) -> pl.DataFrame:
    """The quality step after furniture removal: documents left empty are removed there."""
    return quality(rows, section or QualityConfig())


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
    # One ticker line and two modal lines before the title, one footer after the body.
    assert row["furniture"] == ["page_head"] * 3 + ["page_footer", "reproduction_interdite"]


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
    rows = checked(stripped([text, FRENCH_PAGE], ["page", "page"]))
    assert rows["removed_reason"].to_list() == ["empty", None]
    assert rows["title"][0] == "Football : les Verts U23 en stage"
    assert rows["text"][0] == ""


def test_text_that_is_only_furniture_is_empty() -> None:
    rows = checked(stripped([MEDIAS24_FURNITURE, "جميع الحقوق محفوظة."], ["record", "record"]))
    assert rows["removed_reason"].to_list() == ["empty", "empty"]


def test_min_chars_removes_short_documents() -> None:
    rows = checked(
        frame(text=["court", "un texte assez long pour rester"], layout=["record", "record"]),
        QualityConfig(min_chars=10),
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


# Corpus-level furniture: segments recurring across documents of one outlet or one crawl.

BRANDING = "Retrouvez toute l'actualité économique sur notre application mobile."


def articles(n: int, tail: str = "", head: str = "", **columns: list) -> pl.DataFrame:
    """`n` distinct short articles of one outlet and crawl, each with `head`/`tail` around it."""
    texts = [
        f"{head}L'entreprise numéro {i} a publié ses résultats du trimestre. Son chiffre d'affaires a "
        f"progressé de {i} pour cent sur un an.{tail}"
        for i in range(n)
    ]
    defaults = {
        "text": texts,
        "title": [f"Résultats de l'entreprise {i}" for i in range(n)],
        "url_raw": [f"https://lematin.ma/eco/{i}" for i in range(n)],
        "source_raw": ["Le Matin"] * n,
        "source_name": ["scrape"] * n,
        "source_file": [f"scrapes/{i % 2}.csv" for i in range(n)],
        "scraped_raw": ["2025-06-22"] * n,
        "layout": ["record"] * n,
    }
    return frame(**{**defaults, **columns})


def test_sentence_recurring_across_an_outlet_is_removed_inline() -> None:
    # Financial scrapes have no newlines: the furniture is the last sentence of one long line.
    rows = strip_boilerplate(articles(SECTION.min_documents, tail=" " + BRANDING), SECTION, [])
    assert not rows["text"].str.contains("application mobile").any()
    assert rows["text"][3] == (
        "L'entreprise numéro 3 a publié ses résultats du trimestre. "
        "Son chiffre d'affaires a progressé de 3 pour cent sur un an."
    )
    assert all("recurring_outlet" in kinds for kinds in rows["furniture"].to_list())


def test_sentence_in_too_few_documents_is_kept() -> None:
    rows = strip_boilerplate(articles(SECTION.min_documents - 1, tail=" " + BRANDING), SECTION, [])
    assert rows["text"].str.contains("application mobile").all()
    assert rows["furniture"].to_list() == [[]] * (SECTION.min_documents - 1)


def test_rescrapes_of_one_article_count_once() -> None:
    # The same article scraped nine times (same title, URL variants) is one document, not furniture.
    n = SECTION.min_documents + 1
    rows = strip_boilerplate(
        articles(
            n,
            tail=" " + BRANDING,
            title=["Résultats"] * n,
            url_raw=[f"https://lematin.ma/a?utm_source={i}" for i in range(n)],
        ),
        SECTION,
        [],
    )
    assert rows["text"].str.contains("application mobile").all()


def test_recurring_sentence_inside_the_text_is_kept_unless_edges_only_is_off() -> None:
    n = SECTION.min_documents
    texts = [f"Premier paragraphe numéro {i}.\n{BRANDING}\nDernier paragraphe numéro {i}." for i in range(n)]
    kept = strip_boilerplate(articles(n, text=texts), SECTION, [])
    assert kept["text"].str.contains("application mobile").all()
    everywhere = BoilerplateConfig(edges_only=False)
    dropped = strip_boilerplate(articles(n, text=texts), everywhere, [])
    assert dropped["text"][0] == "Premier paragraphe numéro 0.\nDernier paragraphe numéro 0."


def test_ticker_of_one_crawl_is_removed_across_outlets() -> None:
    # Unparsed pages of several outlets, all wrapped in the crawl day's ticker: one crawl group.
    n = SECTION.min_documents
    ticker = "RNI : Akhannouch plébiscité à Casablanca. Botola D2 / J8 : programme du jour.\n\n"
    rows = strip_boilerplate(
        articles(n, head=ticker, source_raw=[f"Outlet {i}" for i in range(n)], layout=["unknown"] * n),
        SECTION,
        [],
    )
    assert not rows["text"].str.contains("Akhannouch|Botola").any()
    assert rows["text"][0].startswith("L'entreprise numéro 0 a publié")
    assert rows["furniture"][0].to_list() == ["recurring_crawl", "recurring_crawl"]


def test_short_articles_in_one_ticker_no_longer_look_alike() -> None:
    n = SECTION.min_documents
    ticker = " ".join(f"Titre du jour numéro {k} sur l'actualité nationale." for k in range(40)) + "\n"
    bodies = [f"Brève {i}: la séance {i} a été levée." for i in range(n)]
    rows = strip_boilerplate(
        articles(n, text=[ticker + body for body in bodies], layout=["unknown"] * n), SECTION, []
    )
    assert rows["text"].to_list() == bodies


def test_document_that_was_only_recurring_furniture_is_empty() -> None:
    n = SECTION.min_documents
    texts = [
        f"Article {i} sur le marché des changes et la dette publique." + " " + BRANDING for i in range(n)
    ]
    rows = checked(strip_boilerplate(articles(n + 1, text=[*texts, BRANDING]), SECTION, []))
    assert rows["removed_reason"].to_list() == [None] * n + ["empty"]


def test_recurring_decision_names_the_documents_and_apply_rebuilds_only_those(tmp_path) -> None:
    # The decision lists the rows carrying a flagged segment; apply reads no other row, so a row it
    # is not handed keeps its text even when that text holds the segment.
    n = SECTION.min_documents
    texts = [f"Article {i} sur le marché obligataire et la dette publique. {BRANDING}" for i in range(n)]
    text = [*texts, "Un article sans rien de commun avec les autres, vraiment."]
    batch = articles(n + 1, text=text, furniture=[[]] * (n + 1))
    phase = RecurringFurniture(SECTION)
    decisions = phase.decide(MemoryStore(phase.keys(batch), batch, tmp_path))
    named = decisions.filter(pl.col("_doc").is_not_null())
    assert named["_doc"].to_list() == list(range(n))
    assert named["_part"].to_list() == [0] * n
    rules = decisions.filter(pl.col("kind").is_not_null())
    assert rules.height and rules["_doc"].is_null().all()
    out = phase.apply(batch, pl.concat([rules, named.filter(pl.col("_doc") < 2)], how="diagonal"))
    assert out["text"][:2].to_list() == [t.removesuffix(" " + BRANDING) for t in texts[:2]]
    assert out["text"][2:].to_list() == batch["text"][2:].to_list()
    assert out["furniture"].to_list() == [["recurring_outlet"]] * 2 + [[]] * (n - 1)


class RecordingStore(MemoryStore):
    """A store that keeps what each gather brought back to the deciding process."""

    def gather(self, work):  # type: ignore[no-untyped-def]
        out = super().gather(work)
        self.gathered = [*getattr(self, "gathered", []), out]
        return out


def test_recurring_decision_never_gathers_the_carriers_of_segments_it_does_not_flag(tmp_path) -> None:
    # A sentence in min_documents documents of an outlet of 40 times more: counted, not flagged (a
    # 2.5% share, under 50%), and no row naming its documents comes back (at 1M documents such rows
    # held 3 GB).
    section = SECTION.model_copy(update={"min_share": 0.5})
    n, big = section.min_documents, 40 * section.min_documents
    shared = "Le marché obligataire a terminé la séance sur une note stable selon les opérateurs."
    own = "sur un sujet qui lui est propre."
    text = [f"Article numéro {i} {own} {shared if i < n else ''}" for i in range(big)]
    batch = articles(big, text=text, furniture=[[]] * big)
    phase = RecurringFurniture(section)
    store = RecordingStore(phase.keys(batch), batch, tmp_path)
    decisions = phase.decide(store)
    assert decisions.height == 0
    assert len(store.gathered) == 1 and "_doc" not in store.gathered[0].columns
    assert store.gathered[0].filter(pl.col("hash").is_not_null())["n"].max() == n  # it was counted


def test_recurring_pass_can_be_switched_off() -> None:
    rows = strip_boilerplate(
        articles(SECTION.min_documents, tail=" " + BRANDING), BoilerplateConfig(recurring=False), []
    )
    assert rows["text"].str.contains("application mobile").all()


def test_furniture_counts_per_kind() -> None:
    rows = strip_boilerplate(
        frame(text=[FRENCH_PAGE, MEDIAS24_FURNITURE + " Fin."], layout=["page", "record"]), SECTION, PATTERNS
    )
    counts = {k: (p, d) for k, p, d in furniture_counts(rows).rows()}
    assert counts == {
        "page_head": (3, 1),
        "page_footer": (1, 1),
        "whatsapp_invitation": (1, 1),
        "medias24_copyright": (1, 1),
    }


@given(st.lists(st.text(alphabet=st.sampled_from("ab .!?\n\tء"), max_size=60), min_size=1, max_size=8))
def test_segments_give_the_text_back(texts: list[str]) -> None:
    parts = segments(frame(text=texts))
    rebuilt = parts.group_by("_doc", maintain_order=True).agg(pl.col("segment").str.join(""))
    assert rebuilt["segment"].to_list() == texts


def test_invalid_recurring_thresholds_are_config_errors() -> None:
    with pytest.raises(ValidationError):
        BoilerplateConfig(min_documents=1)
    with pytest.raises(ValidationError):
        BoilerplateConfig(min_share=1.5)
