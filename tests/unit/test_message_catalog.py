"""The message catalog: every key the code uses exists, with the placeholders it fills."""

from __future__ import annotations

import re
import string
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
    *(f"history.actor.{actor}" for actor in ("cli", "system", "kpm")),
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
