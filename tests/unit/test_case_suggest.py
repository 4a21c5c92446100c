"""The case category and risk flag suggested from a free-text note: informal spellings,
affixes, typos, phrases, ties, and the labelled set of notes written for the project."""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

import pytest

from models.rules.case_categories import (
    DEFAULT_CASE_CATEGORIES,
    CaseCategory,
    CaseRules,
    category_label,
)
from models.rules.case_suggest import Matcher, forms, normalise

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
RULES = CaseRules()


def labelled(name: str = "case_notes.csv") -> list[dict[str, str]]:
    with (FIXTURES / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_labelled_set_is_large_covers_every_category_and_holds_no_personal_numbers() -> None:
    rows = labelled()
    assert len(rows) >= 150
    counts = Counter(row["category"] for row in rows)
    assert set(counts) == {c.key for c in DEFAULT_CASE_CATEGORIES}
    assert min(counts.values()) >= 10
    assert {row["severity"] for row in rows} == {"biasa", "mendesak"}
    for row in rows:  # no NIK (16 digits), no phone number (10 digits or more)
        assert not re.search(r"\d{10,}|\+62|\b08\d", row["note"].replace(" ", "")), row


def test_the_suggestion_is_right_for_at_least_85_percent_of_the_labelled_notes() -> None:
    rows = labelled()
    wrong = [
        (row["note"], row["category"], RULES.suggest(row["note"]).category)
        for row in rows
        if RULES.suggest(row["note"]).category != row["category"]
    ]
    assert 1 - len(wrong) / len(rows) >= 0.85, wrong


def test_every_violence_and_child_protection_note_is_proposed_as_mendesak() -> None:
    rows = [r for r in labelled() if r["category"] in ("kdrt", "perlindungan_anak")]
    assert len(rows) >= 20
    missed = [r["note"] for r in rows if RULES.suggest(r["note"]).severity != "mendesak"]
    assert missed == []


@pytest.mark.parametrize(
    ("note", "category", "severity"),
    [
        ("anaknya tidak sekolah sudah 2 bulan", "pendidikan", "biasa"),
        ("ibu dipukul suami", "kdrt", "mendesak"),
        ("kartu KKS hilang", "kks_bermasalah", "biasa"),
        ("bantuan dipotong ketua kelompok Rp50 ribu", "pungli", "biasa"),
        ("anak gk mau skolah lg", "pendidikan", "biasa"),  # informal spellings
        ("kks ktelen di atm", "kks_bermasalah", "biasa"),
        ("balita dibawa ke puskesams", "kesehatan_rujukan", "biasa"),  # a typo
        ("suaminya memukul istrinya", "kdrt", "mendesak"),  # affixes
        ("Balita gizi buruk, harus segera dirujuk", "kesehatan_rujukan", "mendesak"),  # risk
        ("halo bu, apa kabar", "lainnya", "biasa"),  # nothing: the fallback
    ],
)
def test_a_note_suggests_its_category_and_severity(note, category, severity) -> None:
    found = RULES.suggest(note)
    assert (found.category, found.severity) == (category, severity)
    assert (found.score > 0) is (category != "lainnya")


def test_informal_spellings_are_written_out() -> None:
    assert normalise("Gk sdh blm skolah yg dgn krn anak2, sakiiit!") == [
        "tidak", "sudah", "belum", "sekolah", "yang", "dengan", "karena", "anak", "anak",
        "sakit",
    ]
    assert normalise("Rp50rb tdk cair") == ["rp", "50", "ribu", "tidak", "cair"]


def test_a_root_matches_its_affixed_forms_and_an_affixed_keyword_only_its_own() -> None:
    for word in ("dipukul", "dipukuli", "memukul", "pukulan", "dipukulnya"):
        assert "pukul" in forms(word), word
    assert "potong" in forms("pemotongan")
    matcher = Matcher([("anak", ["dinikahkan"]), ("x", ["pukul"])], (), fallback="none")
    assert matcher.match("anak dinikahkan bulan depan").category == "anak"
    assert matcher.match("anak sudah menikah").category == "none"  # not "dinikahkan"
    assert matcher.match("memukul").category == "x"


def test_a_short_word_is_never_taken_for_a_keyword_by_likeness() -> None:
    matcher = Matcher([("kks", ["kks", "pin"]), ("kasar", ["kasar"])], (), fallback="none")
    assert matcher.match("kksx pinjam").category == "none"
    assert matcher.match("ke pasar").category == "none"  # "pasar" is not "kasar"


def test_a_phrase_matches_its_words_near_each_other_in_any_order() -> None:
    matcher = Matcher([("kdrt", ["suami pukul"])], (), fallback="none")
    assert matcher.match("dipukul suami").score == 2
    assert matcher.match("suaminya suka memukul").score == 2
    assert matcher.match("suami pergi ke kota lalu pulang dan anak dipukul").score == 0


def test_a_note_word_counts_once_and_ties_go_to_the_more_serious_category() -> None:
    matcher = Matcher(
        [("biasa", ["cair", "pencairan"]), ("pungli", ["potong"]), ("urgent", ["ancam"])],
        (),
        fallback="none",
        urgent=["urgent"],
        escalated=["pungli"],
    )
    assert matcher.match("pencairan").score == 1  # "cair" and "pencairan": one word
    assert matcher.match("pencairan dipotong").category == "pungli"
    assert matcher.match("dipotong dan diancam").category == "urgent"


def test_configured_categories_replace_the_defaults() -> None:
    rules = CaseRules.of(
        [
            CaseCategory("banjir", ("banjir", "rumah terendam"), label="Bencana banjir"),
            CaseCategory("lainnya"),
        ],
        ("hanyut",),
    )
    found = rules.suggest("rumah KPM terendam banjir, barang hanyut")
    assert (found.category, found.severity, found.risk) == ("banjir", "mendesak", True)
    assert rules.suggest("kartu KKS hilang").category == "lainnya"
    assert rules.keys == ("banjir", "lainnya")

    def t(key: str) -> str:
        if key == "case.category.lainnya":
            return "Lainnya"
        raise KeyError(key)

    assert rules.label(t, "banjir") == "Bencana banjir"
    assert rules.label(t, "lainnya") == "Lainnya"
    assert category_label(t, "bencana_alam") == "bencana_alam"  # stored, no longer configured


def test_always_urgent_and_usually_urgent_categories_propose_mendesak() -> None:
    rules = CaseRules.of(
        [CaseCategory("a", ("aaaa",), "mendesak"), CaseCategory("b", ("bbbb",))], ()
    )
    assert rules.suggest("aaaa").severity == "mendesak"
    assert rules.suggest("bbbb").severity == "biasa"
    assert RULES.always_urgent == {"perlindungan_anak", "kdrt"}
    assert [c.key for c in DEFAULT_CASE_CATEGORIES if c.escalate] == ["pungli"]
