"""Readers: JSONL, CSV, JSON and text files into reader columns, with lineage and decoding."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from corpus.config import SourceConfig, load_config
from corpus.engine.memory import run_steps
from corpus.errors import SourceError
from corpus.pipeline import plan
from corpus.schema import RAW
from corpus.sources import list_files, read_source
from corpus.sources.decode import decode
from corpus.step import Step
from tests.helpers import CONFIGS

ARABIC = (
    "الحكومة تعلن عن برنامج جديد لدعم الفلاحين في المناطق القروية\r\n"
    "\r\n"
    "وقال الوزير إن البرنامج سيشمل أكثر من عشرة آلاف مستفيد خلال السنة المقبلة.\r\n"
    "وأضاف أن الغلاف المالي المخصص للبرنامج يبلغ مليار درهم.\r\n"
)
FRENCH = (
    "État des lieux : l'économie marocaine résiste\r\n"
    "À Rabat, le ministre a présenté le budget de l'été.\r\n"
    "Les élèves, « bien sûr », ont été nombreux à s'inscrire ; c'est l'œuvre d'une année.\r\n"
)


def source(**fields: object) -> SourceConfig:
    return SourceConfig(**{"name": "src", **fields})


def pipeline_step(tmp_path: Path, name: str) -> Step:
    """One step of the pipeline a minimal config plans (the repository's patterns and outlets)."""
    config = tmp_path / "pipeline.yaml"
    config.write_text(
        "name: t\nversion: 0.1.0\nsources: [{name: s, kind: jsonl, path: x.jsonl}]\n"
        f"boilerplate: {{patterns: {CONFIGS / 'boilerplate.yaml'}}}\n"
        f"metadata: {{outlets: {CONFIGS / 'outlets.yaml'}}}\n",
        encoding="utf-8",
    )
    return next(step for step in plan(load_config(config)).steps if step.name == name)


def test_bad_jsonl_line_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "news.jsonl").write_text(
        '{"url": "https://x.ma/1", "text": "un"}\n\n{"url": "https://x.ma/2", "text": \n',
        encoding="utf-8",
    )
    with pytest.raises(SourceError) as caught:
        read_source(source(kind="jsonl", path="news.jsonl"), tmp_path)
    assert "news.jsonl:3" in str(caught.value)


def test_skip_keeps_bad_line_with_reader_error(tmp_path: Path) -> None:
    (tmp_path / "news.jsonl").write_text(
        '{"url": "https://x.ma/1", "text": "un"}\n{not json\n{"url": "https://x.ma/2", "text": "deux"}\n',
        encoding="utf-8",
    )
    rows = read_source(source(kind="jsonl", path="news.jsonl", on_bad_record="skip"), tmp_path)
    assert rows.columns == list(RAW)
    assert rows.height == 3
    assert rows["source_line"].to_list() == [1, 2, 3]
    assert rows["reader_error"].is_null().to_list() == [True, False, True]
    assert "not valid JSON" in rows["reader_error"][1]
    assert rows["text"].to_list() == ["un", "{not json", "deux"]
    # The pipeline's read step sends the bad record to the ledger with reason `bad_record`.
    result = run_steps(rows, [pipeline_step(tmp_path, "read")])
    assert result.removed["removed_reason"].to_list() == ["bad_record"]
    assert result.removed["source_line"].to_list() == [2]
    assert result.released["text"].to_list() == ["un", "deux"]


def test_skip_also_keeps_a_non_object_line(tmp_path: Path) -> None:
    (tmp_path / "news.jsonl").write_text('{"text": "un"}\n[1, 2]\n{"text": "deux"}\n', encoding="utf-8")
    rows = read_source(source(kind="jsonl", path="news.jsonl", on_bad_record="skip"), tmp_path)
    assert rows.height == 3
    assert rows["reader_error"].is_null().to_list() == [True, False, True]


def write_drifting_csvs(folder: Path) -> None:
    folder.mkdir()
    (folder / "scrape-2024-01-01.csv").write_text(
        "url,title,text,scraped_at\n"
        "https://a.ma/1,Titre 1,Premier texte,2024-01-01 10:00\n"
        "https://a.ma/2,Titre 2,Deuxième texte,2024-01-01 11:00\n",
        encoding="utf-8",
    )
    (folder / "scrape-2024-02-01.csv").write_text(
        "link,title,content\nhttps://a.ma/3,Titre 3,Troisième texte\n", encoding="utf-8"
    )
    (folder / "scrape-undated.csv").write_text(
        "link,title,content\nhttps://a.ma/4,Titre 4,Quatrième texte\n", encoding="utf-8"
    )


def test_csv_with_drifting_columns(tmp_path: Path) -> None:
    write_drifting_csvs(tmp_path / "scrapes")
    config = source(
        kind="csv",
        path="scrapes",
        columns={"url": ["url", "link"], "text": ["text", "content"], "scraped_at": "scraped_at"},
    )
    rows = read_source(config, tmp_path)
    assert rows["url_raw"].to_list() == [
        "https://a.ma/1",
        "https://a.ma/2",
        "https://a.ma/3",
        "https://a.ma/4",
    ]
    assert rows["text"].to_list() == ["Premier texte", "Deuxième texte", "Troisième texte", "Quatrième texte"]
    assert rows["title"].to_list() == ["Titre 1", "Titre 2", "Titre 3", "Titre 4"]
    # Present in the first file; absent from the others, where the file name's date (if any) stands in.
    assert rows["scraped_raw"].to_list() == ["2024-01-01 10:00", "2024-01-01 11:00", "2024-02-01", None]
    assert rows["published_raw"].null_count() == 4
    assert rows["layout"].unique().to_list() == ["record"]
    assert rows["source_file"].to_list() == [
        "scrapes/scrape-2024-01-01.csv",
        "scrapes/scrape-2024-01-01.csv",
        "scrapes/scrape-2024-02-01.csv",
        "scrapes/scrape-undated.csv",
    ]
    assert rows["source_line"].to_list() == [1, 2, 1, 1]


def test_mapped_column_absent_from_every_file(tmp_path: Path) -> None:
    write_drifting_csvs(tmp_path / "scrapes")
    config = source(
        kind="csv",
        path="scrapes",
        columns={"url": ["url", "link"], "text": ["text", "content"], "published": "date"},
    )
    with pytest.raises(SourceError) as caught:
        read_source(config, tmp_path)
    assert "columns.published" in str(caught.value)
    assert "'date'" in str(caught.value)


def test_missing_text_column_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("url,body\nhttps://a.ma/1,x\n", encoding="utf-8")
    with pytest.raises(SourceError) as caught:
        read_source(source(kind="csv", path="a.csv"), tmp_path)
    assert "columns.text" in str(caught.value)


def test_json_records_explode_children_and_keep_parent_fields(tmp_path: Path) -> None:
    posts = [
        {
            "post_link": "https://h.ma/p1",
            "title": "Post un",
            "post_date": "2024-03-01",
            "comments": [
                {"comment_link_id": "c1", "comment": "Premier commentaire"},
                {"comment_link_id": "c2", "comment": "Deuxième commentaire"},
            ],
        },
        {
            "post_link": "https://h.ma/p2",
            "title": "Post deux",
            "post_date": "2024-03-02",
            "comments": [{"comment_link_id": "c3", "comment": "Troisième", "likes": 4}],
        },
    ]
    (tmp_path / "posts.json").write_text(json.dumps(posts, ensure_ascii=False), encoding="utf-8")
    config = source(
        kind="json",
        path="posts.json",
        records="comments",
        columns={"url": "post_link", "key": "comment_link_id", "text": "comment", "published": "post_date"},
        constants={"source": "Hespress"},
    )
    rows = read_source(config, tmp_path)
    assert rows.select("url_raw", "key", "text", "title", "published_raw").rows() == [
        ("https://h.ma/p1", "c1", "Premier commentaire", "Post un", "2024-03-01"),
        ("https://h.ma/p1", "c2", "Deuxième commentaire", "Post un", "2024-03-01"),
        ("https://h.ma/p2", "c3", "Troisième", "Post deux", "2024-03-02"),
    ]
    assert rows["source_raw"].to_list() == ["Hespress"] * 3
    assert rows["source_line"].to_list() == [1, 2, 3]


def test_json_without_records_is_one_row_per_object(tmp_path: Path) -> None:
    items = [{"url": "https://x.ma/1", "text": "a", "n": 3}, {"url": "https://x.ma/2", "text": "b"}]
    (tmp_path / "items.json").write_text(json.dumps(items), encoding="utf-8")
    rows = read_source(source(kind="json", path="items.json"), tmp_path)
    assert rows["text"].to_list() == ["a", "b"]
    assert rows["url_raw"].to_list() == ["https://x.ma/1", "https://x.ma/2"]


def test_decode_cp1256_arabic_with_crlf() -> None:
    text, encoding = decode(ARABIC.encode("cp1256"), ["cp1256", "cp1252"], "ar.txt")
    assert encoding == "cp1256"
    assert "\r" not in text
    assert "\ufffd" not in text
    assert text == ARABIC.replace("\r\n", "\n")


def test_decode_cp1256_arabic_whatever_the_candidate_order() -> None:
    text, encoding = decode(ARABIC.encode("cp1256"), ["cp1252", "cp1256"], "ar.txt")
    assert encoding == "cp1256"
    assert text == ARABIC.replace("\r\n", "\n")


def test_decode_cp1252_french() -> None:
    text, encoding = decode(FRENCH.encode("cp1252"), ["cp1256", "cp1252"], "fr.txt")
    assert encoding == "cp1252"
    assert text == FRENCH.replace("\r\n", "\n")


def test_decode_cp1252_french_starting_with_a_grave() -> None:
    original = "À Rabat, le ministre a présenté le budget.\r\nIl a été adopté à l'unanimité.\r\n"
    text, encoding = decode(original.encode("cp1252"), ["cp1256", "cp1252"], "fr.txt")
    assert text == original.replace("\r\n", "\n")
    assert encoding == "cp1252"


def test_decode_utf8_first_and_strips_bom() -> None:
    text, encoding = decode("\ufeffl'été\r\nسلام\r".encode(), ["cp1256", "cp1252"], "u.txt")
    assert (text, encoding) == ("l'été\nسلام\n", "utf-8")


def test_decode_without_a_working_candidate_names_the_file() -> None:
    with pytest.raises(SourceError) as caught:
        decode(b"\xff\xfe\x81", ["ascii"], "bad.txt")
    assert "bad.txt" in str(caught.value)


def test_text_files_cp1256_title_body_and_lineage(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "ar"
    folder.mkdir(parents=True)
    (folder / "b.txt").write_bytes(ARABIC.encode("cp1256"))
    (folder / "a.txt").write_bytes(FRENCH.encode("cp1252"))
    config_root = tmp_path / "configs"
    config_root.mkdir()
    rows = read_source(source(kind="text", path="../data/ar"), config_root)
    assert rows["source_file"].to_list() == ["../data/ar/a.txt", "../data/ar/b.txt"]
    assert rows["source_line"].to_list() == [1, 1]
    assert rows["encoding"].to_list() == ["cp1252", "cp1256"]
    assert rows["layout"].to_list() == ["article", "article"]
    arabic = rows.row(1, named=True)
    assert arabic["title"] == "الحكومة تعلن عن برنامج جديد لدعم الفلاحين في المناطق القروية"
    assert arabic["text"].startswith("وقال الوزير")
    assert arabic["text"].endswith("مليار درهم.")
    for column in ("title", "text"):
        assert not rows[column].str.contains("\r").any()
        assert not rows[column].str.contains("\ufffd").any()


def test_text_file_on_one_line_has_no_title(tmp_path: Path) -> None:
    (tmp_path / "one.txt").write_bytes("مقال كامل في سطر واحد دون عنوان.\x00\r\n".encode("cp1256"))
    rows = read_source(source(kind="text", path="one.txt"), tmp_path)
    assert rows["title"].to_list() == [None]
    assert rows["text"].to_list() == ["مقال كامل في سطر واحد دون عنوان."]


def test_pages_are_kept_whole(tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text(
        "ticker\n\nTitre\nPublié dans X le 01 - 02 - 2024\n\nCorps\n", encoding="utf-8"
    )
    rows = read_source(source(kind="pages", path="p.txt", constants={"source": "Le Matin"}), tmp_path)
    assert rows["text"].to_list() == ["ticker\n\nTitre\nPublié dans X le 01 - 02 - 2024\n\nCorps\n"]
    assert rows["layout"].to_list() == ["page"]
    assert rows["source_raw"].to_list() == ["Le Matin"]
    assert rows["source_name"].to_list() == ["src"]


def test_jsonl_lineage_lines_and_relative_files(tmp_path: Path) -> None:
    folder = tmp_path / "raw" / "sub"
    folder.mkdir(parents=True)
    (folder / "scrape-2024-05-02.jsonl").write_text('{"text": "a"}\n\n{"text": "b"}\n', encoding="utf-8")
    (folder / "scrape-2024-05-01.jsonl").write_text('{"text": "c"}\n', encoding="utf-8")
    rows = read_source(source(kind="jsonl", path="raw/**/*.jsonl"), tmp_path)
    # Files in sorted order, blank lines counted in the line numbers.
    assert rows.select("text", "source_file", "source_line", "scraped_raw").rows() == [
        ("c", "raw/sub/scrape-2024-05-01.jsonl", 1, "2024-05-01"),
        ("a", "raw/sub/scrape-2024-05-02.jsonl", 1, "2024-05-02"),
        ("b", "raw/sub/scrape-2024-05-02.jsonl", 3, "2024-05-02"),
    ]
    assert not any(str(tmp_path) in f for f in rows["source_file"].to_list())


def test_missing_path_names_the_source(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as caught:
        list_files(source(kind="jsonl", path="absent.jsonl"), tmp_path)
    assert "sources['src'].path" in str(caught.value)
    with pytest.raises(SourceError) as caught:
        list_files(source(kind="jsonl", path="*.jsonl"), tmp_path)
    assert "matches no file" in str(caught.value)


def test_values_are_read_as_text(tmp_path: Path) -> None:
    (tmp_path / "n.jsonl").write_text(
        '{"text": "a", "key": 17, "published": null}\n{"text": "b", "key": "x"}\n', encoding="utf-8"
    )
    rows = read_source(source(kind="jsonl", path="n.jsonl", columns={"key": "key"}), tmp_path)
    assert rows.schema["key"] == pl.String
    assert rows["key"].to_list() == ["17", "x"]
