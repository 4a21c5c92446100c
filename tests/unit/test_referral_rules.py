"""The sistem sumber's rules without a database: a kind or a case category read from what a
person wrote, a kategori cell split, a phone shown, and every text the flows build a key
for exists in both catalogs."""

from __future__ import annotations

import pytest

from handlers.i18n import Translator
from handlers.referral_edit import FIELDS
from models.cases import CASE_CATEGORIES
from models.rules.referrals import (
    DEFAULT_SERVES,
    REFERRAL_KINDS,
    CategoryReader,
    default_categories,
    display_phone,
    read_kind,
    split_categories,
)

LABELS = {key: Translator("id")(f"case.category.{key}") for key in CASE_CATEGORIES}


@pytest.mark.parametrize(
    ("written", "kind"),
    [
        ("puskesmas", "puskesmas"),
        ("Puskesmas", "puskesmas"),
        ("PKM", "puskesmas"),
        ("Disdukcapil", "dukcapil"),
        ("bank_kks", "bank_kks"),
        ("Bank BRI", "bank_kks"),
        ("Bank Mandiri", "bank_kks"),  # "ma" (madrasah aliyah) is a word, not a prefix
        ("Agen BRILink", "agen_kks"),  # "bri" is a word, not a prefix
        ("e-Warong", "agen_kks"),
        ("SD", "sekolah"),
        ("Dinas Sosial", "dinsos"),
        ("UPTD PPA", "p2tp2a_uptd_ppa"),
        ("P2TP2A / UPTD PPA", "p2tp2a_uptd_ppa"),
        ("lain-lain", "lainnya"),
        ("pusk", "puskesmas"),
        ("apotek", None),
        ("", None),
    ],
)
def test_a_kind_is_read_from_its_key_or_a_word_for_it(written: str, kind: str | None) -> None:
    assert read_kind(written) == kind


def test_a_kategori_cell_is_split_on_commas_and_semicolons_but_not_inside_parentheses() -> None:
    assert split_categories("Adminduk (KTP, KK, akta); kdrt, pungli ;; ") == [
        "Adminduk (KTP, KK, akta)", "kdrt", "pungli"
    ]
    assert split_categories("") == []


@pytest.mark.parametrize(
    ("written", "key"),
    [
        ("kdrt", "kdrt"),
        ("KDRT", "kdrt"),
        ("kesehatan_rujukan", "kesehatan_rujukan"),
        ("Kesehatan/rujukan", "kesehatan_rujukan"),
        ("Adminduk (KTP, KK, akta)", "adminduk"),
        ("kesehatan", "kesehatan_rujukan"),  # a part only its name has
        ("ktp", "adminduk"),
        ("pungli", "pungli"),
        ("lansia", "disabilitas_lansia"),
        ("kesehtan", "kesehatan_rujukan"),  # one letter missing
        ("pendidkan", "pendidikan"),
        ("pem", None),  # pemutakhiran data and pemotongan bantuan
        ("kk", None),  # too short to mean one
        ("sekolah", None),  # a keyword, not a name: the chat reads it as a note instead
        ("zzz", None),
    ],
)
def test_a_category_is_read_from_its_key_its_name_a_part_or_a_typo(
    written: str, key: str | None
) -> None:
    assert CategoryReader(LABELS).read(written) == key


def test_a_cell_names_each_category_once_and_says_which_parts_it_could_not_read() -> None:
    reader = CategoryReader(LABELS)
    assert reader.read_cell("kdrt; KDRT, perlindungan anak, sekolah ramah") == (
        ["kdrt", "perlindungan_anak"], ["sekolah ramah"]
    )


def test_a_kind_s_usual_categories_are_only_those_configured() -> None:
    assert default_categories("p2tp2a_uptd_ppa", CASE_CATEGORIES) == [
        "perlindungan_anak", "kdrt"
    ]
    assert default_categories("p2tp2a_uptd_ppa", ["kdrt", "lainnya"]) == ["kdrt"]
    assert default_categories("lainnya", CASE_CATEGORIES) == []
    assert set(DEFAULT_SERVES) == set(REFERRAL_KINDS)
    assert {key for keys in DEFAULT_SERVES.values() for key in keys} <= set(CASE_CATEGORIES)


def test_a_stored_phone_is_shown_as_people_write_it() -> None:
    assert display_phone("+6281200000101") == "0812-0000-0101"
    assert display_phone("+62281641234") == "(0281) 641234"
    assert display_phone(None) == "-"


@pytest.mark.parametrize("locale", ["id", "en"])
def test_every_key_the_referral_flows_build_is_in_the_catalog(locale: str) -> None:
    t = Translator(locale)
    keys = [
        *(f"referral.kind.{kind}" for kind in REFERRAL_KINDS),
        *(f"referral.region.{level}" for level in ("kecamatan", "kabupaten")),
        *(f"referral_edit.change.{field}" for field in FIELDS),
        *(f"referral_edit.ask.{field}" for field in FIELDS),
        *(f"referral_edit.{field}_invalid" for field in ("address", "notes")),
        *(f"referral_cli.col.{c}" for c in ("wilayah", "nama", "jenis", "kategori",
                                           "telepon", "aktif")),
        "menu.referral",
    ]
    missing = [key for key in keys if key not in t.known_keys()]
    assert missing == []
