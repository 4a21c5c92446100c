"""The operator's pages as the dinas operator uses them: a roster checked, its rejected row
read and downloaded, then imported; a failed message resent and seen in the audit log; an
invite with its QR code that links a chat; `doctor` as a page; and the doors closed to a
coordinator and to a POST without its CSRF token."""

from __future__ import annotations

import csv
import re
import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.browser.conftest import Site, screenshot, serious_violations, sign_in

OPERATOR = "Operator Dinas"
HEADER = "id_pkh;nama_pengurus;nik;no_hp;kelompok;desa;kecamatan;kabupaten;provinsi;pendamping"
GOOD = (
    "3399019990001;Sari Wahyuni;3399014507850001;081234500001;Kelompok Melati;Sukamaju;"
    "Sukamaju Kota;Sukamaju;Jawa Tengah;Ani Suryani"
)
BAD = (
    "3399019990002;Tono Hadi;33990145078;081234500002;Kelompok Melati;Sukamaju;"
    "Sukamaju Kota;Sukamaju;Jawa Tengah;Ani Suryani"
)


def _db(site: Site) -> sqlite3.Connection:
    return sqlite3.connect(site.env["PENDAMPING_DATABASE_URL"].removeprefix("sqlite+aiosqlite:///"))


_SIGNED_IN: dict[str, list[Any]] = {}


def _operator(site: Site, phone: Page) -> None:
    """The operator signed in: from a link the first time, then the same session's
    cookies (login links are limited per hour)."""
    kept = _SIGNED_IN.get(site.base_url)
    if kept:
        phone.context.add_cookies(kept)
        phone.goto(f"{site.base_url}/dasbor")
        return
    sign_in(phone, site.link_from_cli(OPERATOR))
    _SIGNED_IN[site.base_url] = list(phone.context.cookies())


def _cookies(phone: Page) -> dict[str, str]:
    return {c["name"]: c["value"] for c in phone.context.cookies()}


def _failed_message(site: Site) -> int:
    """A message that failed as a provider refuses one: a chat answer to Ani, copied as
    an alert the provider refused."""
    site.chat("Ani Suryani", "/bantuan")
    with _db(site) as db:
        cursor = db.execute(
            "INSERT INTO outbox (channel, address, kind, payload, priority, status, attempts,"
            " next_attempt_at, created_at, updated_at, error_code, error)"
            " SELECT channel, address, 'alert', payload, 0, 'failed', 3, next_attempt_at,"
            " created_at, updated_at, '63016', 'outside the allowed window'"
            " FROM outbox WHERE address = 'console:ani-suryani' ORDER BY id DESC LIMIT 1"
        )
        assert cursor.lastrowid
        return int(cursor.lastrowid)


def _kpm_count(site: Site, id_pkh: str) -> int:
    with _db(site) as db:
        (count,) = db.execute("SELECT count(*) FROM kpm WHERE id_pkh = ?", (id_pkh,)).fetchone()
    return int(count)


def _status(site: Site, outbox_id: int) -> str:
    with _db(site) as db:
        (status,) = db.execute("SELECT status FROM outbox WHERE id = ?", (outbox_id,)).fetchone()
    return str(status)


def test_an_operator_checks_a_roster_reads_its_rejected_row_and_imports_the_rest(
    site: Site, phone: Page, tmp_path: Path
) -> None:
    _operator(site, phone)
    phone.goto(f"{site.base_url}/operator")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Operator")
    screenshot(phone, "operator")
    assert serious_violations(phone) == []
    phone.get_by_role("link", name="Impor roster").click()
    roster = tmp_path / "roster_desember.csv"
    roster.write_text(f"{HEADER}\n{GOOD}\n{BAD}\n", encoding="utf-8")
    phone.get_by_label("Berkas roster (XLSX atau CSV)").set_input_files(roster)
    screenshot(phone, "operator_roster")
    assert serious_violations(phone) == []
    phone.get_by_role("button", name="Periksa berkas").click()
    expect(phone.locator("#roster-result")).to_contain_text("1 akan diimpor")
    rejected = phone.locator("#rejected-rows tbody tr")
    expect(rejected).to_have_count(1)
    expect(rejected.first).to_contain_text("3")
    expect(rejected.first).to_contain_text("kolom nik: harus 16 digit")
    screenshot(phone, "operator_roster_check")
    assert serious_violations(phone) == []
    assert _kpm_count(site, "3399019990001") == 0  # the dry run wrote nothing

    with phone.expect_download() as download:
        phone.get_by_role("link", name=re.compile("Unduh baris yang ditolak")).click()
    saved = Path(download.value.path())
    rows = list(csv.reader(saved.read_text(encoding="utf-8-sig").splitlines(), delimiter=";"))
    assert rows[0][-1] == "alasan"
    assert [row[0] for row in rows[1:]] == ["3399019990002"]
    assert "harus 16 digit" in rows[1][-1]

    phone.once("dialog", lambda dialog: dialog.accept())
    phone.get_by_role("button", name="Impor sekarang").click()
    expect(phone.locator("#roster-result")).to_contain_text("Impor selesai")
    expect(phone.locator("#roster-result")).to_contain_text("1 diimpor")
    expect(phone.get_by_role("button", name="Impor sekarang")).to_have_count(0)
    assert _kpm_count(site, "3399019990001") == 1
    assert _kpm_count(site, "3399019990002") == 0
    screenshot(phone, "operator_roster_done")


def test_a_file_that_is_not_a_roster_is_refused_with_the_reason(
    site: Site, phone: Page, tmp_path: Path
) -> None:
    _operator(site, phone)
    phone.goto(f"{site.base_url}/operator/roster")
    not_roster = tmp_path / "catatan.csv"
    not_roster.write_text("judul;isi\nsatu;dua\n", encoding="utf-8")
    phone.get_by_label("Berkas roster (XLSX atau CSV)").set_input_files(not_roster)
    phone.get_by_role("button", name="Periksa berkas").click()
    expect(phone.get_by_role("alert")).to_contain_text("kolom wajib tidak ada")


def test_a_failed_message_is_resent_and_the_audit_log_shows_who_did_it(
    site: Site, phone: Page
) -> None:
    failed = _failed_message(site)
    _operator(site, phone)
    phone.goto(f"{site.base_url}/operator/outbox")
    row = phone.locator(f"#pesan-{failed}")
    expect(row).to_contain_text("outside the allowed window")
    expect(row).to_contain_text("63016")
    expect(row).not_to_contain_text("ani-suryani")  # the address is masked
    expect(row).not_to_contain_text("Perintah")  # never the message's text
    screenshot(phone, "operator_outbox")
    assert serious_violations(phone) == []
    row.get_by_role("button", name=f"Kirim ulang pesan {failed}").click()
    expect(phone.get_by_role("status")).to_contain_text("dimasukkan kembali ke antrean")
    expect(phone.locator(f"#pesan-{failed}")).to_have_count(0)
    deadline = time.monotonic() + 20
    while _status(site, failed) not in {"pending", "sending", "sent", "delivered"}:
        assert time.monotonic() < deadline, _status(site, failed)
        time.sleep(0.2)

    phone.goto(f"{site.base_url}/operator/audit")
    audit = phone.locator("table tbody tr", has_text="outbox.resend")
    expect(audit.first).to_contain_text(OPERATOR)
    expect(audit.first).to_contain_text("status=failed")
    expect(audit.first).to_contain_text("status=pending")
    phone.get_by_label("Staf (nama atau id)").fill("Operator Dinas")
    phone.get_by_role("button", name="Tampilkan").click()
    expect(phone.locator("table tbody tr", has_text="outbox.resend")).to_have_count(1)
    screenshot(phone, "operator_audit")
    assert serious_violations(phone) == []
    phone.goto(f"{site.base_url}/operator/audit?kpm=0000")
    expect(phone.get_by_role("alert")).to_contain_text("ID PKH")


def test_an_operator_makes_an_invite_whose_code_links_a_chat(site: Site, phone: Page) -> None:
    _operator(site, phone)
    phone.goto(f"{site.base_url}/operator/staff")
    expect(phone.locator("#staf-1")).to_be_visible()
    phone.get_by_role("button", name="Buat undangan untuk Budi Santoso").click()
    expect(phone.get_by_role("heading", name="Undangan untuk Budi Santoso")).to_be_visible()
    code = phone.locator("#invite-code").inner_text()
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}", code)
    qr = phone.locator("img.qr")
    assert qr.get_attribute("src", timeout=5000).startswith("data:image/svg+xml;base64,")
    assert qr.evaluate("img => img.naturalWidth") > 0
    screenshot(phone, "operator_staff")
    assert serious_violations(phone) == []
    answer = site.chat("console:budi-hp-baru", f"daftar {code}")
    assert "Budi" in answer
    with _db(site) as db:
        (linked,) = db.execute(
            "SELECT count(*) FROM channel_identity ci JOIN staff s ON s.id = ci.staff_id"
            " WHERE ci.address = 'console:budi-hp-baru' AND s.name = 'Budi Santoso'"
        ).fetchone()
    assert linked == 1


def test_the_doctor_page_shows_the_checks(site: Site, phone: Page) -> None:
    _operator(site, phone)
    phone.goto(f"{site.base_url}/operator/doctor")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Pemeriksaan sistem")
    table = phone.locator("table tbody")
    expect(table).to_contain_text("basis data", ignore_case=True)
    expect(table).to_contain_text("migrasi", ignore_case=True)
    expect(phone.locator("#doctor-summary")).to_be_visible()
    screenshot(phone, "operator_doctor")
    assert serious_violations(phone) == []


def test_a_coordinator_finds_no_operator_page_and_a_post_needs_its_csrf_token(
    site: Site, phone: Page
) -> None:
    sign_in(phone, site.link_from_cli("Dewi Lestari"))
    expect(phone.get_by_role("link", name="Operator")).to_have_count(0)
    for path in ("/operator", "/operator/outbox", "/operator/roster", "/operator/staff",
                 "/operator/doctor", "/operator/audit"):
        answer = phone.goto(f"{site.base_url}{path}")
        assert answer is not None and answer.status == 404, path
    failed = _failed_message(site)
    phone.context.clear_cookies()
    _operator(site, phone)
    refused = httpx.post(
        f"{site.base_url}/operator/outbox/{failed}/kirim-ulang", cookies=_cookies(phone), data={}
    )
    assert refused.status_code == 403
    assert _status(site, failed) == "failed"
