"""`filename_fields`: fields some dumps carry only in their file names (the country of an article)."""

from __future__ import annotations

from pathlib import Path

import pytest

from corpus.config import load_config
from corpus.errors import ConfigError
from corpus.sources import read_sources

CONFIG = """
name: t
version: 0.1.0
sources:
  - name: papers
    kind: text
    path: papers
    filename_fields:
      regex: {regex}
      values: {{TM: TN}}
"""


def write(tmp_path: Path, regex: str, files: dict[str, str]) -> Path:
    (tmp_path / "papers").mkdir()
    for name, text in files.items():
        (tmp_path / "papers" / name).write_text(text, encoding="utf-8")
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.format(regex=regex), encoding="utf-8")
    return path


def test_country_and_outlet_from_the_file_name(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "'^(?P<country>MA|DZ|TM)_(?P<source>[a-z]+)'",
        {"DZ_elkhabar_1.txt": "عنوان\nنص", "TM_lapresse_2.txt": "Titre\nTexte", "notes.txt": "Titre\nTexte"},
    )
    rows = read_sources(load_config(path)).sort("source_file")
    assert rows["source_file"].to_list() == [
        "papers/DZ_elkhabar_1.txt",
        "papers/TM_lapresse_2.txt",
        "papers/notes.txt",
    ]
    assert rows["country"].to_list() == ["DZ", "TN", None]  # TM is the dump's code for Tunisia
    assert rows["source_raw"].to_list() == ["elkhabar", "lapresse", None]


@pytest.mark.parametrize(
    ("regex", "message"),
    [
        ("'^(?P<country>[A-Z]{2}'", "filename_fields.regex: invalid regex"),
        ("'^(?P<land>[A-Z]{2})'", "named groups must be fields or country, got ['land']"),
        ("'^[A-Z]{2}'", "named groups must be fields or country, got none"),
    ],
)
def test_bad_filename_regex_is_a_config_error(tmp_path: Path, regex: str, message: str) -> None:
    path = write(tmp_path, regex, {"DZ1.txt": "t\nx"})
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert message in str(caught.value)
