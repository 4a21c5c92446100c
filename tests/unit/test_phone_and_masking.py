"""Phone numbers as people write them, and how personal numbers are shown."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.rules.phone import PhoneError, is_mobile, normalize_phone
from models.rules.text import mask_nik, mask_phone, name_key


@pytest.mark.parametrize(
    "written",
    [
        "0812-3456-7890",
        "+62 812 3456 7890",
        "6281234567890",
        "0812.3456.7890",
        "(0812) 3456 7890",
        "0062 812 3456 7890",
        " 081234567890 ",
        "+62-812-3456-7890",
    ],
)
def test_every_common_way_of_writing_a_mobile_number_gives_one_e164(written: str) -> None:
    assert normalize_phone(written) == "+6281234567890"


def test_a_jakarta_landline_is_normalised_and_known_not_to_be_mobile() -> None:
    assert normalize_phone("(021) 555-1234") == "+62215551234"
    assert not is_mobile("+62215551234")
    assert is_mobile("+6281234567890")


def test_a_foreign_number_keeps_its_country() -> None:
    assert normalize_phone("+1 415 555 2671") == "+14155552671"


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        ("", "empty"),
        ("abc", "not a phone number"),
        ("0812", "impossible"),
        ("0812345678901234", "invalid"),
        ("+999 1234", "country code"),
    ],
)
def test_impossible_numbers_are_rejected_with_a_reason(written: str, reason: str) -> None:
    with pytest.raises(PhoneError, match=reason):
        normalize_phone(written)


@given(st.from_regex(r"08[1-35-9][0-9]{7,10}", fullmatch=True))
def test_the_fast_path_agrees_with_the_full_parser(number: str) -> None:
    import phonenumbers

    parsed = phonenumbers.parse(number, "ID")
    expected = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if phonenumbers.is_valid_number(parsed):
        assert normalize_phone(number) == expected
    else:
        with pytest.raises(PhoneError):
            normalize_phone(number)


def test_a_nik_is_shown_by_its_last_four_digits_only() -> None:
    assert mask_nik("3301234567890123") == "************0123"
    assert mask_nik(None) == "-"


def test_a_phone_is_shown_masked() -> None:
    masked = mask_phone("+6281234567890")
    assert masked.startswith("+62") and masked.endswith("890")
    assert "1234567" not in masked


def test_name_keys_ignore_case_accents_and_spacing() -> None:
    assert name_key("  Siti   NURHALIZA ") == name_key("siti nurhaliza")
    assert name_key("Désa") == "desa"
