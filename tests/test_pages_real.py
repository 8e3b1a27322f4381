"""Aggregator pages and furniture on real data: the seed page, generated pages, the real scrapes.

Expected values come from the files themselves (the seed's lines around its byline, the
generator's labels and fixed layout), never from the code under test.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import polars as pl
import pytest

from corpus.boilerplate import load_furniture, strip_boilerplate
from corpus.config import LoadedConfig, SourceConfig, load_config
from corpus.metadata import normalise_metadata
from corpus.metadata.outlets import alias_table, load_outlets
from corpus.repair import repair
from corpus.schema import conform
from corpus.sources import read_source
from tests.conftest import REAL_CONFIG

pytestmark = pytest.mark.realdata
REPO = Path(__file__).resolve().parents[1]
SEED_NAME = "000_8f4dca318b16cd8e.txt"


def front(frame: pl.DataFrame, loaded: LoadedConfig) -> pl.DataFrame:
    """Repair, boilerplate and metadata over read rows (the steps before language and dedup)."""
    config = loaded.config
    patterns = load_furniture(loaded.resolve(config.boilerplate.patterns or "boilerplate.yaml"))
    aliases = alias_table(load_outlets(loaded.resolve(config.metadata.outlets)))
    out = strip_boilerplate(repair(conform(frame), section=config.repair), config.boilerplate, patterns)
    return normalise_metadata(out, config.metadata, aliases)


def squash(text: str) -> str:
    """Base letters and digits only, so spacing and repair's hygiene do not count."""
    decomposed = unicodedata.normalize("NFD", text).replace("\u0640", "")
    return re.sub(r"[\W_]+", "", "".join(c for c in decomposed if not unicodedata.combining(c)))


@pytest.fixture(scope="module")
def loaded(shared_data: Path) -> LoadedConfig:
    return load_config(REAL_CONFIG)


@pytest.mark.parametrize("folder", ["shared", "sample"])
def test_seed_page_is_split_into_its_parts(folder: str, shared_data: Path, loaded: LoadedConfig) -> None:
    seed = (
        shared_data.parent / "seeds" / SEED_NAME
        if folder == "shared"
        else REPO / "corpus/sample/pages/000_seed.txt"
    )
    lines = seed.read_text(encoding="utf-8").split("\n")
    byline = next(i for i, line in enumerate(lines) if line.startswith("Publié dans"))
    footer = next(i for i, line in enumerate(lines) if line.startswith("Cliquez ici"))
    source = SourceConfig(name="seed", kind="pages", path=seed.name)
    row = front(read_source(source, seed.parent), loaded).row(0, named=True)
    assert row["layout"] == "page"
    assert row["title"] == lines[byline - 1].strip()
    assert row["source_raw"] == "L'opinion"
    assert row["published_raw"] == "09 - 02 - 2023"
    assert row["source"] == "L'Opinion"
    assert row["country"] == "MA"
    assert str(row["published_date"]) == "2023-02-09"
    assert row["published_at"] is None  # the byline gives a day, not a time
    assert squash(row["text"]) == squash("".join(lines[byline + 1 : footer]))
    assert row["furniture"].count("page_head") == sum(1 for line in lines[: byline - 1] if line.strip())
    assert row["furniture"].count("page_footer") == 1


@pytest.fixture(scope="module")
def generated(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    generator = shared_data.parent / "bench" / "make_corpus.py"
    if not generator.is_file():
        pytest.skip("../shared/bench/make_corpus.py is absent")
    out = tmp_path_factory.mktemp("raw")
    command = [sys.executable, str(generator), "--docs", "300", "--out", str(out), "--format", "raw"]
    subprocess.run([*command, "--seed", "5", "--mojibake-share", "0.05"], check=True, capture_output=True)
    return out


def test_generated_pages_lose_their_furniture_and_keep_their_content(
    generated: Path, loaded: LoadedConfig
) -> None:
    labels = {
        row["doc_id"]: row
        for row in map(json.loads, (generated / "labels.jsonl").read_text(encoding="utf-8").splitlines())
    }
    rows = front(read_source(SourceConfig(name="generated", kind="pages", path="."), generated), loaded)
    rows = rows.with_columns(doc=pl.col("source_file").str.replace(r"\.txt$", "")).filter(
        pl.col("removed_reason").is_null()
    )
    clean = [doc for doc, label in labels.items() if not label["mojibake"]]
    checked = rows.filter(pl.col("doc").is_in(clean))
    assert checked.height == len(clean)
    assert (checked["layout"] == "page").all()
    truth = pl.DataFrame({"doc": clean, "outlet": [labels[d]["outlet"] for d in clean]})
    assert checked.join(truth, on="doc").select((pl.col("source") == pl.col("outlet")).all()).item()
    assert [str(d) for d in checked["published_date"]] == [labels[d]["published"] for d in checked["doc"]]
    # The generator's sentences are real and some carry real furniture the pattern list removes.
    patterns = load_furniture(loaded.resolve("boilerplate.yaml"))

    def expected(line: str) -> str:
        for pattern in patterns:
            line = pl.select(pl.lit(line).str.replace_all(pattern.regex, "")).item()
        return squash(line)

    lost = 0
    for doc, text in checked.select("doc", "text").iter_rows():
        lines = (generated / f"{doc}.txt").read_text(encoding="utf-8").split("\n")
        body = [line for line in lines[16:] if line.strip()]
        for line in (lines[0], lines[8], lines[9], body[-1]):  # ticker, modal, footer
            assert squash(line) not in squash(text)
        lost += sum(expected(line) not in squash(text) for line in body[:-1])
    assert lost == 0


def test_financial_scrapes_lose_their_known_tails(loaded: LoadedConfig) -> None:
    source = next(s for s in loaded.config.sources if s.name == "fr-financial")
    raw = read_source(source, loaded.root)
    rows = front(raw, loaded)
    for tail in (
        "Suivez la chaîne",
        "Toute reproduction interdite",
        "Please enable JavaScript",
        "Copyright Pulse",
    ):
        assert raw["text"].str.contains(tail, literal=True).any()
        assert not rows["text"].str.contains(tail, literal=True).any()
    assert (rows["removed_reason"] == "empty").sum() == 0
    # Removal only shortens: every kept text is the scraped text minus furniture.
    assert (rows["text"].str.len_chars() <= raw["text"].str.len_chars()).all()


def test_arabic_newspapers_lose_word_processor_residue(loaded: LoadedConfig) -> None:
    source = next(s for s in loaded.config.sources if s.name == "ar-newspapers")
    raw = read_source(source, loaded.root)
    rows = front(raw, loaded)
    assert raw["text"].str.contains("Top of Form").any()
    assert not rows["text"].str.contains("Top of Form|Bottom of Form").any()
