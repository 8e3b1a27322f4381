"""Dedup: re-scrapes, exact duplicates after normalisation, near duplicates; order-independent."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corpus.build import build
from corpus.config import DedupConfig
from corpus.dedup import (
    ExactDuplicates,
    NearDuplicates,
    Rescrapes,
    remove_exact,
    remove_near,
    remove_rescrapes,
)
from corpus.engine.batch import apply_removals, start, take_keys
from corpus.engine.memory import MemoryStore, run_steps
from tests.helpers import CONFIGS, UTC, frame

SECTION = DedupConfig()
VOCABULARY_LINES = (
    "le la les un une des du de au aux et ou mais donc car ni que qui quoi dont où maroc",
    "rabat casablanca tanger agadir fès marrakech oujda port récolte agrumes pluie barrage",
    "eau énergie solaire éolien export import prix marché bourse banque crédit taux inflation",
    "emploi jeunes école université santé hôpital route train avion tourisme hôtel festival",
    "musique football équipe match saison ministre gouvernement parlement loi budget région",
    "commune village ville province nord sud est ouest hausse baisse record millions",
    "milliards tonnes hectares dirhams",
)
VOCABULARY = [word for line in VOCABULARY_LINES for word in line.split()]


def words(seed: int, n: int = 300) -> list[str]:
    rng = random.Random(seed)
    return [rng.choice(VOCABULARY) for _ in range(n)]


def shingle_jaccard(a: str, b: str, n: int = 5) -> float:
    """Word n-gram Jaccard, computed here independently of corpus.dedup."""

    def grams(text: str) -> set[tuple[str, ...]]:
        tokens = text.split()
        return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}

    x, y = grams(a), grams(b)
    return len(x & y) / len(x | y)


def outcome(rows: pl.DataFrame) -> set[tuple[str, str | None, str | None]]:
    return set(rows.select("id", "removed_reason", "dup_of").iter_rows())


def dedup_all(rows: pl.DataFrame, section: DedupConfig = SECTION) -> pl.DataFrame:
    """The three dedup phases in plan order; returns every row, removed ones marked."""
    return run_steps(rows, [Rescrapes(section), ExactDuplicates(section), NearDuplicates(section)]).rows


# Re-scrapes.


def test_rescrapes_keep_the_newest_scrape() -> None:
    rows = frame(
        id=["s1", "s2", "s3", "other"],
        url=["https://x.ma/article"] * 3 + ["https://x.ma/autre"],
        text=["version du 2", "version du 5", "version du 3", "autre"],
        scraped_at=[
            dt.datetime(2024, 1, 2, tzinfo=UTC),
            dt.datetime(2024, 1, 5, tzinfo=UTC),
            dt.datetime(2024, 1, 3, tzinfo=UTC),
            dt.datetime(2024, 1, 1, tzinfo=UTC),
        ],
        source_file=["a.csv"] * 4,
        source_line=[1, 2, 3, 4],
    )
    out = remove_rescrapes(rows, SECTION)
    assert out["id"].to_list() == ["s1", "s2", "s3", "other"]  # input order kept
    assert out["removed_reason"].to_list() == ["rescrape", None, "rescrape", None]
    assert out["dup_of"].to_list() == ["s2", None, "s2", None]


def test_rescrapes_keep_oldest_when_configured() -> None:
    rows = frame(
        id=["s1", "s2", "s3"],
        url=["https://x.ma/article"] * 3,
        text=["a", "b", "c"],
        scraped_at=[dt.datetime(2024, 1, d, tzinfo=UTC) for d in (2, 5, 3)],
        source_file=["a.csv"] * 3,
        source_line=[1, 2, 3],
    )
    out = remove_rescrapes(rows, DedupConfig(rescrape_keep="oldest"))
    assert out["removed_reason"].to_list() == [None, "rescrape", "rescrape"]
    assert out["dup_of"].to_list() == [None, "s1", "s1"]


def test_rescrapes_without_scrape_time_keep_the_last_line() -> None:
    rows = frame(
        id=["a", "b"],
        url=["https://medias24.com/x"] * 2,
        text=["premier", "corrigé"],
        source_file=["articles.jsonl"] * 2,
        source_line=[3, 8],
    )
    assert remove_rescrapes(rows, SECTION)["removed_reason"].to_list() == ["rescrape", None]


def test_rows_without_url_or_with_different_keys_are_not_rescrapes() -> None:
    rows = frame(
        id=["n1", "n2", "c1", "c2"],
        url=[None, None, "https://h.ma/p", "https://h.ma/p"],
        key=[None, None, "c1", "c2"],
        text=["a", "b", "c", "d"],
        source_file=["f"] * 4,
        source_line=[1, 2, 3, 4],
    )
    assert remove_rescrapes(rows, SECTION)["removed_reason"].null_count() == 4


# Exact duplicates.


def test_exact_duplicates_modulo_case_punctuation_and_arabic_variants() -> None:
    rows = frame(
        id=["fr1", "fr2", "fr3", "ar1", "ar2", "ar3"],
        text=[
            "Le Maroc exporte plus d'agrumes cette saison.",
            "LE MAROC exporte, plus d’agrumes « cette saison » !",
            "le maroc exporte plus d agrumes cette saison",
            "أعلنت الوزارة إطلاق برنامج جديد لدعم الفلاحة في المنطقة",
            "اعلنت الوزارة اطلاق برنامج جديد لدعم الفلاحه في المنطقه",
            "أعلنت الوزارة إطلاق برنامـــج جديد لدعم الفلاحة في المنطقة.",
        ],
        language=["fr"] * 3 + ["ar"] * 3,
        published_date=[
            dt.date(2024, 3, 5),
            dt.date(2024, 3, 1),  # earliest French
            dt.date(2024, 3, 9),
            dt.date(2024, 2, 2),
            dt.date(2024, 2, 3),
            dt.date(2024, 2, 1),  # earliest Arabic
        ],
    )
    out = remove_exact(rows, SECTION)
    assert out["removed_reason"].to_list() == [
        "exact_duplicate",
        None,
        "exact_duplicate",
        "exact_duplicate",
        "exact_duplicate",
        None,
    ]
    assert out["dup_of"].to_list() == ["fr2", None, "fr2", "ar3", "ar3", None]
    assert out["similarity"].to_list() == [1.0, None, 1.0, 1.0, 1.0, None]


def test_exact_survivor_uses_time_then_length_then_id() -> None:
    rows = frame(
        id=["b", "a", "c", "d"],
        text=["Même texte.", "même texte", "MÊME TEXTE !", "Même texte"],
        published_at=[
            dt.datetime(2024, 3, 1, 10, tzinfo=UTC),
            dt.datetime(2024, 3, 1, 10, tzinfo=UTC),
            dt.datetime(2024, 3, 1, 10, tzinfo=UTC),
            None,  # undated documents come last
        ],
    )
    out = remove_exact(rows, SECTION)
    # Same time: the longest text ("MÊME TEXTE !", 12 characters) wins.
    assert out["removed_reason"].to_list() == ["exact_duplicate", "exact_duplicate", None, "exact_duplicate"]
    assert set(out["dup_of"].drop_nulls().to_list()) == {"c"}
    tie = remove_exact(frame(id=["z", "y"], text=["abc", "ABC"]), SECTION)
    # Same time, same length: the smallest id wins.
    assert tie["removed_reason"].to_list() == ["exact_duplicate", None]
    assert tie["dup_of"].to_list() == ["y", None]


def test_exact_scope_language_versus_all() -> None:
    rows = frame(id=["fr", "ar"], text=["Texte commun 2024", "Texte commun 2024"], language=["fr", "ar"])
    assert remove_exact(rows, SECTION)["removed_reason"].null_count() == 2
    everything = remove_exact(rows, DedupConfig(scope="all"))
    assert everything["removed_reason"].null_count() == 1
    assert everything["removed_reason"].drop_nulls().to_list() == ["exact_duplicate"]


def test_exact_duplicates_are_decided_slice_by_slice(tmp_path: Path) -> None:
    """The decision gathers one slice of text hashes at a time (what Ray runs as a shuffle; a key
    store has no way to hand over every key row at once) and gives what the in-memory phase gives."""
    texts = [f"Dépêche numéro {n % 7} du jour" for n in range(40)]
    rows = start(frame(id=[f"{n:02d}" for n in range(40)], text=texts, language=["fr"] * 40))
    phase = ExactDuplicates(SECTION)
    decided = phase.decide(MemoryStore(take_keys(rows, phase, {}), rows, tmp_path))
    assert decided["_row"].to_list() == [n for n in range(40) if n >= 7]
    assert decided["dup_of"].to_list() == [f"{n % 7:02d}" for n in range(7, 40)]
    assert outcome(remove_exact(rows, SECTION)) == outcome(apply_removals(rows, phase.name, decided))


def rescraped_copies(folder: Path) -> Path:
    """A config over three copies of one text: two scrapes of one URL (the first one older and
    published earliest) and a reprint under another URL."""
    text = "Le port de Tanger Med a traité un volume record de conteneurs cette année, selon l'autorité."
    records = [
        {
            "url": "https://example.ma/a",
            "scraped": "2024-03-01T08:00:00Z",
            "date": "2024-02-01",
            "text": text,
        },
        {
            "url": "https://example.ma/a",
            "scraped": "2024-03-05T08:00:00Z",
            "date": "2024-02-02",
            "text": text,
        },
        {
            "url": "https://example.ma/b",
            "scraped": "2024-03-02T08:00:00Z",
            "date": "2024-02-03",
            "text": text,
        },
    ]
    (folder / "news.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    config = folder / "config.yaml"
    config.write_text(
        "name: t\nversion: 0.1.0\nsources:\n  - {name: s, kind: jsonl, path: news.jsonl,\n"
        "     columns: {url: url, text: text, published: date, scraped_at: scraped}}\n"
        f"boilerplate: {{patterns: {CONFIGS / 'boilerplate.yaml'}}}\n"
        f"metadata: {{outlets: {CONFIGS / 'outlets.yaml'}}}\n",
        encoding="utf-8",
    )
    return config


def check_rescraped_copies(release: Path) -> None:
    """The older scrape goes as a re-scrape; exact duplicates, decided in the same pass, must not
    keep it for the other copies (then all three would be gone): the newer scrape stays."""
    kept = pl.read_parquet(release / "data" / "**" / "*.parquet")
    removed = pl.read_parquet(release / "removed" / "*.parquet").sort("source_line")
    assert kept["source_line"].to_list() == [2]
    assert removed.select("source_line", "removed_reason").rows() == [(1, "rescrape"), (3, "exact_duplicate")]
    assert removed["dup_of"].to_list() == kept["id"].to_list() * 2


def test_exact_duplicates_skip_rows_a_rescrape_removed(tmp_path: Path) -> None:
    check_rescraped_copies(build(rescraped_copies(tmp_path), tmp_path / "out").path)


# Near duplicates.


def near_pair() -> tuple[str, str]:
    base = words(1)
    edited = list(base)
    for position in (40, 150, 260):
        edited[position] = "modifié"
    edited.insert(200, "ajouté")
    return " ".join(base), " ".join(edited)


def test_near_duplicates_are_removed_with_similarity() -> None:
    original, edited = near_pair()
    assert shingle_jaccard(original, edited) >= 0.85
    rows = frame(
        id=["orig", "copy"],
        text=[original, edited],
        language=["fr", "fr"],
        published_date=[dt.date(2024, 3, 14), dt.date(2024, 3, 15)],
    )
    out = remove_near(rows, SECTION)
    assert out["removed_reason"].to_list() == [None, "near_duplicate"]
    assert out["dup_of"].to_list() == [None, "orig"]
    similarity = out["similarity"][1]
    assert similarity >= 0.8
    assert abs(similarity - shingle_jaccard(original, edited)) < 0.01


def test_near_duplicate_survivor_is_the_earliest_whatever_the_order() -> None:
    original, edited = near_pair()
    rows = frame(
        id=["late", "early"],
        text=[original, edited],
        language=["fr", "fr"],
        published_date=[dt.date(2024, 3, 15), dt.date(2024, 3, 14)],
    )
    out = remove_near(rows, SECTION)
    assert out["removed_reason"].to_list() == ["near_duplicate", None]
    assert out["dup_of"].to_list() == ["early", None]


def test_unrelated_texts_are_both_kept() -> None:
    a, b = " ".join(words(1)), " ".join(words(2))
    assert shingle_jaccard(a, b) < 0.1
    out = remove_near(frame(id=["a", "b"], text=[a, b], language=["fr", "fr"]), SECTION)
    assert out["removed_reason"].null_count() == 2
    assert out["dup_of"].null_count() == 2


def test_near_scope_language_versus_all() -> None:
    original, edited = near_pair()
    rows = frame(id=["fr", "ar"], text=[original, edited], language=["fr", "ar"])
    assert remove_near(rows, SECTION)["removed_reason"].null_count() == 2
    assert remove_near(rows, DedupConfig(scope="all"))["removed_reason"].null_count() == 1


def test_identical_text_across_languages_with_full_chain() -> None:
    text = " ".join(words(3))
    rows = frame(id=["fr", "ar"], text=[text, text], language=["fr", "ar"])
    assert dedup_all(rows)["removed_reason"].null_count() == 2
    kept_all = dedup_all(rows, DedupConfig(scope="all"))
    assert kept_all["removed_reason"].null_count() == 1


# Order independence.


def mixed_corpus() -> pl.DataFrame:
    original, edited = near_pair()
    unrelated = [" ".join(words(seed)) for seed in (10, 11, 12, 13)]
    arabic = "أعلنت الوزارة إطلاق برنامج جديد لدعم الفلاحة في المنطقة الشرقية"
    rows = [
        # re-scrapes of one URL (ids from the URL, as the metadata step makes them)
        ("u1", "https://x.ma/1", unrelated[0], "2024-01-01", dt.datetime(2024, 1, 2, tzinfo=UTC), 1),
        (
            "u1",
            "https://x.ma/1",
            unrelated[0] + " corrigé",
            "2024-01-01",
            dt.datetime(2024, 1, 4, tzinfo=UTC),
            2,
        ),
        ("u1", "https://x.ma/1", unrelated[0] + " v3", "2024-01-01", dt.datetime(2024, 1, 3, tzinfo=UTC), 3),
        # exact duplicates, two with the same date
        ("e1", "https://y.ma/1", unrelated[1], "2024-02-02", None, 4),
        ("e2", "https://y.ma/2", unrelated[1].upper(), "2024-02-02", None, 5),
        ("e3", "https://y.ma/3", unrelated[1] + " !", "2024-02-01", None, 6),
        ("a1", None, arabic, "2024-02-05", None, 7),
        ("a2", None, arabic.replace("أ", "ا").replace("ة", "ه"), "2024-02-05", None, 8),
        # near duplicates
        ("n1", "https://z.ma/1", original, "2024-03-14", None, 9),
        ("n2", "https://z.ma/2", edited, "2024-03-15", None, 10),
        # unrelated
        ("k1", "https://k.ma/1", unrelated[2], "2024-04-01", None, 11),
        ("k2", "https://k.ma/2", unrelated[3], None, None, 12),
    ]
    return frame(
        id=[r[0] for r in rows],
        url=[r[1] for r in rows],
        text=[r[2] for r in rows],
        published_date=[dt.date.fromisoformat(r[3]) if r[3] else None for r in rows],
        scraped_at=[r[4] for r in rows],
        source_file=["f.jsonl"] * len(rows),
        source_line=[r[5] for r in rows],
        language=["fr"] * 6 + ["ar"] * 2 + ["fr"] * 4,
    )


def test_result_does_not_depend_on_input_order() -> None:
    rows = mixed_corpus()
    expected = outcome(dedup_all(rows))
    # The outcome itself is right, so that order-independence is not of a wrong answer.
    assert ("u1", None, None) in expected
    assert {r for r in expected if r[1] == "rescrape"} == {("u1", "rescrape", "u1")}
    assert {r for r in expected if r[1] == "exact_duplicate"} == {
        ("e1", "exact_duplicate", "e3"),
        ("e2", "exact_duplicate", "e3"),
        ("a2", "exact_duplicate", "a1"),
    }
    assert {r for r in expected if r[1] == "near_duplicate"} == {("n2", "near_duplicate", "n1")}
    for seed in (1, 2, 3):
        shuffled = rows.sample(fraction=1.0, shuffle=True, seed=seed)
        assert shuffled["id"].to_list() != rows["id"].to_list()
        assert outcome(dedup_all(shuffled)) == expected
        # The kept re-scrape is the same row, not just the same id.
        kept = dedup_all(shuffled).filter(pl.col("removed_reason").is_null() & (pl.col("id") == "u1"))
        assert kept["source_line"].to_list() == [2]


# Properties.


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    k=st.integers(min_value=1, max_value=6),
    text=st.sampled_from([" ".join(words(20)), "Un texte court.", "نص قصير جدا"]),
    days=st.lists(st.integers(min_value=1, max_value=28), min_size=6, max_size=6),
    noise=st.lists(st.sampled_from(["", " ", "!", ".", "  "]), min_size=6, max_size=6),
)
def test_k_identical_texts_keep_exactly_one(k: int, text: str, days: list[int], noise: list[str]) -> None:
    rows = frame(
        id=[f"d{i}" for i in range(k)],
        text=[text + noise[i] for i in range(k)],
        language=["fr"] * k,
        published_date=[dt.date(2024, 5, days[i]) for i in range(k)],
    )
    out = dedup_all(rows)
    assert out.height == k
    kept = out.filter(pl.col("removed_reason").is_null())
    assert kept.height == 1
    earliest = min(days[:k])
    assert kept["published_date"][0] == dt.date(2024, 5, earliest)
    assert set(out["dup_of"].drop_nulls().to_list()) <= set(kept["id"].to_list())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from([None, "https://a.ma/1", "https://a.ma/2", "https://b.ma/1"]),
            st.sampled_from(["alpha beta", "Alpha, beta!", "gamma delta epsilon", " ".join(words(5))]),
            st.sampled_from(["fr", "ar"]),
        ),
        max_size=12,
    )
)
def test_dedup_never_adds_or_drops_rows(spec: list[tuple[str | None, str, str]]) -> None:
    rows = frame(
        id=[f"r{i}" for i in range(len(spec))],
        url=[s[0] for s in spec],
        text=[s[1] for s in spec],
        language=[s[2] for s in spec],
        source_file=["f"] * len(spec),
        source_line=list(range(1, len(spec) + 1)),
    )
    for step in (remove_rescrapes, remove_exact, remove_near):
        out = step(rows, SECTION)
        assert out.height == rows.height
        assert out["id"].to_list() == rows["id"].to_list()
    everything = dedup_all(rows)
    assert sorted(everything["id"].to_list()) == sorted(rows["id"].to_list())
    removed = everything.filter(pl.col("removed_reason").is_not_null())
    assert removed["dup_of"].null_count() == 0
    kept_ids = set(everything.filter(pl.col("removed_reason").is_null())["id"].to_list())
    # Every duplicate points at a document of the input; following the pointers (a re-scrape's
    # survivor may later be an exact duplicate) ends at a released document.
    pointer = dict(removed.select("id", "dup_of").iter_rows())
    for target in removed["dup_of"].to_list():
        for _ in range(len(spec)):
            if target in kept_ids:
                break
            target = pointer[target]
        assert target in kept_ids
