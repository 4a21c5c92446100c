"""Ekspor: a coordinator downloads the region's attendance as a workbook from the page, as
the chat's /ekspor would send it; a pendamping is told the export is not theirs."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import httpx
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from tests.browser.conftest import Site, screenshot, serious_violations, sign_in

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _id_pkh_of_region(site: Site) -> set[str]:
    database = site.env["PENDAMPING_DATABASE_URL"].removeprefix("sqlite+aiosqlite:///")
    with sqlite3.connect(database) as db:
        return {row[0] for row in db.execute("SELECT id_pkh FROM kpm")}


def test_a_coordinator_downloads_the_attendance_of_the_region(
    site: Site, phone: Page, tmp_path: Path
) -> None:
    sign_in(phone, site.link_from_chat("Dewi Lestari"))
    phone.get_by_role("link", name="Ekspor").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Ekspor data")
    phone.get_by_label("Data").select_option(label="Kehadiran")
    phone.get_by_label("Periode").select_option(label="3 bulan terakhir")
    phone.get_by_label("Format berkas").select_option(value="xlsx")
    screenshot(phone, "ekspor")
    assert serious_violations(phone) == []
    with phone.expect_download() as download:
        phone.get_by_role("button", name="Unduh").click()
    assert download.value.suggested_filename.startswith("kehadiran_")
    assert download.value.suggested_filename.endswith(".xlsx")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    book = load_workbook(saved, read_only=True)
    rows = list(book.active.iter_rows(values_only=True))
    header = [str(cell) for cell in rows[0]]
    assert "ID PKH" in header
    assert not any("NIK" in cell for cell in header)
    assert len(rows) > 1
    position = header.index("ID PKH")
    assert {row[position] for row in rows[1:]} <= _id_pkh_of_region(site)

    cookies = {c["name"]: c["value"] for c in phone.context.cookies()}
    answer = httpx.get(
        f"{site.base_url}/ekspor/unduh",
        params={"jenis": "cases", "periode": "this_year", "format": "xlsx"},
        cookies=cookies,
        timeout=60,
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"] == XLSX
    assert "attachment" in answer.headers["content-disposition"]
    cases = load_workbook(io.BytesIO(answer.content), read_only=True)
    assert len(list(cases.active.iter_rows(values_only=True))) > 1

    bad = httpx.get(
        f"{site.base_url}/ekspor/unduh",
        params={"jenis": "gaji", "periode": "this_year", "format": "xlsx"},
        cookies=cookies,
    )
    assert bad.status_code == 400
    assert "Data: silakan pilih" in bad.text


def test_a_pendamping_is_told_the_export_is_for_coordinators(site: Site, phone: Page) -> None:
    sign_in(phone, site.link_from_cli("Ani Suryani"))
    phone.goto(f"{site.base_url}/ekspor")
    expect(phone.locator("main")).to_contain_text("untuk koordinator, supervisor, dan operator")
    expect(phone.get_by_role("button", name="Unduh")).to_have_count(0)
