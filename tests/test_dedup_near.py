"""Near duplicates: components of verified pairs, one survivor per component by the configured
priority, audit columns, LSH parameters chosen for recall, and dedup against an earlier release."""

from __future__ import annotations

import datetime as dt
import random
from functools import partial
from pathlib import Path

import polars as pl
import pytest

from corpus.config import DedupConfig
from corpus.dedup import load_earlier, remove_exact, remove_near, remove_rescrapes, write_signatures
from corpus.runner import run_steps
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


def test_a_chain_is_one_component_with_one_survivor() -> None:
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
    assert out["removed_reason"].to_list() == [None, "near_duplicate", "near_duplicate"]
    assert out["dup_of"].to_list() == [None, "a", "a"]  # the component's survivor, not the neighbour
    assert out["similarity"][2] == pytest.approx(jaccard(a, c), abs=1e-4)  # to the survivor


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
            days.append(dt.date(2024, 1, 1 + (s * 7 + v * 3) % 5))
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
            .select("id", "removed_reason", "dup_of", "similarity", "minhash")
            .equals(expected.select("id", "removed_reason", "dup_of", "similarity", "minhash"))
        )


def test_signatures_in_many_blocks_give_the_same_build(monkeypatch: pytest.MonkeyPatch) -> None:
    """Signatures are computed in blocks that become chunks of `minhash` (and an earlier release
    is one more block); the runner splits such chunks one at a time. Tiny blocks change nothing."""
    rows = clustered_corpus().sample(fraction=1.0, shuffle=True, seed=4)
    steps = [
        ("exact", partial(remove_exact, section=SECTION)),
        ("near", partial(remove_near, section=SECTION)),
    ]
    one = run_steps(rows, steps)
    monkeypatch.setattr("corpus.dedup.steps.BLOCK_ROWS", 3)
    monkeypatch.setattr("corpus.dedup.steps.NORMALISE_DOCS", 2)
    many = run_steps(rows, steps)
    assert many.released["minhash"].n_chunks() > 1
    for mine, theirs in ((one.released, many.released), (one.removed, many.removed)):
        assert mine.sort("id").equals(theirs.sort("id").rechunk())
    assert one.released["minhash"].list.len().unique().to_list() == [SECTION.num_perm]


def test_every_removed_row_names_its_survivor_and_similarity() -> None:
    out = remove_near(clustered_corpus(), SECTION)
    gone = out.filter(pl.col("removed_reason") == "near_duplicate")
    kept = set(out.filter(pl.col("removed_reason").is_null())["id"].to_list())
    assert gone.height == clustered_corpus().height - 12
    assert set(gone["dup_of"].to_list()) <= kept
    assert gone["dup_of"].str.slice(0, 3).to_list() == gone["id"].str.slice(0, 3).to_list()
    # Similarity is to the survivor (exact n-gram Jaccard): in a chain it can be below the threshold.
    text = dict(out.select("id", "text").iter_rows())
    for doc, survivor, similarity in gone.select("id", "dup_of", "similarity").iter_rows():
        assert similarity == pytest.approx(jaccard(text[doc].split(), text[survivor].split()), abs=1e-4)
    assert gone["dup_release"].null_count() == gone.height
    assert out["minhash"].list.len().unique().to_list() == [SECTION.num_perm]


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
    steps = [
        (name, partial(step, section=SECTION, earlier=earlier))
        for name, step in [("rescrape", remove_rescrapes), ("exact", remove_exact), ("near", remove_near)]
    ]
    result = run_steps(rows, steps)
    gone = pl.concat([result.released, result.removed], how="diagonal_relaxed")
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
