"""Erased values taken out of text and JSON: whole words only, any case, the longest form
first, keys and nested values included; the personal keys of an audit detail emptied."""

from __future__ import annotations

from models.scrub import Needles, blank_personal, phone_forms


def test_a_name_goes_where_it_stands_as_words_and_not_out_of_another_word() -> None:
    needles = Needles.of([("Ani", "KPM terhapus #4"), ("Siti Aminah", "KPM terhapus #1")])
    assert needles.text("Ani Suryani, pendamping Ibu SITI AMINAH dan ani") == (
        "KPM terhapus #4 Suryani, pendamping Ibu KPM terhapus #1 dan KPM terhapus #4"
    )


def test_numbers_in_every_written_form_and_texts_go_from_nested_json() -> None:
    phone = "+62812990010001"
    assert phone_forms(phone) == [phone, "62812990010001", "0812990010001"]
    needles = Needles.of(
        [*((form, "") for form in phone_forms(phone)), ("kartu KKS saya hilang", "")]
    )
    payload = {
        "text": "Pesan dari whatsapp:+62812990010001: kartu KKS saya hilang",
        "values": [{"phone": "0812990010001"}, 3, None, True],
        "62812990010001": "key",
    }
    assert needles.json(payload) == {
        "text": "Pesan dari whatsapp:: ",
        "values": [{"phone": ""}, 3, None, True],
        "": "key",
    }


def test_values_too_short_to_mean_one_person_are_not_looked_for() -> None:
    assert not Needles.of([("ya", ""), ("  ", ""), (None, "")])
    assert Needles.of([("Rina", "x"), ("rina", "y")]).pairs == (("Rina", "x"),)


def test_the_personal_values_of_an_audit_detail_are_emptied_and_the_rest_kept() -> None:
    detail = {"before": {"phone": "+62*********001"}, "after": {"phone": None},
              "unlinked": 1, "changed": {"12": ["hadir", "alpa"]}, "name": "Siti"}
    assert blank_personal(detail) == {
        "before": {"phone": ""}, "after": {"phone": None}, "unlinked": 1,
        "changed": {"12": ["hadir", "alpa"]}, "name": "",
    }
