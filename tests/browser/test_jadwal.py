"""Jadwal as a pendamping and a coordinator use it: the month's meetings of their
kelompok (the demo's), month navigation and the kelompok filter, a held meeting with its
marks, and another pendamping's meeting answering 404."""

from __future__ import annotations

import re
import sqlite3

from playwright.sync_api import Page, expect

from tests.browser.conftest import Site, screenshot, serious_violations, sign_in


def _rows(site: Site, query: str, *values: object) -> list[tuple[object, ...]]:
    database = site.env["PENDAMPING_DATABASE_URL"].removeprefix("sqlite+aiosqlite:///")
    with sqlite3.connect(database) as db:
        return list(db.execute(query, values))


MEETINGS_OF = (
    "SELECT m.id, m.status, k.name FROM meeting m JOIN kelompok k ON k.id = m.kelompok_id "
    "JOIN staff s ON s.id = k.pendamping_id WHERE s.name = ? AND substr(m.meeting_date, 1, 7) = ?"
)


def test_a_pendamping_sees_the_months_meetings_and_a_meeting_with_its_marks(
    site: Site, phone: Page
) -> None:
    sign_in(phone, site.link_from_cli("Ani Suryani"))
    phone.goto(f"{site.base_url}/jadwal")
    shown = phone.locator("ol.calendar a.meeting")
    heading = phone.get_by_role("heading", level=1).inner_text()
    assert heading.startswith("Jadwal pertemuan")
    current = phone.locator("#f-bulan").input_value()
    expected = _rows(site, MEETINGS_OF, "Ani Suryani", current)
    assert expected, "the demo has meetings this month"
    expect(shown).to_have_count(len(expected))
    for _, _, kelompok in expected:
        expect(phone.locator("ol.calendar")).to_contain_text(str(kelompok))
    screenshot(phone, "jadwal")
    assert serious_violations(phone) == []

    # the previous month holds the held meetings; open one and read its marks
    phone.get_by_role("link", name=re.compile("Bulan sebelumnya")).click()
    expect(phone).to_have_url(re.compile(r"bulan=\d{4}-\d{2}"))
    held = phone.locator("ol.calendar a.meeting.held").first
    meeting_id = int(held.get_attribute("href").rsplit("/", 1)[1])
    held.click()
    marks = _rows(site, "SELECT mark FROM attendance WHERE meeting_id = ?", meeting_id)
    assert marks
    expect(phone.locator("#kehadiran ~ div table tbody tr")).to_have_count(len(marks))
    hadir = sum(1 for (mark,) in marks if mark == "hadir")
    expect(phone.locator("#ringkas-kehadiran")).to_contain_text(f"Hadir {hadir}")
    screenshot(phone, "jadwal_pertemuan")
    assert serious_violations(phone) == []


def test_the_kelompok_filter_and_another_pendamping_s_meeting(site: Site, phone: Page) -> None:
    sign_in(phone, site.link_from_cli("Ani Suryani"))
    (kelompok_id, name), *_ = _rows(
        site, "SELECT k.id, k.name FROM kelompok k JOIN staff s ON s.id = k.pendamping_id "
        "WHERE s.name = 'Ani Suryani' ORDER BY k.id"
    )
    phone.goto(f"{site.base_url}/jadwal")
    phone.get_by_label("Kelompok").select_option(str(kelompok_id))
    phone.get_by_role("button", name="Tampilkan").click()
    expect(phone).to_have_url(re.compile(rf"kelompok={kelompok_id}"))
    for link in phone.locator("ol.calendar a.meeting").all():
        expect(link).to_contain_text(str(name))

    (other,), *_ = _rows(
        site, "SELECT m.id FROM meeting m JOIN kelompok k ON k.id = m.kelompok_id "
        "JOIN staff s ON s.id = k.pendamping_id WHERE s.name = 'Budi Santoso'"
    )
    (others_kelompok,), *_ = _rows(
        site, "SELECT k.id FROM kelompok k JOIN staff s ON s.id = k.pendamping_id "
        "WHERE s.name = 'Budi Santoso'"
    )
    answer = phone.goto(f"{site.base_url}/jadwal/pertemuan/{other}")
    assert answer is not None and answer.status == 404
    answer = phone.goto(f"{site.base_url}/jadwal?kelompok={others_kelompok}")
    assert answer is not None and answer.status == 404


def test_a_coordinator_sees_every_pendamping_s_meetings_and_a_bad_month_is_named(
    site: Site, phone: Page
) -> None:
    sign_in(phone, site.link_from_cli("Dewi Lestari"))
    phone.goto(f"{site.base_url}/jadwal?bulan=2026-13")
    expect(phone.locator("[role=alert]")).to_contain_text("Bulan tidak dikenali")
    current = phone.locator("#f-bulan").input_value()
    (region,) = _rows(
        site, "SELECT count(*) FROM meeting WHERE substr(meeting_date, 1, 7) = ?", current
    )
    expect(phone.locator("ol.calendar a.meeting")).to_have_count(int(str(region[0])))
