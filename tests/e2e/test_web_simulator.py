"""The web simulator through the app's routes, on both databases: the three phones are
linked to the demo's people; a line typed in a phone goes inbox → engine → outbox → the
simulator's dispatcher, which sends only what is addressed to its phones; "Jalankan
sekarang" brings the family's reminder to her phone, her "1" is counted for the meeting;
a POST without the browser's token is refused; with the simulator off there is none."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from rich.console import Console as RichConsole
from sqlalchemy import func, select

from bot import commands
from bot.bootstrap import App, build_app, build_engine, build_inbox
from bot.config import load_settings
from bot.dashboard import Console
from bot.dashboard import simulator as simulator_pages
from bot.simulator import ADDRESS, prepare_cast, simulator_dispatcher
from bot.web import create_web_app
from models.enums import OutboxStatus, RsvpAnswer
from models.messaging.tables import Outbox
from models.rules.clock import FixedClock
from models.tables import Rsvp

NOW = datetime(2026, 12, 6, 22, 0, tzinfo=UTC)  # 05.00 WIB on a Monday
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def _app(db_url: str, folder: Path, *, simulator: bool) -> App:
    settings = load_settings(
        environ={
            "PENDAMPING_DATABASE_URL": db_url,
            "PENDAMPING_WEB_SIMULATOR": "true" if simulator else "false",
            "PENDAMPING_WEB_SESSION_SECRET_FILE": str(folder / "secret"),
            "PENDAMPING_MEDIA_FOLDER": str(folder / "media"),
        }
    ).settings
    return build_app(settings, clock=FixedClock(NOW))


def _client(app: App) -> httpx.AsyncClient:
    web = create_web_app(console=Console(app))
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=web), base_url="http://127.0.0.1:8080"
    )


def _chat(page: str, phone: str) -> str:
    found = re.search(rf'<section class="phone" id="ponsel-{phone}".*?</section>', page, re.S)
    assert found, phone
    return found.group(0)


async def test_the_phones_drive_the_engine_and_a_reminder_is_answered_and_counted(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(simulator_pages, "WAIT_SECONDS", 0.0)  # no workers run here: settle()
    app = _app(db_url, tmp_path, simulator=True)
    client = _client(app)
    try:
        await commands.init(app, RichConsole(file=io.StringIO()), demo=True)
        cast = await prepare_cast(app)
        assert cast.ready
        assert cast.owners["pendamping"].name == "Ani Suryani"
        assert cast.owners["koordinator"].name == "Dewi Lestari"
        family = cast.owners["kpm"]
        assert family.kpm_id is not None and family.kpm_phone
        assert f"whatsapp:{family.kpm_phone}" in cast.addresses["kpm"]
        inbox = build_inbox(app, build_engine(app))
        dispatcher = simulator_dispatcher(app, cast)

        async def settle() -> None:  # what the running server's workers do meanwhile
            await inbox.drain()
            while (await dispatcher.run_once()).progressed:
                pass

        page = (await client.get("/simulator")).text
        token = CSRF.search(page)
        assert token
        refused = await client.post(
            "/simulator/kirim", data={"ponsel": "pendamping", "pesan": "/jadwal"}
        )
        assert refused.status_code == 403

        sent = await client.post(
            "/simulator/kirim",
            data={"csrf": token.group(1), "ponsel": "pendamping", "pesan": "/jadwal"},
        )
        assert sent.status_code == 303
        await settle()
        page = (await client.get("/simulator")).text
        assert "Jadwal kelompok mana?" in _chat(page, "pendamping")

        ran = await client.post("/simulator/jalankan", data={"csrf": token.group(1)})
        assert ran.status_code == 303
        await settle()
        page = (await client.get("/simulator")).text
        assert "Balas 1 jika hadir" in _chat(page, "kpm")
        assert "Balas 1 jika hadir" not in _chat(page, "pendamping")
        async with app.sessions() as session:  # only the three phones' messages were sent
            sent_to = set(
                await session.scalars(
                    select(Outbox.address).where(Outbox.status == OutboxStatus.SENT)
                )
            )
            waiting = await session.scalar(
                select(func.count()).select_from(Outbox).where(
                    Outbox.status == OutboxStatus.PENDING
                )
            )
        assert sent_to <= set(cast.all_addresses)
        assert waiting  # the other families' reminders wait for a provider

        await client.post(
            "/simulator/kirim", data={"csrf": token.group(1), "ponsel": "kpm", "pesan": "1"}
        )
        await settle()
        page = (await client.get("/simulator")).text
        assert "sudah kami catat" in _chat(page, "kpm")
        async with app.sessions() as session:
            answer = await session.scalar(select(Rsvp.answer).where(Rsvp.kpm_id == family.kpm_id))
        assert answer is RsvpAnswer.HADIR

        await client.post(
            "/simulator/kirim",
            data={"csrf": token.group(1), "ponsel": "pendamping", "pesan": "/konfirmasi"},
        )
        await settle()
        await client.post(
            "/simulator/kirim",
            data={"csrf": token.group(1), "ponsel": "pendamping", "pesan": family.kelompok or ""},
        )
        await settle()
        feed = (await client.get("/simulator/pesan.json")).json()
        last = feed["phones"]["pendamping"][-1]
        assert not last["incoming"] and family.name in last["text"]
        assert ADDRESS["kpm"] not in last["text"]
    finally:
        await client.aclose()
        await app.close()


async def test_the_simulator_is_not_there_unless_enabled(db_url: str, tmp_path: Path) -> None:
    app = _app(db_url, tmp_path, simulator=False)
    client = _client(app)
    try:
        assert (await client.get("/simulator")).status_code == 404
        assert (await client.get("/simulator/pesan.json")).status_code == 404
        assert (await client.post("/simulator/jalankan", data={})).status_code in (404, 405)
    finally:
        await client.aclose()
        await app.close()
