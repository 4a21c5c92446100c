"""Several processes on one PostgreSQL database: two `pendamping web` (webhooks, inbox
workers) behind which WhatsApp messages arrive alternately, and two `pendamping scheduler`
(sweeps, dispatcher), for a stretch of mixed traffic: KPM answering and writing, reminders
swept and sent, replies sent. Nothing is lost, nothing is sent twice, and each KPM gets
the meeting's reminder once, whichever scheduler swept it. Real processes, a local fake of
Twilio."""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.web import TWILIO_SIGNATURE_HEADER
from models.enums import InboxStatus, OutboxStatus
from models.messaging.tables import Inbox, Outbox
from models.tables import Kpm, Meeting
from tests.e2e.test_inbox_crash import PENDAMPING, free_port
from tests.fakes.twilio_api import FakeTwilioApi, inbound_whatsapp_params, twilio_signature
from tests.world import build_world

SENDER = "+14155238886"
ROUNDS = 6  # messages per KPM, spread over the run
WORDS = ("1", "2 anak sakit", "halo bu", "1", "terima kasih", "2")


def _env(db_url: str, fake: FakeTwilioApi, port: int | None) -> dict[str, str]:
    env = {
        **os.environ,
        "PENDAMPING_CONFIG": "",
        "PENDAMPING_DATABASE_URL": db_url,
        "PENDAMPING_TWILIO_ACCOUNT_SID": fake.account_sid,
        "PENDAMPING_TWILIO_AUTH_TOKEN": fake.auth_token,
        "PENDAMPING_TWILIO_WHATSAPP_SENDER": SENDER,
        "PENDAMPING_TWILIO_API_BASE_URL": fake.base_url,
        "PENDAMPING_INBOX_WORKERS": "4",
        "PENDAMPING_INBOX_LEASE_SECONDS": "5",
        # Reminders a day ahead, due at midnight and so late: they go as soon as swept,
        # whatever the hour the test runs at; no quiet hours.
        "PENDAMPING_SCHEDULER_REMINDER_OFFSETS_DAYS": "[1]",
        "PENDAMPING_SCHEDULER_REMINDER_TIME": "00:00:00",
        "PENDAMPING_SCHEDULER_QUIET_HOURS_START": "00:00:00",
        "PENDAMPING_SCHEDULER_QUIET_HOURS_END": "00:00:00",
    }
    if port is not None:
        env["PENDAMPING_WEB_PORT"] = str(port)
        env["PENDAMPING_TWILIO_PUBLIC_BASE_URL"] = f"http://127.0.0.1:{port}"
    return env


@asynccontextmanager
async def _process(command: str, env: dict[str, str]) -> AsyncIterator[None]:
    process = await asyncio.create_subprocess_exec(
        str(PENDAMPING), command, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        if "PENDAMPING_WEB_PORT" in env:
            url = f"http://127.0.0.1:{env['PENDAMPING_WEB_PORT']}/health"
            async with httpx.AsyncClient() as client:
                for _ in range(300):
                    try:
                        if (await client.get(url)).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    assert process.returncode is None, f"pendamping {command} exited"
                    await asyncio.sleep(0.05)
        yield
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), timeout=20)
            except TimeoutError:
                process.kill()
                await process.wait()


async def _melati_tomorrow(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    """The world, Melati meeting tomorrow at 23.00 UTC+7 (its reminder is due); the phones
    of its members."""
    world = await build_world(sessions)
    tomorrow = (datetime.now(UTC) + timedelta(hours=7)).date() + timedelta(days=1)
    async with sessions.begin() as session:
        meeting = await session.get(Meeting, world.melati_today)
        meeting.meeting_date = tomorrow
        meeting.starts_at = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 16, tzinfo=UTC)
        meeting.updated_at = datetime.now(UTC) - timedelta(days=7)
        phones = await session.scalars(
            select(Kpm.phone).where(Kpm.kelompok_id == world.melati).order_by(Kpm.id)
        )
        return [f"whatsapp:{phone}" for phone in phones]


async def _done(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(
            select(func.count()).select_from(Inbox).where(Inbox.status == InboxStatus.DONE)
        ) or 0)


async def _pending(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(
            select(func.count()).select_from(Outbox).where(
                # claimed but not sent yet counts: a process stopped then hands it back
                Outbox.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]),
                Outbox.channel == "whatsapp",
            )
        ) or 0)


async def test_two_web_and_two_scheduler_processes_lose_nothing_and_send_nothing_twice(
    db_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    if db_url.startswith("sqlite"):
        pytest.skip("several processes serve a database on PostgreSQL only")
    members = await _melati_tomorrow(sessions)
    ports = [free_port(), free_port()]
    async with FakeTwilioApi() as fake:
        fake.delay_next(0.05, times=100_000)  # Twilio takes a moment to answer
        async with (
            _process("web", _env(db_url, fake, ports[0])),
            _process("web", _env(db_url, fake, ports[1])),
            _process("scheduler", _env(db_url, fake, None)),
            _process("scheduler", _env(db_url, fake, None)),
        ):
            posted = 0
            async with httpx.AsyncClient() as client:
                for turn in range(ROUNDS):
                    for index, address in enumerate(members):
                        port = ports[(turn + index) % 2]  # the load balancer alternates
                        url = f"http://127.0.0.1:{port}/twilio/whatsapp"
                        params = inbound_whatsapp_params(
                            from_=address, body=WORDS[turn],
                            message_sid=f"SM{index:02d}{turn:030d}",
                        )
                        response = await client.post(url, data=params, headers={
                            TWILIO_SIGNATURE_HEADER: twilio_signature(fake.auth_token, url, params)
                        })
                        assert response.status_code == 200
                        posted += 1
                    await asyncio.sleep(1.0)
            for _ in range(1500):  # handled, and what they queued sent
                if await _done(sessions) == posted and not await _pending(sessions):
                    break
                await asyncio.sleep(0.05)
    assert await _done(sessions) == posted  # none lost
    assert not await _pending(sessions)
    sent = list(fake.messages.values())
    to = Counter(message["to"] for message in sent)
    assert set(to) == set(members)
    async with sessions() as session:
        replies = Counter(dict((await session.execute(
            select(Outbox.address, func.count()).where(Outbox.kind == "reply")
            .group_by(Outbox.address)
        )).tuples().all()))
        reminders = Counter(dict((await session.execute(
            select(Outbox.address, func.count()).where(Outbox.kind == "meeting_reminder")
            .group_by(Outbox.address)
        )).tuples().all()))
        provider_ids = list(await session.scalars(
            select(Outbox.provider_id).where(Outbox.provider_id.is_not(None))
        ))
    assert reminders == Counter(dict.fromkeys(members, 1))  # one reminder each, once
    assert all(replies[address] == ROUNDS for address in members)  # a reply per message
    assert to == replies + reminders  # and each sent exactly once
    assert len(provider_ids) == len(set(provider_ids)) == len(sent)
