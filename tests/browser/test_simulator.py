"""The web simulator as a newcomer uses it: no login, three phones; the pendamping asks
for /jadwal; "Jalankan sekarang" brings the family's reminder to the KPM's phone; she
answers 1; the pendamping's /konfirmasi counts her. Every send works without JavaScript
too (a form, then the page again)."""

from __future__ import annotations

import sqlite3

import httpx
from playwright.sync_api import Page, expect

from tests.browser.conftest import Site, screenshot, serious_violations


def _database(site: Site) -> str:
    return site.env["PENDAMPING_DATABASE_URL"].removeprefix("sqlite+aiosqlite:///")


def _send(phone: Page, who: str, text: str) -> None:
    phone.locator(f"#pesan-{who}").fill(text)
    phone.locator(f"#ponsel-{who}").get_by_role("button", name="Kirim").click()
    phone.wait_for_load_state()


def _chat(phone: Page, who: str) -> object:
    return phone.locator(f"#ponsel-{who} ol.chat")


def test_a_reminder_is_sent_answered_by_the_kpm_and_counted_for_the_pendamping(
    site: Site, phone: Page
) -> None:
    phone.goto(f"{site.base_url}/simulator")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Simulator")
    expect(phone.locator("#ponsel-pendamping")).to_contain_text("Ani Suryani")
    expect(phone.locator("#ponsel-koordinator")).to_contain_text("Dewi Lestari")
    family = phone.locator("#ponsel-kpm > p").inner_text().split(" · ")
    name, kelompok = family[0], family[1]

    _send(phone, "pendamping", "/jadwal")
    expect(_chat(phone, "pendamping")).to_contain_text("Jadwal kelompok mana?")
    _send(phone, "pendamping", "/batal")

    phone.get_by_role("button", name="Jalankan sekarang").click()
    expect(phone.locator("p.ok[role=status]")).to_contain_text("sudah dijalankan")
    expect(_chat(phone, "kpm")).to_contain_text("Balas 1 jika hadir", timeout=15_000)
    expect(_chat(phone, "kpm")).to_contain_text(f"Ibu {name}")
    expect(_chat(phone, "kpm")).to_contain_text("ke nomor WhatsApp")
    screenshot(phone, "simulator")
    assert serious_violations(phone) == []

    _send(phone, "kpm", "1")
    expect(_chat(phone, "kpm")).to_contain_text("sudah kami catat")
    with sqlite3.connect(_database(site)) as db:
        (answers,) = db.execute(
            "SELECT count(*) FROM rsvp JOIN kpm ON kpm.id = rsvp.kpm_id "
            "WHERE kpm.nama_pengurus = ? AND rsvp.answer = 'hadir'", (name,)
        ).fetchone()
    assert answers == 1

    _send(phone, "pendamping", "/konfirmasi")
    _send(phone, "pendamping", kelompok)
    last = _chat(phone, "pendamping").locator("li.msg.out").last
    expect(last).to_contain_text(name)


def test_the_page_shows_later_messages_without_reloading(site: Site, phone: Page) -> None:
    phone.goto(f"{site.base_url}/simulator")
    before = _chat(phone, "koordinator").locator("li[data-key]").count()
    # a line typed from another browser (its own cookie and token): this page is not reloaded
    with httpx.Client(base_url=site.base_url) as other:
        token = other.get("/simulator").text.split('name="csrf" value="')[1].split('"')[0]
        sent = other.post("/simulator/kirim", data={
            "csrf": token, "ponsel": "koordinator", "pesan": "/bantuan"})
        assert sent.status_code == 303
    expect(_chat(phone, "koordinator").locator("li[data-key]")).to_have_count(
        before + 2, timeout=15_000
    )


def test_a_send_needs_the_browsers_token(site: Site) -> None:
    refused = httpx.post(f"{site.base_url}/simulator/kirim",
                         data={"ponsel": "pendamping", "pesan": "/jadwal"})
    assert refused.status_code == 403
    refused = httpx.post(f"{site.base_url}/simulator/jalankan", data={"csrf": "x"})
    assert refused.status_code == 403
