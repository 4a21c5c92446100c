"""Case categories in the settings file, and `pendamping case suggest` (no database)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import cli
from bot.config import ConfigError, Settings, load_settings
from models.cases import CASE_CATEGORIES

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_the_default_categories_keep_the_old_keys_and_add_the_new_ones() -> None:
    categories = Settings().programme.case_categories
    assert list(categories) == list(CASE_CATEGORIES)
    old = ["kks_bermasalah", "bansos_belum_cair", "pemutakhiran_data", "kesehatan_rujukan",
           "pendidikan", "perlindungan_anak", "lainnya"]
    new = ["adminduk", "kdrt", "pungli", "disabilitas_lansia", "usulan_keluar"]
    assert set(categories) == set(old + new)
    assert categories["kdrt"].always_urgent and categories["perlindungan_anak"].always_urgent
    assert categories["pungli"].escalate and not categories["pungli"].always_urgent
    assert all(c.label is None for c in categories.values())  # labels from the catalog


def test_categories_in_the_file_replace_the_defaults_in_their_order(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "[programme.case_categories.banjir]\n"
        'label = "Bencana banjir"\nkeywords = ["banjir", "rumah terendam"]\n'
        'severity = "mendesak"\nescalate = true\n'
        "[programme.case_categories.lainnya]\n",
    )
    programme = load_settings(path, environ={}).settings.programme
    rules = programme.case_rules()
    assert rules.keys == ("banjir", "lainnya")
    assert rules.suggest("rumah terendam banjir").category == "banjir"
    assert rules.labels() == {"banjir": "Bencana banjir"}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            '[programme.case_categories.kdrt]\nseverity = "sangat"\n',
            "programme.case_categories.kdrt.severity in {file}: expected 'biasa' or 'mendesak', "
            "got 'sangat'",
        ),
        (
            "[programme.case_categories.kdrt]\nalways_urgent = true\n",
            "programme.case_categories.kdrt.severity in {file}: expected 'mendesak' for a "
            "category with always_urgent = true",
        ),
        (
            '[programme.case_categories.kdrt]\nkeywords = ["pukul", "--"]\n',
            "programme.case_categories.kdrt.keywords in {file}: expected words or phrases",
        ),
        (
            "[programme.case_categories.kdrt]\ncolour = 1\n",
            "programme.case_categories.kdrt.colour in {file}: unknown key",
        ),
        (
            "[programme.case_categories.Bencana-Alam]\nlabel = 'Bencana'\n",
            "programme.case_categories in {file}: expected keys are lower-case words",
        ),
        (
            "[programme.case_categories.banjir]\nkeywords = ['banjir']\n",
            "programme.case_categories in {file}: expected a label for 'banjir' "
            "(programme.case_categories.banjir.label)",
        ),
        (
            '[programme]\ncase_risk_keywords = ["pukul", " "]\n',
            "programme.case_risk_keywords in {file}: expected words or phrases",
        ),
        (  # the keywords moved to the categories: the old table is refused, named
            "[pesan.case_keywords]\nkks_bermasalah = ['kks']\n",
            "pesan.case_keywords in {file}: unknown key",
        ),
    ],
)
def test_a_bad_category_names_its_key(tmp_path: Path, body: str, expected: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    assert expected.format(file=path) in str(caught.value)


def test_case_suggest_prints_one_json_object_per_note_read(tmp_path: Path) -> None:
    notes = "ibu dipukul suami\nkartu KKS hilang\n\nbantuan dipotong ketua kelompok Rp50 ribu\n"
    result = CliRunner().invoke(
        cli, ["--config", str(ROOT / "config.example.toml"), "case", "suggest"], input=notes
    )
    assert result.exit_code == 0, result.output
    assert [json.loads(line) for line in result.output.splitlines()] == [
        {"category": "kdrt", "severity": "mendesak"},
        {"category": "kks_bermasalah", "severity": "biasa"},
        {"category": "lainnya", "severity": "biasa"},  # an empty line keeps its place
        {"category": "pungli", "severity": "biasa"},
    ]


def test_case_suggest_uses_the_configuration_in_force(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "[programme]\ncase_risk_keywords = ['hanyut']\n"
        "[programme.case_categories.banjir]\nlabel = 'Banjir'\nkeywords = ['banjir']\n"
        "[programme.case_categories.lainnya]\n",
    )
    result = CliRunner().invoke(
        cli, ["--config", str(path), "case", "suggest"], input="rumah banjir, kasur hanyut\n"
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"category": "banjir", "severity": "mendesak"}


def test_case_suggest_with_a_bad_configuration_says_so_in_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[programme.case_categories.kdrt]\nseverity = "sangat"\n')
    result = CliRunner().invoke(cli, ["--config", str(path), "case", "suggest"], input="x\n")
    assert result.exit_code == 2
    assert "programme.case_categories.kdrt.severity" in result.output
