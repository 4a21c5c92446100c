"""The message catalog: every key the code uses exists, with the placeholders it fills."""

from __future__ import annotations

import re
import string
import unicodedata
from pathlib import Path

import pytest

from handlers.engine import MENU
from handlers.i18n import MissingMessage, Translator
from models.cases import CASE_CATEGORIES
from models.enums import ExitReason

HANDLERS = Path(__file__).resolve().parents[2] / "handlers"
LITERAL_KEY = re.compile(r"""\bt\(\s*"([a-z_]+\.[a-z_.]+)"((?:\s*,\s*\w+=)?)""")
CASE_KEYS = [f"case.category.{c}" for c in CASE_CATEGORIES]
DYNAMIC_KEYS = [
    *CASE_KEYS,
    *(f"case.status.{s}" for s in ("baru", "tindak_lanjut", "selesai")),
    *(f"case.severity.{s}" for s in ("biasa", "mendesak")),
    *(f"attendance.mark_{m}" for m in ("izin", "sakit", "alpa")),
    *(f"kpm.mark_short.{m}" for m in ("hadir", "izin", "sakit", "alpa", "none")),
    *(f"kpm.status.{s}" for s in ("aktif", "graduasi_alamiah", "graduasi_mandiri", "keluar")),
    *(f"menu.{f}" for f in MENU),
    *(
        f"export.{p}.{k}"
        for p in ("kind", "file")
        for k in ("attendance", "cases", "graduation", "komitmen")
    ),
    *(f"export.period.{p}" for p in ("this_month", "last_month", "last_3_months", "this_year")),
    *(f"expect.export.{step}" for step in ("pick_kind", "pick_period")),
    *(f"kpm.exit_reason.{reason}" for reason in ExitReason),
    *(f"kpm_change.{key}" for key in ("not_active", "same_kelompok", "future_date", "unknown_kpm")),
    *(f"phone_change.{key}" for key in ("invalid", "same", "erased")),
    *(f"phone_change.kpm_{key}" for key in ("invalid", "same", "taken", "erased")),
    *(f"history.actor.{actor}" for actor in ("cli", "system", "kpm")),
    *(f"graduation.programme_state.{s}" for s in ("punya", "butuh", "tidak_perlu", "none")),
    "expect.graduation.programmes",
]
SCHEDULER = Path(__file__).resolve().parents[2] / "scheduler"
PAYLOAD_KEY = re.compile(
    r"""["'](?:key)["']\s*:\s*["']([a-z_]+\.[a-z_.]+)["']|key=["']([a-z_]+\.[a-z_.]+)["']"""
)


REPORTING = Path(__file__).resolve().parents[2] / "reporting"


def used_keys() -> set[str]:
    keys = set()
    for source in (*HANDLERS.rglob("*.py"), *REPORTING.rglob("*.py")):
        keys.update(match.group(1) for match in LITERAL_KEY.finditer(source.read_text()))
    return keys


def test_the_code_uses_many_keys_and_every_one_is_in_the_indonesian_catalog() -> None:
    keys = used_keys()
    assert len(keys) > 80
    missing = sorted(keys - Translator("id").known_keys())
    assert missing == []


def _digest_column_keys() -> list[str]:
    from reporting.workbook import ABSENTEE_COLUMNS, KELOMPOK_COLUMNS, PENDAMPING_COLUMNS

    columns = {*KELOMPOK_COLUMNS, *PENDAMPING_COLUMNS, *ABSENTEE_COLUMNS}
    return [f"digest.col.{column}" for column in sorted(columns)]


@pytest.mark.parametrize("key", [*DYNAMIC_KEYS, *_digest_column_keys()])
def test_keys_built_at_run_time_exist(key: str) -> None:
    assert Translator("id")(key)


def test_every_text_is_short_enough_for_one_chat_message_and_well_formed() -> None:
    t = Translator("id")
    for key in t.known_keys():
        text = t._messages[key]
        assert text.strip() and not text.endswith("\n") and len(text) < 1000, key
        fields = [name for _, name, _, _ in string.Formatter().parse(text) if name]
        assert all(re.fullmatch(r"[a-z_]+", name) for name in fields), key


def test_an_unknown_key_is_an_error_not_a_silent_fallback() -> None:
    with pytest.raises(MissingMessage):
        Translator("id")("no.such.key")


def test_a_locale_without_a_catalog_is_refused_at_start() -> None:
    with pytest.raises(FileNotFoundError):
        Translator("xx")


def test_every_message_key_the_sweeps_enqueue_is_in_the_catalog() -> None:
    keys = {
        first or second
        for source in SCHEDULER.rglob("*.py")
        for first, second in PAYLOAD_KEY.findall(source.read_text())
    }
    assert {"reminder.kpm", "reminder.group", "nudge.today"} <= keys
    assert {"nudge.commitments", "alert.commitment_escalated"} <= keys
    assert sorted(keys - Translator("id").known_keys()) == []


def test_the_commitment_warnings_have_one_text_per_level_kind_with_the_same_figures() -> None:
    """Peringatan N (the pendamping's before and at the last level, the coordinator's) are
    numbered in the same template order: each text fills the figures its template declares,
    the same figures for all three (the coordinator's also names the pendamping)."""
    from models.messaging.templates import TEMPLATES

    t = Translator("id")
    figures = set(TEMPLATES["alert.commitment_warning"].names)
    for key, extra in (
        ("alert.commitment_warning", set()),
        ("alert.commitment_warning_last", set()),
        ("alert.commitment_escalated", {"pendamping"}),
    ):
        fields = {name for _, name, _, _ in string.Formatter().parse(t._messages[key]) if name}
        assert fields == set(TEMPLATES[key].names) == figures | extra, key


def test_no_message_tells_to_tap() -> None:
    """WhatsApp shows options as a numbered list, not buttons: every prompt says what to
    type ("ketik nomornya"), never "ketuk"."""
    catalog = (HANDLERS / "locale" / "id" / "LC_MESSAGES" / "messages.po").read_text()
    tapping = [line for line in catalog.splitlines() if "ketuk" in line.casefold()]
    assert tapping == []


# --------------------------------------------------------------------------------------------
# English, the second locale: it proves the catalog is complete (issue 26).

SLASH_COMMAND = re.compile(r"(?<![\w/])/[a-z_]+")


def _texts(locale: str) -> dict[str, str]:
    return Translator(locale)._messages


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_the_english_and_the_indonesian_catalog_have_exactly_the_same_keys() -> None:
    indonesian, english = set(_texts("id")), set(_texts("en"))
    missing_in_en, missing_in_id = sorted(indonesian - english), sorted(english - indonesian)
    assert not (missing_in_en or missing_in_id), (
        f"missing in en/LC_MESSAGES/messages.po: {missing_in_en}; "
        f"missing in id/LC_MESSAGES/messages.po: {missing_in_id}"
    )


def test_every_english_text_fills_the_same_placeholders_as_the_indonesian() -> None:
    indonesian, english = _texts("id"), _texts("en")
    differ = {
        key: {"id": sorted(_fields(text)), "en": sorted(_fields(english[key]))}
        for key, text in indonesian.items()
        if key in english and _fields(text) != _fields(english[key])
    }
    assert differ == {}


def test_no_english_text_is_empty_and_each_is_well_formed() -> None:
    english = _texts("en")
    empty = sorted(key for key, text in english.items() if not text.strip())
    assert empty == []
    for key, text in english.items():
        assert not text.endswith("\n") and len(text) < 1000, key


def test_the_english_texts_keep_the_commands_emoji_and_line_breaks() -> None:
    """/hadir stays /hadir (a command, not a word to translate), 📊 and ⚠️ stay, and a
    text of three lines is three lines in both."""

    def kept(text: str) -> tuple[set[str], set[str], int]:
        symbols = {char for char in text if unicodedata.category(char) == "So"}
        return set(SLASH_COMMAND.findall(text)), symbols, text.count("\n")

    indonesian, english = _texts("id"), _texts("en")
    differ = sorted(
        key
        for key, text in indonesian.items()
        if key in english and kept(text) != kept(english[key])
    )
    assert differ == []


def test_the_english_translator_speaks_english() -> None:
    t = Translator("en")
    assert t("menu.attendance") == "Record attendance"
    assert t("cancel.done") == "Cancelled. Nothing was saved."
    assert t("attendance.saved", name="Melati", hadir=18, total=20) == (
        "Saved. Melati: 18 of 20 present. Thank you!"
    )
    fields = _fields(t._messages["reminder.kpm"])
    reminder = t("reminder.kpm", **{name: f"<{name}>" for name in fields})
    assert "the <kelompok> meeting" in reminder
    assert "Reply 1" in reminder  # the KPM answers with the number the parser reads


def test_indonesian_stays_the_default_and_the_fallback() -> None:
    """A key an English catalog lacks (or leaves empty) is said in Indonesian; a locale
    without any catalog is refused at start, as ``test_a_locale_without_a_catalog...``."""
    indonesian = Translator("id")
    assert Translator()("menu.title") == indonesian("menu.title")
    english = Translator("en")
    english._messages = dict(english._messages)  # a copy: the loaded catalog stays as it is
    del english._messages["menu.title"]
    english._messages["cancel.done"] = ""
    assert english("menu.title") == indonesian("menu.title")
    assert english("cancel.done") == indonesian("cancel.done")
    assert english("cancel.nothing") != indonesian("cancel.nothing")
    with pytest.raises(FileNotFoundError):
        Translator("xx")


def test_the_english_whatsapp_templates_keep_the_variables_in_their_declared_order() -> None:
    """A template's body is its catalog text with numbered variables in the declared order:
    an English deployment's template pack builds as the Indonesian one does."""
    from bot.whatsapp_templates import template_pack

    assert len(template_pack(Translator("en"), "https://pendamping.example")) == len(
        template_pack(Translator("id"), "https://pendamping.example")
    )


# --------------------------------------------------------------------------------------------
# The command line and roster import reasons (issue 26): said from the catalog, `cli.*` and
# `roster.*`, in the configured locale. Every key the code names exists in both catalogs and
# is given exactly the placeholders its texts fill.

ROOT = Path(__file__).resolve().parents[2]
SAYERS = {"t", "translate"}  # how bot/ names a Translator it calls


def _calls(paths: list[Path], names: set[str]) -> list[tuple[str, str, set[str] | None]]:
    """(where, key, keyword names or None when some come from a **mapping) of each call of
    one of ``names`` whose first argument is a literal key or an f-string of one."""
    import ast

    found = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            called = func.id if isinstance(func, ast.Name) else None
            if isinstance(func, ast.Call) and isinstance(func.func, ast.Name):
                called = "t" if func.func.id in ("translator", "Translator") else None
            if called not in names:
                continue
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                key = first.value
            elif isinstance(first, ast.JoinedStr):
                key = "".join(
                    part.value if isinstance(part, ast.Constant) else "*"
                    for part in first.values
                )
            else:
                continue
            keywords = {k.arg for k in node.keywords}
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            found.append((where, key, None if None in keywords else keywords))  # type: ignore[misc]
    return found


def _matching(key: str, known: set[str]) -> list[str]:
    if "*" not in key:
        return [key] if key in known else []
    pattern = re.compile("^" + ".*".join(map(re.escape, key.split("*"))) + "$")
    return sorted(k for k in known if pattern.match(k))


def _check(calls: list[tuple[str, str, set[str] | None]]) -> list[str]:
    wrong = []
    for locale in ("id", "en"):
        texts = _texts(locale)
        for where, key, keywords in calls:
            keys = _matching(key, set(texts))
            if not keys:
                wrong.append(f"{where}: {key} missing in {locale}")
            for one in keys if "*" not in key else ():  # a key built at run time: it exists
                if keywords is not None and _fields(texts[one]) != keywords:
                    wrong.append(f"{where}: {one} ({locale}) fills {sorted(_fields(texts[one]))},"
                                 f" the code gives {sorted(keywords)}")
    return wrong


def test_every_text_the_command_line_says_is_in_both_catalogs_with_its_placeholders() -> None:
    calls = _calls(sorted((ROOT / "bot").glob("*.py")), SAYERS)
    cli_calls = [call for call in calls if call[1].startswith(("cli.", "roster."))]
    assert len(cli_calls) > 150
    assert _check(cli_calls) == []


def test_every_roster_reason_is_in_both_catalogs_with_the_values_it_carries() -> None:
    from models.rules.phone import PHONE_ERROR_CODES

    calls = _calls(sorted((ROOT / "models" / "roster").glob("*.py")), {"reason"})
    keys = {key for _, key, _ in calls}
    assert {"roster.nik_length", "roster.missing", "roster.file_missing_columns"} <= keys
    assert _check(calls) == []
    phone = [f"roster.phone_{code}" for code in PHONE_ERROR_CODES]  # the number never shown
    for locale in ("id", "en"):
        assert {key: _fields(_texts(locale).get(key, "")) for key in phone} == {
            key: {"column"} for key in phone
        }


def test_the_change_errors_the_command_line_says_are_in_both_catalogs() -> None:
    """A staff or KPM change refused (a model's error with a key and values) is said as
    ``cli.staff_error.<key>`` / ``cli.kpm_error.<key>`` with the values the error carries."""
    for module, error, prefix in (
        ("staff_changes", "StaffChangeError", "cli.staff_error."),
        ("kpm_changes", "KpmChangeError", "cli.kpm_error."),
    ):
        calls = _calls([ROOT / "models" / f"{module}.py"], {error})
        assert len(calls) >= 4, module
        assert _check([(where, prefix + key, kw) for where, key, kw in calls]) == []
