"""How a message names everyone on a shared phone, within a template's reader limit."""

from __future__ import annotations

from models.households import joined_names
from models.messaging.template_checks import READER_LIMIT

LONG = [
    "Ibu Siti Nurhaliza Binti Abdurrahman",
    "Ibu Sri Wahyuningsih Purwaningtyas",
    "Bapak Muhammad Fadhilah Ramadhan",
    "Ibu Dewi Kartika Sari Wulandari",
]


def test_names_that_fit_are_all_named() -> None:
    assert joined_names(["Ibu Rina"], READER_LIMIT) == "Ibu Rina"
    assert joined_names(["Ibu Rina", "Ibu Sri"], READER_LIMIT) == "Ibu Rina dan Ibu Sri"
    assert (
        joined_names(["Ibu Rina", "Ibu Sri", "Bapak Budi"], READER_LIMIT)
        == "Ibu Rina, Ibu Sri, dan Bapak Budi"
    )


def test_names_that_do_not_fit_name_as_many_as_fit_and_count_the_others() -> None:
    assert len(joined_names(LONG)) > READER_LIMIT  # everyone: too long for a template
    assert joined_names(LONG, READER_LIMIT) == (
        "Ibu Siti Nurhaliza Binti Abdurrahman, Ibu Sri Wahyuningsih Purwaningtyas, dan 2 lainnya"
    )
    assert joined_names(LONG, 60) == "Ibu Siti Nurhaliza Binti Abdurrahman, dan 3 lainnya"
    for limit in range(52, 120):  # never over the limit, never nobody named
        text = joined_names(LONG, limit)
        assert len(text) <= limit and text.startswith(LONG[0])


def test_a_name_too_long_is_counted_among_the_others_when_a_later_one_fits() -> None:
    long_one = "Ibu " + "Sitinurhalizah " * 6 + "Wahid"  # 99 characters
    assert joined_names([long_one, "Ibu Sri"], READER_LIMIT) == "Ibu Sri, dan 1 lainnya"


def test_when_no_name_fits_they_are_left_whole_for_the_check_to_refuse() -> None:
    assert joined_names(LONG, 20) == joined_names(LONG)
