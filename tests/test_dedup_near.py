"""Near duplicates: exactly verified pairs, star clusters in survivor order (no chaining), one
survivor per cluster by the configured priority, audit columns, LSH parameters chosen for recall,
and dedup against an earlier release."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from corpus.config import DedupConfig
from corpus.dedup import (
    ExactDuplicates,
    NearDuplicates,
    Rescrapes,
    load_earlier,
    remove_exact,
    remove_near,
    write_signatures,
)
from corpus.dedup.near import _stars, id_prefixes
from corpus.engine.memory import run_steps
from corpus.engine.shuffle import InProcess
from tests.helpers import frame

SECTION = DedupConfig()


def story(seed: int, words: int = 300) -> list[str]:
    rng = random.Random(seed)
    return [f"w{rng.randrange(20000)}" for _ in range(words)]


def edited(words: list[str], every: int, seed: int) -> list[str]:
    """Replace one word in `every` (spread evenly), so the n-gram Jaccard drops predictably."""
    rng = random.Random(seed)
    return [f"x{rng.randrange(10**6)}" if i % every == every // 2 else w for i, w in enumerate(words)]


def jaccard(a: list[str], b: list[str], n: int = 5) -> float:
    """Word 5-gram Jaccard, computed here independently of corpus.dedup."""
    x = {tuple(a[i : i + n]) for i in range(len(a) - n + 1)}
    y = {tuple(b[i : i + n]) for i in range(len(b) - n + 1)}
    return len(x & y) / len(x | y)


def test_bands_and_rows_catch_pairs_below_the_threshold() -> None:
    bands, rows = SECTION.bands_rows
    assert bands * rows <= SECTION.num_perm
    floor = SECTION.threshold - SECTION.verify_margin
    assert 1 - (1 - floor**rows) ** bands >= SECTION.candidate_recall
    # One more row per band would no longer reach that recall (so rows is the largest that does).
    wider = SECTION.num_perm // (rows + 1)
    assert 1 - (1 - floor ** (rows + 1)) ** wider < SECTION.candidate_recall


def test_a_chain_keeps_its_middle_and_never_chains() -> None:
    """A~B and B~C but A≁C: B, the one within the threshold of both, is kept and takes both; C is
    never removed for A (greedy in survivor order, A would take B and leave C behind)."""
    a = story(1)
    b = a[:150] + edited(a[150:], 30, 2)  # A~B: the second half edited
    c = edited(b[:150], 30, 3) + b[150:]  # B~C: the first half edited, so C is further from A
    assert jaccard(a, b) >= 0.8 and jaccard(b, c) >= 0.8 and jaccard(a, c) < 0.8
    rows = frame(
        id=["a", "b", "c"],
        text=[" ".join(t) for t in (a, b, c)],
        language=["fr"] * 3,
        published_date=[dt.date(2024, 1, d) for d in (1, 2, 3)],
    )
    out = remove_near(rows, SECTION)
    assert out["removed_reason"].to_list() == ["near_duplicate", None, "near_duplicate"]
    assert out["dup_of"].to_list() == ["b", None, "b"]
    assert out["similarity"][0] == pytest.approx(jaccard(a, b), abs=1e-4)
    assert out["similarity"][2] == pytest.approx(jaccard(b, c), abs=1e-4)


def star_docs(days: list[int]) -> pl.DataFrame:
    """Documents numbered 0.. as the near-duplicate clustering reads them, published on `days`."""
    n = len(days)
    return pl.DataFrame(
        {
            "id": [f"d{i}" for i in range(n)],
            "source": ["x"] * n,
            "published_at": pl.Series([None] * n, dtype=pl.Datetime("us", "UTC")),
            "published_date": [dt.date(2024, 1, d) for d in days],
            "text_chars": [100] * n,
            "_group": [""] * n,
            "_earlier": [False] * n,
            "_part": pl.Series([0] * n, dtype=pl.UInt32),
            "_row": pl.Series(range(n), dtype=pl.UInt32),
            "_key": pl.Series(range(n), dtype=pl.UInt32),
        }
    )


def star_edges(pairs: list[tuple[int, int]]) -> pl.DataFrame:
    left, right = zip(*pairs, strict=True)
    return pl.DataFrame({"left": left, "right": right, "similarity": [0.9] * len(pairs)})


def test_a_star_keeps_the_preferred_member_within_the_threshold_of_all_the_others() -> None:
    """0 (day 2) takes 1, 5, 6; then 2 has the most neighbours left (3, 4; 1 is taken), but 3,
    published first and within the threshold of 2 and 4, is kept for the three of them."""
    docs = star_docs([2, 9, 3, 1, 8, 7, 6])
    edges = star_edges([(0, 1), (0, 5), (0, 6), (2, 1), (2, 3), (2, 4), (3, 4)])
    gone = _stars(docs, edges, SECTION).sort("_row")
    assert dict(zip(gone["_row"].to_list(), gone["keeper"].to_list(), strict=True)) == {
        1: "d0",
        2: "d3",
        4: "d3",
        5: "d0",
        6: "d0",
    }


def test_an_original_with_two_reprints_apart_from_each_other_keeps_only_the_original() -> None:
    """Reprints 1 and 2 are each within the threshold of original 0 but not of each other; the
    reprint published first does not take the original and leave the other reprint behind."""
    docs = star_docs([5, 1, 3])
    gone = _stars(docs, star_edges([(0, 1), (0, 2)]), SECTION).sort("_row")
    assert gone["_row"].to_list() == [1, 2]
    assert gone["keeper"].to_list() == ["d0", "d0"]


def drifting_chain(seed: int, steps: int = 6, share: float = 0.02) -> list[list[str]]:
    """A story edited `steps` times in a row, each edit replacing `share` of the words of the
    last version at random positions (about J 0.82 from one version to the next)."""
    rng = random.Random(seed)
    versions = [story(seed)]
    for _ in range(steps):
        words = list(versions[-1])
        for position in rng.sample(range(len(words)), round(share * len(words))):
            words[position] = f"y{rng.randrange(10**6)}"
        versions.append(words)
    return versions


def test_every_removal_is_within_the_threshold_of_its_survivor_on_drifting_chains() -> None:
    """Chains like an article edited again and again: consecutive versions are near duplicates,
    distant ones are not; every document removed is itself close to the one kept for it."""
    ids, texts, days = [], [], []
    for chain in range(8):
        for position, words in enumerate(drifting_chain(chain + 7)):
            ids.append(f"c{chain}v{position}")
            texts.append(" ".join(words))
            days.append(dt.date(2024, 3, 1 + position))
    rows = frame(id=ids, text=texts, language=["fr"] * len(ids), published_date=days)
    versions = {i: t.split() for i, t in zip(ids, texts, strict=True)}
    far = [
        (x, y)
        for x in ids
        for y in ids
        if x < y and x[:2] == y[:2] and jaccard(versions[x], versions[y]) < SECTION.threshold
    ]
    assert far  # the chains do drift beyond the threshold
    out = remove_near(rows, SECTION)
    gone = out.filter(pl.col("removed_reason") == "near_duplicate")
    assert gone.height > 0
    for doc, survivor, similarity in gone.select("id", "dup_of", "similarity").iter_rows():
        truth = jaccard(versions[doc], versions[survivor])
        assert truth >= SECTION.threshold
        assert similarity == pytest.approx(truth, abs=1e-4)


def test_survivor_priority_date_then_outlet_then_length_then_id() -> None:
    base = story(5)
    longer = " ".join([*base, "fin"])
    rows = frame(
        id=["reprint-long", "wire", "late", "reprint-b", "reprint-a"],
        text=[longer, " ".join(base), longer, " ".join(base), " ".join(base) + " "],
        source=["Le Matin", "MAP Express", "Le360", "H24Info", "H24Info"],
        language=["fr"] * 5,
        published_date=[dt.date(2024, 5, 2)] * 2 + [dt.date(2024, 5, 9)] + [dt.date(2024, 5, 2)] * 2,
    )
    out = remove_near(rows, SECTION)
    assert out.filter(pl.col("removed_reason").is_null())["id"].to_list() == ["wire"]
    no_wire = rows.filter(pl.col("id") != "wire")
    out = remove_near(no_wire, SECTION)
    assert out.filter(pl.col("removed_reason").is_null())["id"].to_list() == ["reprint-long"]
    out = remove_near(no_wire.filter(pl.col("id").is_in(["reprint-a", "reprint-b"])), SECTION)
    assert out.filter(pl.col("removed_reason").is_null())["id"].to_list() == ["reprint-a"]


def clustered_corpus(stories: int = 12) -> pl.DataFrame:
    ids, texts, days = [], [], []
    for s in range(stories):
        words = story(100 + s)
        for v in range(s % 4 + 1):
            ids.append(f"s{s}v{v}")
            texts.append(" ".join(words if v == 0 else edited(words, 60 + v, s * 10 + v)))
            days.append(dt.date(2024, 1, 1 + v + s % 3))  # the original is the earliest of its story
    return frame(id=ids, text=texts, language=["fr"] * len(ids), published_date=days)


def test_outcome_is_identical_under_shuffled_input() -> None:
    rows = clustered_corpus()
    expected = remove_near(rows, SECTION).sort("id")
    assert expected["removed_reason"].null_count() == 12  # one per story
    for seed in range(3):
        shuffled = rows.sample(fraction=1.0, shuffle=True, seed=seed)
        got = remove_near(shuffled, SECTION)
        assert got["id"].to_list() == shuffled["id"].to_list()  # input order kept
        assert (
            got.sort("id")
            .select("id", "removed_reason", "dup_of", "similarity")
            .equals(expected.select("id", "removed_reason", "dup_of", "similarity"))
        )


def test_signatures_in_small_pieces_give_the_same_decisions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Signatures are computed a few documents at a time and band keys read a few bands at a time;
    tiny pieces change nothing."""
    rows = clustered_corpus().sample(fraction=1.0, shuffle=True, seed=4)
    steps = [ExactDuplicates(SECTION), NearDuplicates(SECTION)]
    one = run_steps(rows, steps)
    monkeypatch.setattr("corpus.dedup.phases.NORMALISE_DOCS", 2)
    monkeypatch.setattr("corpus.dedup.near.BANDS_AT_ONCE", 3)
    monkeypatch.setattr("corpus.dedup.verify.GRAM_DOCS", 2)
    monkeypatch.setattr("corpus.dedup.verify.EXACT_BATCH_PAIRS", 1)
    many = run_steps(rows, steps)
    assert one.rows.equals(many.rows)
    assert one.removed.height > 0


def test_verification_cut_into_any_calls_gives_the_same_decisions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Close pairs are verified by a regroup, which a cluster cuts into buckets whose results come
    back in any order: the same decisions as one call here."""
    rows = clustered_corpus()
    steps = [ExactDuplicates(SECTION), NearDuplicates(SECTION)]
    one = run_steps(rows, steps)
    regroup, calls = InProcess.regroup, []

    def in_buckets(self: InProcess, frame: pl.DataFrame, by: list[str], run: Any) -> pl.DataFrame:
        if by != ["_pair"]:
            return regroup(self, frame, by, run)
        calls.append(frame.height)
        return pl.concat([run(frame.filter(pl.col("_pair") % 3 == bucket)) for bucket in (2, 0, 1)])

    monkeypatch.setattr(InProcess, "regroup", in_buckets)
    cut = run_steps(rows, steps)
    assert calls and calls[0] > 3
    assert one.rows.equals(cut.rows) and one.removed.equals(cut.removed)
    assert one.removed.height > 0


def test_every_removed_row_names_its_survivor_and_similarity() -> None:
    out = remove_near(clustered_corpus(), SECTION)
    gone = out.filter(pl.col("removed_reason") == "near_duplicate")
    kept = set(out.filter(pl.col("removed_reason").is_null())["id"].to_list())
    assert gone.height == clustered_corpus().height - 12
    assert set(gone["dup_of"].to_list()) <= kept
    assert gone["dup_of"].str.slice(0, 3).to_list() == gone["id"].str.slice(0, 3).to_list()
    # Similarity is to the survivor (exact n-gram Jaccard), never below the threshold.
    text = dict(out.select("id", "text").iter_rows())
    for doc, survivor, similarity in gone.select("id", "dup_of", "similarity").iter_rows():
        assert similarity == pytest.approx(jaccard(text[doc].split(), text[survivor].split()), abs=1e-4)
        assert similarity >= SECTION.threshold
    assert gone["dup_release"].null_count() == gone.height


def earlier_release(tmp_path: Path) -> Path:
    words = story(42)
    rows = frame(
        id=["old"],
        text=[" ".join(words)],
        language=["fr"],
        source=["Le Matin"],
        url=["https://lematin.ma/old"],
        published_date=[dt.date(2024, 1, 1)],
    )
    write_signatures(remove_near(rows, SECTION), tmp_path, SECTION)
    (tmp_path / "manifest.json").write_text('{"version": "v0.1.0"}', encoding="utf-8")
    return tmp_path


def test_new_documents_against_an_earlier_release_name_its_version_and_id(tmp_path: Path) -> None:
    earlier = load_earlier(earlier_release(tmp_path), SECTION)
    words = story(42)
    rows = frame(
        id=["rescraped", "copy", "near", "new"],
        text=[" ".join(words[:100]), " ".join(words).upper(), " ".join(edited(words, 60, 1)), "autre chose"],
        language=["fr"] * 4,
        source=["Le Matin", "MAP Express", "Le360", "Le360"],
        url=["https://lematin.ma/old", None, None, None],
        # Earlier dates do not matter: the earlier release's document stays released.
        published_date=[dt.date(2023, 12, 1)] * 4,
    )
    steps = [Rescrapes(SECTION, earlier), ExactDuplicates(SECTION, earlier), NearDuplicates(SECTION, earlier)]
    gone = run_steps(rows, steps).rows
    audit = {r[0]: r[1:] for r in gone.select("id", "removed_reason", "dup_of", "dup_release").iter_rows()}
    assert audit == {
        "rescraped": ("rescrape", "old", "v0.1.0"),
        "copy": ("exact_duplicate", "old", "v0.1.0"),
        "near": ("near_duplicate", "old", "v0.1.0"),
        "new": (None, None, None),
    }


def test_identical_texts_with_the_same_id_keep_exactly_one() -> None:
    """Documents without URL get their id from the text, so exact copies share an id."""
    rows = frame(id=["same"] * 3, text=["un texte répété"] * 3, language=["fr"] * 3, source_line=[1, 2, 3])
    out = remove_exact(rows, SECTION)
    assert out["removed_reason"].to_list() == [None, "exact_duplicate", "exact_duplicate"]


@given(st.lists(st.text(max_size=24), max_size=40))
def test_id_prefixes_sort_ids_as_polars_does_with_ties_left_to_the_whole_id(ids: list[str]) -> None:
    """The canonical order sorts 16-byte id prefixes and reads whole ids only where prefixes tie:
    sorting by (prefix, id) must be sorting by id."""
    series = pl.Series("id", ids, dtype=pl.String)
    prefix = id_prefixes(series)
    by_prefix = np.lexsort((np.arange(len(ids)), prefix[:, 1], prefix[:, 0]))
    in_order = pl.DataFrame({"id": series, "p0": prefix[:, 0], "p1": prefix[:, 1]})[by_prefix]
    resolved = in_order.sort("p0", "p1", "id", maintain_order=True)["id"].to_list()
    assert resolved == series.sort().to_list()


def test_near_copies_sharing_an_id_keep_the_first_by_lineage_in_any_input_order() -> None:
    """Same id, date, outlet and length: only the canonical order (id, then lineage) is left to
    choose the survivor, whatever order the rows come in."""
    words = story(21)
    texts = [" ".join(words), " ".join(edited(words, 80, 3))]
    rows = frame(
        id=["0123456789abcdef0123"] * 2,
        text=texts,
        language=["fr"] * 2,
        source_line=[7, 3],
        published_date=[dt.date(2024, 5, 2)] * 2,
    ).with_columns(text=pl.col("text").str.slice(0, min(len(t) for t in texts)))
    for order in ([0, 1], [1, 0]):
        out = remove_near(rows[order], SECTION)
        kept = out.filter(pl.col("removed_reason").is_null())["source_line"].to_list()
        assert kept == [3]
