"""The console's Jadwal through the app's routes, on both databases (the demo data): a
meeting moved in /jadwal shows as moved; a meeting's photo is shown from our stored copy
with its EXIF time and place beside the planned ones, to the kelompok's pendamping and
coordinator only; another pendamping's meeting and photo answer 404."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import httpx
from rich.console import Console as RichConsole
from sqlalchemy import select

from bot import commands
from bot.bootstrap import App, build_app
from bot.config import load_settings
from bot.dashboard import Console
from bot.media_store import build_media_store
from bot.web import create_web_app
from models.enums import Channel, MediaStatus, MeetingStatus
from models.meeting_rule import move_meeting
from models.rules.clock import FixedClock
from models.tables import Kelompok, MediaAttachment, MediaFile, Meeting, Staff
from models.web_access import create_login_link

NOW = datetime(2026, 12, 6, 22, 0, tzinfo=UTC)
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64 + b"\xff\xd9"


def _app(db_url: str, folder: Path) -> App:
    settings = load_settings(
        environ={
            "PENDAMPING_DATABASE_URL": db_url,
            "PENDAMPING_WEB_SESSION_SECRET_FILE": str(folder / "secret"),
            "PENDAMPING_MEDIA_FOLDER": str(folder / "media"),
        }
    ).settings
    return build_app(settings, clock=FixedClock(NOW))


async def _signed_in(app: App, client: httpx.AsyncClient, name: str) -> None:
    async with app.sessions.begin() as session:
        staff = await session.scalar(select(Staff).where(Staff.name == name))
        assert staff is not None
        token = await create_login_link(session, staff, now=NOW, actor="cli")
    page = await client.get(f"/masuk/{token}")
    csrf = CSRF.search(page.text)
    assert csrf
    opened = await client.post(f"/masuk/{token}", data={"csrf": csrf.group(1)})
    assert opened.status_code == 303


async def test_moves_photos_and_scope(db_url: str, tmp_path: Path) -> None:
    app = _app(db_url, tmp_path)
    web = create_web_app(console=Console(app))
    clients = [
        httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url="http://127.0.0.1:8080")
        for _ in range(3)
    ]
    ani, budi, dewi = clients
    try:
        await commands.init(app, RichConsole(file=io.StringIO()), demo=True)
        store = build_media_store(app.settings.media).prepare()
        temp = tmp_path / "photo.jpg"
        temp.write_bytes(JPEG)
        await store.put(temp, "ab" + "c" * 62, "image/jpeg")
        async with app.sessions.begin() as session:
            ani_staff = await session.scalar(select(Staff).where(Staff.name == "Ani Suryani"))
            assert ani_staff is not None
            held = await session.scalar(
                select(Meeting).join(Kelompok, Kelompok.id == Meeting.kelompok_id)
                .where(Kelompok.pendamping_id == ani_staff.id,
                       Meeting.status == MeetingStatus.HELD)
                .order_by(Meeting.meeting_date.desc()).limit(1)
            )
            planned = await session.scalar(
                select(Meeting).join(Kelompok, Kelompok.id == Meeting.kelompok_id)
                .where(Kelompok.pendamping_id == ani_staff.id,
                       Meeting.status == MeetingStatus.PLANNED)
                .order_by(Meeting.meeting_date).limit(1)
            )
            assert held is not None and planned is not None
            held_id, kelompok_id = held.id, held.kelompok_id
            planned_id, planned_kelompok = planned.id, planned.kelompok_id
            new_day = planned.meeting_date + timedelta(days=1)
            session.add(MediaFile(
                channel=Channel.WHATSAPP, address="whatsapp:+6281200000000",
                provider_ref="https://api.twilio.com/photo/1", status=MediaStatus.STORED,
                next_attempt_at=NOW, received_at=NOW, content_type="image/jpeg",
                size_bytes=len(JPEG), storage_key="ab" + "c" * 62,
                taken_at=datetime(2026, 11, 2, 10, 41), latitude=-7.25, longitude=110.4,
            ))
            attachment = MediaAttachment(meeting_id=held_id, media_ref="https://api.twilio.com/photo/1",
                                         content_type="image/jpeg")
            session.add(attachment)
            await session.flush()
            attachment_id = attachment.id
            await move_meeting(session, ani_staff, planned_kelompok, planned_id, day=new_day,
                               at=time(9), place=None, now=NOW)

        await _signed_in(app, ani, "Ani Suryani")
        await _signed_in(app, budi, "Budi Santoso")
        await _signed_in(app, dewi, "Dewi Lestari")

        page = await ani.get(f"/jadwal/pertemuan/{held_id}")
        assert page.status_code == 200
        assert f'src="/jadwal/foto/{attachment_id}"' in page.text
        assert "02/11/2026 10.41" in page.text  # the camera's time, beside the planned one
        assert "-7.25000, 110.40000" in page.text
        photo = await ani.get(f"/jadwal/foto/{attachment_id}")
        assert photo.status_code == 200
        assert photo.content == JPEG and photo.headers["content-type"] == "image/jpeg"
        assert (await dewi.get(f"/jadwal/foto/{attachment_id}")).status_code == 200
        assert (await budi.get(f"/jadwal/foto/{attachment_id}")).status_code == 404
        assert (await budi.get(f"/jadwal/pertemuan/{held_id}")).status_code == 404
        assert (await budi.get(f"/jadwal?kelompok={kelompok_id}")).status_code == 404

        month = await ani.get(f"/jadwal?bulan={new_day:%Y-%m}&kelompok={planned_kelompok}")
        assert month.status_code == 200
        assert f'class="meeting moved" href="/jadwal/pertemuan/{planned_id}"' in month.text
        moved = await ani.get(f"/jadwal/pertemuan/{planned_id}")
        assert "dipindah" in moved.text and "09.00" in moved.text
    finally:
        for client in clients:
            await client.aclose()
        await app.close()
