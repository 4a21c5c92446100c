"""WhatsApp templates: every declared template matches its catalog text, follows
WhatsApp's rules, and says the same thing as the message sent inside the 24-hour window;
variables are checked by kind before anything is enqueued."""

from __future__ import annotations

import pytest

from bot.channels.text import payload_text
from bot.whatsapp_templates import (
    PackProblem,
    check_body,
    numbered_body,
    pack_document,
    placeholders,
    template_pack,
)
from handlers.i18n import Translator
from models.messaging.template_checks import TemplateCheck, template_variables, variable_text
from models.messaging.templates import (
    TEMPLATES,
    Template,
    TemplateProblem,
    Variable,
    VariableKind,
    template_of,
)

t = Translator()
PACK = {entry.template.key: entry for entry in template_pack(t, "https://pkh.example.org")}
V = VariableKind


def examples(template: Template) -> dict[str, str]:
    return {variable.name: variable.example for variable in template.variables}


@pytest.mark.parametrize("key", sorted(TEMPLATES))
def test_a_template_says_what_the_message_inside_the_window_says(key: str) -> None:
    """The catalog text with the values, as the channel sends it inside the window, and
    the template's body with the variables made from the same values are the same text."""
    template, entry = TEMPLATES[key], PACK[key]
    values = {v.name: v.example for v in template.variables if v.kind is not V.FILE}
    inside = payload_text({"key": key, "values": values}, t)
    variables = template_variables(template, values, skip_files=True)
    assert entry.filled(variables) == inside
    assert entry.template.name == key.replace(".", "_")


@pytest.mark.parametrize("key", sorted(TEMPLATES))
def test_each_template_declares_the_catalog_texts_placeholders_in_order(key: str) -> None:
    template = TEMPLATES[key]
    text_names = placeholders(t(key))
    assert text_names == [v.name for v in template.variables if v.kind is not V.FILE]
    for variable in template.variables:  # every example passes its own kind's check
        assert variable_text(template, variable, variable.example) == variable.example


def test_media_templates_put_the_file_last_in_the_url_and_reminders_have_buttons() -> None:
    chart = PACK["digest.chart_caption"].request()
    assert chart["types"]["twilio/media"] == {
        "body": t("digest.chart_caption"),
        "media": ["https://pkh.example.org/{{1}}"],
    }
    assert chart["variables"] == {"1": TEMPLATES["digest.chart_caption"].variables[0].example}
    reminder = PACK["reminder.kpm"].request()
    assert reminder["friendly_name"] == "reminder_kpm" and reminder["language"] == "id"
    assert reminder["types"]["twilio/quick-reply"]["actions"] == [
        {"title": "Hadir", "id": "1"},
        {"title": "Tidak bisa", "id": "2"},
    ]
    document = pack_document(PACK.values())
    assert [entry["name"] for entry in document["templates"]] == [
        template.name for template in TEMPLATES.values()
    ]
    assert all(entry["category"] == "UTILITY" for entry in document["templates"])


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("{{1}} tidak hadir.", "starts or ends"),
        ("Pertemuan di {{1}}", "starts or ends"),
        ("Pertemuan {{1}}{{2}} besok.", "side by side"),
        ("   ", "empty"),
        ("Pesan: {{1}}, " + "x" * 1020 + ".", "over 1024"),
    ],
)
def test_bodies_whatsapp_would_refuse_are_found(body: str, problem: str) -> None:
    template = Template("x.y", (Variable("a", V.LABEL, "a", "A"), Variable("b", V.LABEL, "b", "B")))
    with pytest.raises(PackProblem, match=problem):
        check_body(template, body)


def test_a_catalog_text_that_differs_from_its_declaration_is_found() -> None:
    template = Template("reminder.cancelled", (Variable("kelompok", V.LABEL, "k", "Melati"),))
    with pytest.raises(PackProblem, match=r"\['penerima', 'kelompok', 'date', 'pendamping'\]"):
        numbered_body(template, t("reminder.cancelled"))


KPM_TEMPLATE = TEMPLATES["nudge.follow_up"]


@pytest.mark.parametrize(
    ("kind", "value", "problem"),
    [
        (V.LABEL, "", "is empty"),
        (V.LABEL, "kks_bermasalah", "is a code"),
        (V.NAME, "Siti\nAminah", "new line"),
        (V.LABEL, "x" * 201, "over 200"),
        (V.DATE, "2026-12-08", "not a date"),
        (V.TIME, "9 pagi", "not a time"),
        (V.NUMBER, "tiga", "not a number"),
        (V.PERCENT, "83", "not a percent"),
    ],
)
def test_a_value_that_cannot_go_out_names_the_template_and_variable(kind, value, problem) -> None:
    template = Template("nudge.test", (Variable("thing", kind, "a thing", "x"),))
    with pytest.raises(TemplateProblem, match=problem) as raised:
        variable_text(template, template.variables[0], value)
    assert "template nudge_test: {{1}} (thing)" in str(raised.value)
    assert value not in str(raised.value) or not value  # never the value itself


def test_free_text_is_put_on_one_line_and_shortened_and_a_missing_value_is_a_dash() -> None:
    template = TEMPLATES["pesan.new"]
    text = template.variables[2]
    assert variable_text(template, text, "Bu,\n\nkartu   saya\thilang") == "Bu, kartu saya hilang"
    long = variable_text(template, text, "kata " * 200)
    assert len(long) == 500 and long.endswith("…")
    assert variable_text(template, template.variables[1], None) == "-"
    assert variable_text(template, template.variables[0], "Rina Wati") == "Rina Wati"


def test_the_enqueue_check_fills_variables_once_per_payload_and_names_what_is_missing() -> None:
    check = TemplateCheck()
    shared = {"key": "reminder.kpm", "values": examples(TEMPLATES["reminder.kpm"])}
    whatsapp, reason = check(shared)
    assert reason is None and check(shared) == (whatsapp, None)  # the same copy, once made
    assert whatsapp["template_variables"] == {
        "1": "Ibu Murni", "2": "Melati 2", "3": "Selasa, 8 Desember 2026", "4": "13.00 WIB",
        "5": "Balai Desa Sukamaju", "6": "Rina Wati",
    }
    assert "template_variables" not in shared  # the other channels' rows keep theirs bare
    free = {"text": "halo"}  # no template: inside the window only, as it always was
    assert check(free) == (free, None)
    late = {"key": "alert.absence_streak", "values": {"kpm": "Siti", "kelompok": "Melati"}}
    assert check(late) == (late, "template alert_absence_streak: no value for streak")
    assert template_of({"key": "digest.summary", "text": "…"}) is TEMPLATES["digest.summary"]


def test_a_digest_of_a_month_without_attendance_yet_still_goes_as_its_template() -> None:
    template = TEMPLATES["digest.summary"]
    values = {**examples(template), "rate": t("digest.rate_none"), "held": 0, "planned": 0}
    variables = template_variables(template, values)
    assert variables["5"] == "belum ada data" and variables["3"] == variables["4"] == "0"
    assert PACK["digest.summary"].filled(variables) == t("digest.summary", **values)


def test_one_enqueue_checks_each_shared_value_once_and_keeps_its_verdict() -> None:
    """A sweep's reminders share every value but the reader's name: each value is checked
    once per enqueue, and a refused one is refused again for every payload that has it."""
    check = TemplateCheck()
    base = examples(TEMPLATES["reminder.kpm"])
    first, _ = check({"key": "reminder.kpm", "values": {**base, "penerima": "Ibu Sri"}})
    second, _ = check({"key": "reminder.kpm", "values": {**base, "penerima": "Bapak Budi"}})
    assert first["template_variables"]["1"] == "Ibu Sri"
    assert second["template_variables"]["1"] == "Bapak Budi"
    assert {k: v for k, v in first["template_variables"].items() if k != "1"} == {
        k: v for k, v in second["template_variables"].items() if k != "1"
    }
    # the meeting's values were checked once for both readers; each reader's name once
    assert [key[0] for key in check.rests] == ["reminder.kpm"]
    assert ("reminder.kpm", "penerima", "Bapak Budi") in check.texts
    bad = {**base, "place": "tempat_rahasia"}
    for reader in ("Ibu Sri", "Ibu Ani"):
        payload = {"key": "reminder.kpm", "values": {**bad, "penerima": reader}}
        assert check(payload)[1] == "template reminder_kpm: {{5}} (place) is a code, not label text"


READERS = [
    "Ibu Sri", " Bapak Budi ", 'Ibu "Nining" O\'Neil', "Ibu Ani\\Wati", "Ibu Ñoña Ülfa 🌺",
    "Ibu " + "Sangat Panjang " * 8, "Ibu Sri\nWati", "kks_bermasalah", "", "Ibu Sri",
]


@pytest.mark.parametrize("key", ["reminder.kpm", "reminder.kpm_shared", "reminder.group"])
@pytest.mark.parametrize("whatsapp", [True, False])
def test_a_payload_shared_by_readers_is_stored_as_each_reader_s_own_would_be(
    key: str, whatsapp: bool
) -> None:
    """A sweep gives a meeting's members one payload and each their reader: what is
    stored, and any reason it cannot go out, are exactly those of the payload naming the
    reader checked on its own (a long name, a new line, a code: refused as before)."""
    from models.db import json_text
    from models.messaging.template_checks import addressed

    base = {"key": key, "values": {k: v for k, v in examples(TEMPLATES[key]).items()
                                   if k != "penerima"}, "meeting_id": 7, "rsvp": True}
    fast, slow = TemplateCheck(), TemplateCheck()
    for reader in READERS:
        own = addressed(base, reader)
        expected = slow(own) if whatsapp else (own, None)
        text, reason = fast.addressed(base, reader, checked=whatsapp)
        assert (text, reason) == (json_text(expected[0]), expected[1]), reader
    refused = [fast.addressed(base, reader, checked=whatsapp)[1] is not None
               for reader in READERS]
    named = key != "reminder.group"  # a group chat's template does not name its reader
    assert refused == ([False] * 5 + [True] * 4 + [False] if whatsapp and named
                       else [False] * 10)


def test_a_refused_shared_value_refuses_every_reader_s_message() -> None:
    from models.db import json_text
    from models.messaging.template_checks import addressed

    values = {**examples(TEMPLATES["reminder.kpm"]), "place": "tempat_rahasia"}
    base = {"key": "reminder.kpm", "values": values}
    check = TemplateCheck()
    for reader in ("Ibu Sri", "Ibu Ani"):
        text, reason = check.addressed(base, reader, checked=True)
        assert reason == "template reminder_kpm: {{5}} (place) is a code, not label text"
        assert text == json_text(addressed(base, reader))  # stored without variables
