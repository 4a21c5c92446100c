"""Signing in from a chat link, the Ringkasan's figures, and the console's protections."""

from __future__ import annotations

import re
import sqlite3

import httpx
from playwright.sync_api import Page, expect

from tests.browser.conftest import Site, screenshot, serious_violations, sign_in


def _active_kpm_of_region(site: Site) -> int:
    database = site.env["PENDAMPING_DATABASE_URL"].removeprefix("sqlite+aiosqlite:///")
    with sqlite3.connect(database) as db:
        (count,) = db.execute(
            "SELECT count(*) FROM kpm WHERE status = 'aktif' AND kelompok_id IS NOT NULL"
        ).fetchone()
    return int(count)


def test_a_coordinator_signs_in_from_a_chat_link_and_sees_the_region(
    site: Site, phone: Page
) -> None:
    link = site.link_from_chat("Dewi Lestari")
    sign_in(phone, link)
    expect(phone.get_by_role("heading", level=1)).to_have_text("Ringkasan bulan ini")
    kpm = phone.locator("#fig-kpm").inner_text()
    assert int(re.sub(r"\D", "", kpm)) == _active_kpm_of_region(site)
    assert phone.locator("img.chart").evaluate("img => img.naturalWidth") > 0
    screenshot(phone, "ringkasan")
    assert serious_violations(phone) == []
    # the link was used: a second browser cannot use it again
    phone.context.clear_cookies()
    phone.goto(link)
    expect(phone.locator("[role=alert]")).to_contain_text("sudah dipakai")


def test_signing_out_ends_the_session(site: Site, phone: Page) -> None:
    sign_in(phone, site.link_from_cli("Ani Suryani"))
    phone.get_by_role("button", name="Keluar").click()
    phone.wait_for_url("**/masuk")
    phone.goto(f"{site.base_url}/dasbor")
    expect(phone).to_have_url(re.compile(r"/masuk\?habis=1$"))
    screenshot(phone, "masuk")
    assert serious_violations(phone) == []


def test_pages_carry_the_security_headers_and_a_post_needs_its_csrf_token(
    site: Site, phone: Page
) -> None:
    sign_in(phone, site.link_from_cli("Ani Suryani"))
    cookies = {c["name"]: c["value"] for c in phone.context.cookies()}
    page = httpx.get(f"{site.base_url}/dasbor", cookies=cookies)
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "no-referrer"
    refused = httpx.post(f"{site.base_url}/keluar", cookies=cookies, data={})
    assert refused.status_code == 403
    still = httpx.get(f"{site.base_url}/dasbor", cookies=cookies, follow_redirects=False)
    assert still.status_code == 200  # the refused logout changed nothing
