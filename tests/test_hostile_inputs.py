"""Hostile inputs, each written here: nothing is corrupted, nothing hangs, nothing is lost, and an
expected problem is one line naming the file and line, never a traceback."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from corpus.build import build
from corpus.cli import app
from corpus.config import QualityConfig, SourceConfig, load_config
from corpus.errors import ConfigError, SourceError
from corpus.language.paragraphs import split_units
from corpus.quality import quality, screen
from corpus.schema import conform
from corpus.sources import read_source, read_sources
from tests.conftest import REAL_CONFIG
from tests.helpers import CONFIGS

FRENCH = [
    "La première récolte de données économiques a été publiée à Rabat par le ministère des finances.",
    "Les élèves ont été nombreux à s'inscrire à l'université cette année, selon le rapport annuel.",
    "Le marché des changes a clôturé la séance en légère hausse, porté par les échanges de dirhams.",
]


def source(**fields: object) -> SourceConfig:
    return SourceConfig(**{"name": "src", **fields})


def jsonl(texts: list[str]) -> bytes:
    lines = [
        json.dumps({"url": f"https://x.ma/{i}", "text": t}, ensure_ascii=False) for i, t in enumerate(texts)
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


def config(folder: Path, sources: str, **sections: str) -> Path:
    """A config over `sources` (YAML list items) with the repository's patterns and outlets."""
    extra = "".join(f"{name}: {value}\n" for name, value in sections.items())
    path = folder / "config.yaml"
    path.write_text(
        f"name: hostile\nversion: 0.1.0\nsources:\n{sources}"
        f"boilerplate: {{patterns: {CONFIGS / 'boilerplate.yaml'}}}\n"
        f"metadata: {{outlets: {CONFIGS / 'outlets.yaml'}}}\n{extra}",
        encoding="utf-8",
    )
    return path


def run_cli(*arguments: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(arguments))
    return result.exit_code, result.output


# --------------------------------------------------------------------------- 1. bytes that are not UTF-8


def test_one_bad_byte_no_longer_turns_a_utf8_file_into_cp1256(tmp_path: Path) -> None:
    """A stray Latin-1 byte inside a French line of a UTF-8 file: that record alone is untrusted;
    every other text stays as written (it was all mojibake before: `premiأ¨re`)."""
    data = jsonl(FRENCH).replace("publiée".encode(), b"publi\xe9e", 1)
    (tmp_path / "news.jsonl").write_bytes(data)
    with pytest.raises(SourceError) as caught:
        read_source(source(kind="jsonl", path="news.jsonl"), tmp_path)
    assert str(caught.value).startswith("news.jsonl:1: invalid UTF-8 (byte 0xE9 at character")
    rows = read_source(source(kind="jsonl", path="news.jsonl", on_bad_record="skip"), tmp_path)
    assert rows["reader_error"].is_null().to_list() == [False, True, True]
    assert rows["text"].to_list()[1:] == FRENCH[1:]
    assert rows["encoding"].to_list() == ["utf-8"] * 3


def test_a_line_all_in_a_legacy_code_page_is_decoded_alone(tmp_path: Path) -> None:
    """A record whose every high byte is Windows-1252 (no valid UTF-8 in it) reads as that code
    page; the file stays UTF-8 and the row says which encoding it took."""
    lines = jsonl(FRENCH).split(b"\n")
    lines[2] = lines[2].decode("utf-8").encode("cp1252")
    (tmp_path / "news.jsonl").write_bytes(b"\n".join(lines))
    rows = read_source(source(kind="jsonl", path="news.jsonl"), tmp_path)
    assert rows["text"].to_list() == FRENCH
    # French accents sit at the same bytes in cp1256 and cp1252: the first candidate names them.
    assert rows["encoding"].to_list() == ["utf-8", "utf-8", "cp1256"]


def test_a_file_that_reads_as_one_code_page_is_decoded_with_it(tmp_path: Path) -> None:
    (tmp_path / "news.jsonl").write_bytes(jsonl(FRENCH).decode("utf-8").encode("cp1252"))
    rows = read_source(source(kind="jsonl", path="news.jsonl"), tmp_path)
    assert rows["text"].to_list() == FRENCH
    assert set(rows["encoding"].to_list()) == {"cp1256"}


ARABIC = [
    "أعلنت الحكومة المغربية عن مشروع جديد لدعم الفلاحين في جهة سوس ماسة هذا الأسبوع.",
    "ارتفعت صادرات الحوامض من ميناء أكادير بنسبة كبيرة خلال الموسم الحالي حسب المكتب.",
    "قال وزير المالية إن معدل التضخم تراجع في شهر أكتوبر مقارنة بالشهر الذي سبقه.",
]


@pytest.mark.parametrize("kind", ["jsonl", "csv", "json"])
def test_a_utf8_line_in_a_legacy_file_stays_utf8(tmp_path: Path, kind: str) -> None:
    """A Windows-1256 file (Arabic) with one record appended as UTF-8 (French): the file reads as
    cp1256 as a whole, but the UTF-8 line is not released as mojibake (`premiأ¨re`)."""
    if kind == "csv":
        legacy = ("url,text\n" + "".join(f"https://x.ma/{i},{t}\n" for i, t in enumerate(ARABIC))).encode(
            "cp1256"
        )
        data = legacy + f"https://x.ma/fr,{FRENCH[0]}\n".encode()
    elif kind == "jsonl":
        data = jsonl(ARABIC).decode().encode("cp1256") + jsonl(FRENCH[:1])
    else:
        items = [json.dumps({"text": t}, ensure_ascii=False) for t in ARABIC]
        data = ("[\n" + ",\n".join(items) + ",\n").encode("cp1256")
        data += (json.dumps({"text": FRENCH[0]}, ensure_ascii=False) + "\n]\n").encode()
    (tmp_path / f"news.{kind}").write_bytes(data)
    rows = read_source(source(kind=kind, path=f"news.{kind}"), tmp_path)
    assert rows["text"].to_list() == [*ARABIC, FRENCH[0]]
    if kind != "json":  # a JSON file's records span lines: the file says it mixes both
        assert rows["encoding"].to_list() == ["cp1256"] * 3 + ["utf-8"]
    else:
        assert set(rows["encoding"].to_list()) == {"cp1256+utf-8"}


def test_a_record_nested_as_deep_as_the_parser_allows_is_read(tmp_path: Path) -> None:
    """The surrogate check walks a record without recursion: 450 levels (the parser allows about
    a thousand) used to end in a RecursionError traceback."""
    deep = "[" * 450 + "]" * 450
    (tmp_path / "news.json").write_text(f'[{{"text": "{FRENCH[0]}", "x": {deep}}}]', encoding="utf-8")
    assert read_source(source(kind="json", path="news.json"), tmp_path)["text"].to_list() == FRENCH[:1]
    line = f'{{"x": {"[" * 500}{"]" * 500}, "text": "\\ud800"}}'
    (tmp_path / "news.jsonl").write_text(f"{line}\n", encoding="utf-8")
    rows = read_source(source(kind="jsonl", path="news.jsonl", on_bad_record="skip"), tmp_path)
    assert rows["reader_error"].to_list() == ["a string holds an escaped lone surrogate (not a character)"]


def test_a_bad_byte_in_a_csv_record_is_that_record_only(tmp_path: Path) -> None:
    body = "url,text\n" + "".join(f'https://x.ma/{i},"{t}"\n' for i, t in enumerate(FRENCH))
    data = body.encode("utf-8").replace("séance".encode(), b"s\xe9ance")
    (tmp_path / "news.csv").write_bytes(data)
    with pytest.raises(SourceError) as caught:
        read_source(source(kind="csv", path="news.csv"), tmp_path)
    assert str(caught.value).startswith("news.csv: line 4: invalid UTF-8 (byte 0xE9")
    rows = read_source(source(kind="csv", path="news.csv", on_bad_record="skip"), tmp_path)
    assert rows["reader_error"].is_null().to_list() == [True, True, False]
    assert rows["text"].to_list()[:2] == FRENCH[:2]


def test_build_report_counts_bad_records_and_legacy_rows(tmp_path: Path) -> None:
    lines = jsonl(FRENCH).split(b"\n")
    lines[0] = lines[0].replace("publiée".encode(), b"publi\xe9e")  # mixed: untrusted
    lines[2] = lines[2].decode("utf-8").encode("cp1252")  # all legacy: decoded
    (tmp_path / "news.jsonl").write_bytes(b"\n".join(lines))
    path = config(tmp_path, "  - {name: news, kind: jsonl, path: news.jsonl, on_bad_record: skip}\n")
    code, output = run_cli("build", str(path), "--out", str(tmp_path / "out"))
    assert code == 0, output
    assert "read        │       3 │        2 │ bad_record 1" in output
    assert "decoded from legacy code pages: cp1256 1" in output
    removed = pl.read_parquet(next((tmp_path / "out").glob("*/*/removed/*.parquet")))
    assert removed.select("removed_reason", "source_line").rows() == [("bad_record", 1)]
    assert removed["removed_detail"][0].startswith("invalid UTF-8 (byte 0xE9")


# --------------------------------------------------------------------------- 2. long documents


def test_a_record_longer_than_the_limit_is_removed_as_too_long() -> None:
    rows = conform(pl.DataFrame({"text": ["x" * 50, "court"], "title": [None, "y" * 60]}))
    out = screen(rows.with_columns(pl.lit(["a", "b"]).alias("id")), QualityConfig(max_document_chars=40))
    assert out["removed_reason"].to_list() == ["too_long", "too_long"]
    assert out["removed_detail"].to_list() == ["50 characters (max 40)", "60 characters (max 40)"]


def test_long_lines_are_cut_into_windows_in_one_pass() -> None:
    """A two-million-character line is cut into 500-character windows (formerly one slice per
    window, rescanning the line each time: 4x slower at each doubling)."""
    line = "abcdefghij" * 200_000
    units = split_units(pl.DataFrame({"doc": [0], "sample": [line + "\nfin"]}), 500)
    assert units.height == 4_000 + 1
    assert units["unit"].str.len_chars().to_list()[:2] == [500, 500]
    assert "".join(units["unit"].to_list()[:-1]) == line


# --------------------------------------------------------------------------- 3. binary and empty


ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 9 + bytes(range(256)) * 40 + b"\x00" * 4000


def test_a_binary_file_saved_as_text_is_removed_as_binary(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "ls.txt").write_bytes(ELF)
    (tmp_path / "docs" / "article.txt").write_text("Titre\n" + FRENCH[0], encoding="utf-8")
    path = config(tmp_path, "  - {name: docs, kind: text, path: docs}\n")
    summary = build(path, tmp_path / "out")
    removed = summary.removed()
    assert removed.select("source_file", "removed_reason").rows() == [("docs/ls.txt", "binary")]
    assert "control characters" in removed["removed_detail"][0]
    assert summary.released()["source_file"].to_list() == ["docs/article.txt"]


def test_invisible_characters_only_are_empty_and_one_letter_repeated_is_repetitive() -> None:
    texts = ["\u200b\u200c\u2060\ufeff \u00a0", "هههههههههههههه", "aaaaaaaaaa !", "Oui, vraiment.", FRENCH[0]]
    rows = conform(pl.DataFrame({"text": texts}))
    out = quality(rows, QualityConfig())
    assert out["removed_reason"].to_list() == ["empty", "repetitive", "repetitive", None, None]


def test_quality_defaults_keep_every_real_document(shared_data: Path) -> None:
    """The shipped thresholds remove none of the real scraped records of configs/real.yaml
    (financial scrapes, Arabic newspapers, MosaiqueFM, Hespress posts and short comments)."""
    rows = conform(read_sources(load_config(REAL_CONFIG)))
    out = quality(screen(rows, QualityConfig()), QualityConfig())
    assert (
        out.filter(pl.col("removed_reason").is_not_null()).select("source_file", "removed_detail").rows()
        == []
    )
    assert rows.height == 3437


# --------------------------------------------------------------------------- 4. no tracebacks


def test_a_line_nested_a_hundred_thousand_levels_deep_is_a_bad_record(tmp_path: Path) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    (tmp_path / "news.jsonl").write_text(f'{{"text": "ok"}}\n{{"text": {deep}}}\n', encoding="utf-8")
    with pytest.raises(SourceError, match=r"news.jsonl:2: not valid JSON \(nested too deeply\)"):
        read_source(source(kind="jsonl", path="news.jsonl"), tmp_path)
    rows = read_source(source(kind="jsonl", path="news.jsonl", on_bad_record="skip"), tmp_path)
    assert rows["reader_error"].to_list() == [None, "not valid JSON (nested too deeply)"]


def test_an_absolute_glob_simply_works(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.jsonl").write_bytes(jsonl(FRENCH[:1]))
    (tmp_path / "a" / "two.jsonl").write_bytes(jsonl(FRENCH[1:]))
    rows = read_source(source(kind="jsonl", path=str(tmp_path / "a" / "*.jsonl")), tmp_path / "elsewhere")
    assert rows.height == 3


def test_an_output_folder_that_cannot_be_written_fails_before_reading(tmp_path: Path) -> None:
    (tmp_path / "news.jsonl").write_bytes(jsonl(FRENCH))
    path = config(tmp_path, "  - {name: news, kind: jsonl, path: news.jsonl}\n")
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where a folder should be", encoding="utf-8")
    code, output = run_cli("build", str(path), "--out", str(blocked))
    assert code == 1
    assert output.startswith("error: ") and "cannot write the release there" in output
    assert "Traceback" not in output


def test_records_is_refused_for_kinds_it_does_not_apply_to(tmp_path: Path) -> None:
    path = config(tmp_path, "  - {name: news, kind: csv, path: news.csv, records: comments}\n")
    code, output = run_cli("build", str(path), "--out", str(tmp_path / "out"))
    assert code == 2
    assert "sources['news']: records: only for kind json (this source is csv)" in output


# --------------------------------------------------------------------------- 5. files that aborted builds


@pytest.mark.parametrize("suffix", ["jsonl", "csv", "json", "parquet"])
def test_an_empty_file_beside_good_ones_is_zero_records(tmp_path: Path, suffix: str) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / f"empty.{suffix}").write_bytes(b"")
    good = {
        "jsonl": jsonl(FRENCH),
        "csv": b"url,text\nhttps://x.ma/1,un texte\n",
        "json": b'[{"text": "un"}]',
    }
    if suffix == "parquet":
        pq.write_table(pa.table({"text": ["un texte"]}), tmp_path / "in" / "good.parquet")
    else:
        (tmp_path / "in" / f"good.{suffix}").write_bytes(good[suffix])
    rows = read_source(source(kind=suffix, path="in"), tmp_path)
    assert rows.height == {"jsonl": 3, "csv": 1, "json": 1, "parquet": 1}[suffix]


def test_a_csv_with_an_unbalanced_quote_names_the_line_and_skips_the_record(tmp_path: Path) -> None:
    (tmp_path / "news.csv").write_text(
        'url,text\nhttps://x.ma/1,premier\nhttps://x.ma/2,"jamais fermé\nhttps://x.ma/3,troisième\n',
        encoding="utf-8",
    )
    with pytest.raises(SourceError) as caught:
        read_source(source(kind="csv", path="news.csv"), tmp_path)
    assert str(caught.value) == "news.csv: line 3: unbalanced quote: the record never ends"
    rows = read_source(source(kind="csv", path="news.csv", on_bad_record="skip"), tmp_path)
    assert rows["text"].to_list() == ["premier", 'https://x.ma/2,"jamais fermé', "troisième"]
    assert rows["reader_error"].is_null().to_list() == [True, False, True]


def test_gzip_files_are_read_whatever_their_name(tmp_path: Path) -> None:
    (tmp_path / "news.jsonl").write_bytes(gzip.compress(jsonl(FRENCH[:2])))
    (tmp_path / "more.jsonl.gz").write_bytes(gzip.compress(jsonl(FRENCH[2:])))
    rows = read_source(source(kind="jsonl", path="*.jsonl*"), tmp_path)
    assert sorted(rows["text"].to_list()) == sorted(FRENCH)


# --------------------------------------------------------------------------- 7. options that were ignored


def test_skip_works_for_json_csv_parquet_text_and_pages(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('[{"text": "un"}, 3, {"text": "deux"}] trailing', encoding="utf-8")
    rows = read_source(source(kind="json", path="bad.json", on_bad_record="skip"), tmp_path)
    assert rows["reader_error"].is_null().to_list() == [True, False, True, False]
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 this is not parquet")
    rows = read_source(source(kind="parquet", path="bad.parquet", on_bad_record="skip"), tmp_path)
    assert rows["reader_error"][0].startswith("not a readable Parquet file")
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "mixed.txt").write_bytes("Un titre\nUne phrase publiée".encode() + b" \xe9t\xe9")
    for kind in ("pages", "text"):
        rows = read_source(source(kind=kind, path="pages", on_bad_record="skip"), tmp_path)
        assert rows["reader_error"][0].startswith("invalid UTF-8 (byte 0xE9")
        with pytest.raises(SourceError, match=r"mixed.txt: invalid UTF-8"):
            read_source(source(kind=kind, path="pages"), tmp_path)


def test_parquet_nested_values_become_json_text_not_nulls(tmp_path: Path) -> None:
    table = pa.table(
        {
            "text": ["un texte", "deux"],
            "title": [["a", "b"], None],
            "source": [{"name": "Le Matin", "id": 3}, {"name": "H24", "id": None}],
            "published": pa.array([1_700_000_000_000, None], pa.timestamp("ms")),
        }
    )
    pq.write_table(table, tmp_path / "news.parquet")
    rows = read_source(
        source(kind="parquet", path="news.parquet", columns={"published": "published"}), tmp_path
    )
    assert rows["title"].to_list() == ['["a", "b"]', None]
    assert rows["source_raw"].to_list() == ['{"name": "Le Matin", "id": 3}', '{"name": "H24", "id": null}']
    assert rows["published_raw"][0].startswith("2023-11-14")
    assert rows["source_line"].to_list() == [1, 2]


def test_quality_limits_are_checked_in_the_config(tmp_path: Path) -> None:
    path = config(
        tmp_path, "  - {name: news, kind: jsonl, path: x.jsonl}\n", quality="{max_document_chars: 0}"
    )
    with pytest.raises(ConfigError, match=r"quality.max_document_chars: must be >= 1"):
        load_config(path)


def test_an_unknown_time_zone_in_the_outlet_registry_is_a_config_error(tmp_path: Path) -> None:
    """Formerly a polars traceback in the metadata step of every build, whatever its sources."""
    registry = tmp_path / "outlets.yaml"
    registry.write_text("outlets:\n  - {name: Le Matin, timezone: Mars/Olympus}\n", encoding="utf-8")
    (tmp_path / "news.jsonl").write_bytes(jsonl(FRENCH))
    path = tmp_path / "config.yaml"
    path.write_text(
        "name: hostile\nversion: 0.1.0\nsources: [{name: news, kind: jsonl, path: news.jsonl}]\n"
        "metadata: {outlets: outlets.yaml}\nboilerplate: {patterns: null}\n",
        encoding="utf-8",
    )
    code, output = run_cli("build", str(path), "--out", str(tmp_path / "out"))
    assert code == 2
    assert "outlets.yaml: outlets[0].timezone: unknown time zone 'Mars/Olympus'" in output


def test_a_source_of_empty_files_builds_an_empty_release(tmp_path: Path) -> None:
    """Nothing read is not an error: every phase decides over no keys, the release is empty."""
    (tmp_path / "news.jsonl").write_bytes(b"")
    path = config(tmp_path, "  - {name: news, kind: jsonl, path: news.jsonl}\n")
    summary = build(path, tmp_path / "out")
    assert (summary.rows_read, summary.report.released, summary.report.removed) == (0, 0, 0)
    assert (summary.path / "signatures" / "minhash.parquet").is_file()
