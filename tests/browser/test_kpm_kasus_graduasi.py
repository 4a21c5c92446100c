"""The KPM, Kasus and Graduasi pages, as a coordinator and a pendamping use them: search a
family and open its card, filter cases and close one with a note, the graduation pipeline
against the Ringkasan; and what stays out of reach (another pendamping's family, another
region's, a form without its CSRF token)."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from models.rules.text import name_key
from tests.browser.conftest import Site, screenshot, serious_violations, sign_in


@contextmanager
def database(site: Site) -> Iterator[sqlite3.Connection]:
    path = site.env["PENDAMPING_DATABASE_URL"].removeprefix("sqlite+aiosqlite:///")
    db = sqlite3.connect(path)
    try:
        yield db
        db.commit()
    finally:
        db.close()


_SIGNED_IN: dict[tuple[str, str], list[Any]] = {}


def signed_in(site: Site, page: Page, who: str) -> None:
    """Signed in as ``who``: from a chat link the first time in this module (a staff
    member may ask for only a few links an hour), then with that session's cookie."""
    key = (site.base_url, who)
    if key in _SIGNED_IN:
        page.context.add_cookies(_SIGNED_IN[key])
        page.goto(f"{site.base_url}/dasbor")
        return
    sign_in(page, site.link_from_chat(who))
    _SIGNED_IN[key] = list(page.context.cookies())


def _number(text: str) -> int:
    return int(re.sub(r"\D", "", text))


def _kpm_of(site: Site, pendamping: str) -> tuple[int, str, str]:
    """(id, name, NIK) of an active KPM in one of ``pendamping``'s kelompok."""
    with database(site) as db:
        row = db.execute(
            "SELECT kpm.id, kpm.nama_pengurus, kpm.nik FROM kpm"
            " JOIN kelompok ON kelompok.id = kpm.kelompok_id"
            " JOIN staff ON staff.id = kelompok.pendamping_id"
            " WHERE staff.name = ? AND kpm.status = 'aktif' ORDER BY kpm.id LIMIT 1",
            (pendamping,),
        ).fetchone()
    return int(row[0]), str(row[1]), str(row[2])


def _status(page: Page, url: str) -> int:
    response = page.goto(url)
    assert response is not None
    return response.status


def test_a_coordinator_searches_a_kpm_by_name_and_opens_its_card(
    site: Site, phone: Page
) -> None:
    kpm_id, name, nik = _kpm_of(site, "Citra Wulandari")
    signed_in(site, phone, "Dewi Lestari")
    phone.get_by_role("link", name="KPM", exact=True).click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Data KPM")
    screenshot(phone, "kpm")
    assert serious_violations(phone) == []

    phone.get_by_label("Nama atau ID PKH").fill(name.split()[0])
    phone.get_by_role("button", name="Terapkan").click()
    names = phone.locator("#kpm-list tbody th").all_inner_texts()
    assert name in names
    assert all(name.split()[0].casefold() in found.casefold() for found in names)
    assert nik not in phone.content()  # masked in the list too
    phone.locator("#kpm-list").get_by_role("link", name=name, exact=True).first.click()
    expect(phone).to_have_url(re.compile(rf"/kpm/{kpm_id}$"))
    expect(phone.get_by_role("heading", level=1)).to_have_text(name)
    expect(phone.locator("#kpm-nik")).to_have_text("*" * 12 + nik[-4:])
    assert nik not in phone.content()
    expect(phone.locator("#kpm-phone")).to_contain_text("*")  # not her own pendamping
    screenshot(phone, "kpm-kartu")
    assert serious_violations(phone) == []


def test_the_kpm_list_follows_the_ringkasan_links(site: Site, phone: Page) -> None:
    signed_in(site, phone, "Dewi Lestari")
    with database(site) as db:
        kelompok_id, active = db.execute(
            "SELECT kelompok_id, count(*) FROM kpm WHERE status = 'aktif'"
            " GROUP BY kelompok_id ORDER BY kelompok_id LIMIT 1"
        ).fetchone()
    phone.goto(f"{site.base_url}/kpm?kelompok={kelompok_id}")
    assert _number(phone.locator("#kpm-count").inner_text()) == active


def test_a_coordinator_filters_cases_by_severity(site: Site, phone: Page) -> None:
    signed_in(site, phone, "Dewi Lestari")
    phone.goto(f"{site.base_url}/kasus")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Kasus")
    every = phone.locator("#kasus-list tbody tr").count()
    phone.get_by_label("Tingkat").select_option("mendesak")
    phone.get_by_role("button", name="Terapkan").click()
    rows = phone.locator("#kasus-list tbody tr")
    severities = [rows.nth(i).get_attribute("data-severity") for i in range(rows.count())]
    with database(site) as db:
        (urgent,) = db.execute(
            "SELECT count(*) FROM case_note"
            " WHERE severity = 'mendesak' AND status != 'selesai'"
        ).fetchone()
    assert severities == ["mendesak"] * urgent and 0 < urgent < every
    assert _number(phone.locator("#kasus-count").inner_text()) == urgent
    screenshot(phone, "kasus")
    assert serious_violations(phone) == []


def test_a_coordinator_adds_a_note_to_a_case_and_closes_it(site: Site, phone: Page) -> None:
    with database(site) as db:
        (case_id,) = db.execute(
            "SELECT min(id) FROM case_note WHERE status != 'selesai'"
        ).fetchone()
    signed_in(site, phone, "Dewi Lestari")
    phone.goto(f"{site.base_url}/kasus")
    phone.locator("#kasus-list").get_by_role("link", name=f"#{case_id}", exact=True).click()
    expect(phone.get_by_role("heading", level=1)).to_have_text(f"Kasus #{case_id}")

    phone.get_by_role("button", name="Simpan catatan").click()  # empty: the browser asks
    expect(phone).to_have_url(re.compile(rf"/kasus/{case_id}$"))
    phone.get_by_label("Catatan baru").fill("Sudah ditelepon, kartu KKS diurus ke bank.")
    phone.get_by_role("button", name="Simpan catatan").click()
    expect(phone.locator(".ok")).to_have_text("Catatan sudah disimpan.")
    expect(phone.locator("#case-updates")).to_contain_text("kartu KKS diurus ke bank")
    screenshot(phone, "kasus-detail")
    assert serious_violations(phone) == []

    phone.once("dialog", lambda dialog: dialog.accept())
    phone.get_by_label("Catatan penutupan (boleh kosong)").fill("Kartu sudah aktif lagi.")
    phone.get_by_role("button", name="Tutup kasus").click()
    expect(phone.locator(".ok")).to_have_text("Kasus sudah ditutup sebagai selesai.")
    expect(phone.locator("#case-status")).to_have_text("Selesai")
    expect(phone.get_by_role("button", name="Tutup kasus")).to_have_count(0)

    with database(site) as db:
        status, closed_at = db.execute(
            "SELECT status, closed_at FROM case_note WHERE id = ?", (case_id,)
        ).fetchone()
        notes = [
            row[0] for row in db.execute(
                "SELECT note FROM case_update WHERE case_id = ? ORDER BY id", (case_id,)
            )
        ]
        audited = db.execute(
            "SELECT count(*) FROM audit_log WHERE action = 'case.update'"
            " AND entity = 'case_note' AND entity_id = ? AND actor_staff_id ="
            " (SELECT id FROM staff WHERE name = 'Dewi Lestari')",
            (case_id,),
        ).fetchone()[0]
    assert status == "selesai" and closed_at is not None
    assert notes[-2:] == ["Sudah ditelepon, kartu KKS diurus ke bank.", "Kartu sudah aktif lagi."]
    assert audited == 2


def test_the_graduasi_counts_equal_the_ringkasan(site: Site, phone: Page) -> None:
    signed_in(site, phone, "Dewi Lestari")
    candidates = _number(phone.locator("#fig-candidates").inner_text())
    ani = phone.locator("tr", has=phone.get_by_role("rowheader", name="Ani Suryani"))
    ani_candidates = _number(ani.locator("td").last.inner_text())
    phone.locator("#fig-candidates").get_by_role("link").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Graduasi")
    assert _number(phone.locator("#grad-total").inner_text()) == candidates > 0
    alamiah = _number(phone.locator("#grad-alamiah").inner_text())
    mandiri = _number(phone.locator("#grad-mandiri").inner_text())
    assert alamiah + mandiri == candidates
    assert phone.locator("#alamiah-list tbody tr").count() == alamiah
    assert phone.locator("#mandiri-list .badge").count() == mandiri
    screenshot(phone, "graduasi")
    assert serious_violations(phone) == []

    phone.get_by_label("Pendamping").select_option(label="Ani Suryani")
    phone.get_by_role("button", name="Terapkan").click()
    assert _number(phone.locator("#grad-total").inner_text()) == ani_candidates


def test_a_pendamping_sees_only_her_own_families_and_cases(site: Site, phone: Page) -> None:
    own_id, _, _ = _kpm_of(site, "Ani Suryani")
    other_id, _, _ = _kpm_of(site, "Citra Wulandari")
    with database(site) as db:
        (other_case,) = db.execute(
            "SELECT min(case_note.id) FROM case_note JOIN kpm ON kpm.id = case_note.kpm_id"
            " JOIN kelompok ON kelompok.id = kpm.kelompok_id"
            " WHERE kelompok.pendamping_id = (SELECT id FROM staff WHERE name = ?)",
            ("Citra Wulandari",),
        ).fetchone()
    signed_in(site, phone, "Ani Suryani")
    assert _status(phone, f"{site.base_url}/kpm/{own_id}") == 200
    expect(phone.locator("#kpm-phone")).not_to_contain_text("*")  # her own family
    assert _status(phone, f"{site.base_url}/kpm/{other_id}") == 404
    expect(phone.get_by_role("heading", level=1)).to_contain_text("tidak ditemukan")
    if other_case is not None:
        assert _status(phone, f"{site.base_url}/kasus/{other_case}?x=1") == 404
    phone.goto(f"{site.base_url}/kasus?status=semua")
    pendamping = phone.locator("#kasus-list tbody td:nth-child(8)").all_inner_texts()
    assert set(pendamping) <= {"Ani Suryani"}


def _second_region(site: Site) -> int:
    """Kab. Banyumas with one KPM (from a roster) and its coordinator; the KPM's id."""
    roster = site.folder / "banyumas.csv"
    roster.write_text(
        "id_pkh;nama_pengurus;nik;no_hp;kelompok;desa;kecamatan;kabupaten;provinsi;pendamping\n"
        "3302-9001;Sumarni Lestari;3302015507800009;0812-3456-9001;Kelompok Nusa Indah;"
        "Karangsari;Sumbang;Kab. Banyumas;Jawa Tengah;Joko Susilo\n",
        encoding="utf-8",
    )
    site.cli("import-roster", str(roster))
    with database(site) as db:
        (region,) = db.execute(
            "SELECT id FROM region WHERE level = 'kabupaten' AND name LIKE '%Banyumas%'"
        ).fetchone()
        db.execute(
            "INSERT INTO staff (role, name, name_key, region_id, active, created_at)"
            " VALUES ('koordinator', 'Wati Handayani', ?, ?, 1, '2026-01-01 00:00:00')",
            (name_key("Wati Handayani"), region),
        )
        (kpm_id,) = db.execute("SELECT id FROM kpm WHERE id_pkh = '3302-9001'").fetchone()
    return int(kpm_id)


def test_a_coordinator_gets_404_for_another_regions_kpm(site: Site, phone: Page) -> None:
    kpm_id = _second_region(site)
    signed_in(site, phone, "Dewi Lestari")
    assert _status(phone, f"{site.base_url}/kpm/{kpm_id}") == 404
    phone.goto(f"{site.base_url}/kpm?q=3302-9001&status=semua")
    expect(phone.locator("#kpm-list")).to_have_count(0)

    phone.context.clear_cookies()
    sign_in(phone, site.link_from_cli("Wati Handayani"))
    assert _status(phone, f"{site.base_url}/kpm/{kpm_id}") == 200
    expect(phone.get_by_role("heading", level=1)).to_have_text("Sumarni Lestari")
    phone.goto(f"{site.base_url}/kpm")
    assert phone.locator("#kpm-list tbody th").all_inner_texts() == ["Sumarni Lestari"]


def test_a_case_form_without_its_csrf_token_is_refused(site: Site, phone: Page) -> None:
    with database(site) as db:
        (case_id,) = db.execute(
            "SELECT max(id) FROM case_note WHERE status != 'selesai'"
        ).fetchone()
        before = db.execute("SELECT count(*) FROM case_update").fetchone()[0]
    signed_in(site, phone, "Dewi Lestari")
    cookies = {c["name"]: c["value"] for c in phone.context.cookies()}
    for action in ("catatan", "tutup"):
        refused = httpx.post(
            f"{site.base_url}/kasus/{case_id}/{action}", cookies=cookies,
            data={"catatan": "tanpa token"},
        )
        assert refused.status_code == 403
    phone.goto(f"{site.base_url}/kasus/{case_id}")
    token = phone.locator("input[name=csrf]").first.get_attribute("value")
    empty = httpx.post(
        f"{site.base_url}/kasus/{case_id}/catatan", cookies=cookies,
        data={"csrf": token or "", "catatan": "  "},
    )
    assert empty.status_code == 400
    assert "Kolom Catatan baru masih kosong" in empty.text
    with database(site) as db:
        assert db.execute("SELECT count(*) FROM case_update").fetchone()[0] == before
        status = db.execute("SELECT status FROM case_note WHERE id = ?", (case_id,)).fetchone()
    assert status[0] != "selesai"
