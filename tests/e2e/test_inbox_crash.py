"""Nothing acknowledged is lost: a real `pendamping run` takes 200 signed WhatsApp webhooks,
is killed with SIGKILL while it handles them, and is started again; every message is
handled once, each sender's in the order it arrived. Twilio is a local fake."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.web import TWILIO_SIGNATURE_HEADER
from models.enums import InboxStatus
from models.messaging.tables import Inbox, Outbox
from tests.cli_text import said, t
from tests.fakes.twilio_api import FakeTwilioApi, inbound_whatsapp_params, twilio_signature

PENDAMPING = Path(sys.executable).with_name("pendamping")
SENDERS = [f"whatsapp:+62857{n:08d}" for n in range(10)]
PER_SENDER = 20


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def server(env: dict[str, str], port: int) -> AsyncIterator[asyncio.subprocess.Process]:
    process = await asyncio.create_subprocess_exec(
        str(PENDAMPING),
        "run",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(300):  # until it answers /health
                try:
                    if (await client.get(f"http://127.0.0.1:{port}/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if process.returncode is not None:
                    raise AssertionError(f"pendamping run exited with {process.returncode}")
                await asyncio.sleep(0.05)
        yield process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), timeout=20)
            except TimeoutError:
                process.kill()
                await process.wait()


async def count(sessions: async_sessionmaker[AsyncSession], status: InboxStatus) -> int:
    async with sessions() as session:
        return int(
            await session.scalar(
                select(func.count()).select_from(Inbox).where(Inbox.status == status)
            )
            or 0
        )


async def replies_and_handling_order(
    sessions: async_sessionmaker[AsyncSession],
) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """(replies queued per address, (address, provider id) of the inbox rows in the order
    they were handled)."""
    async with sessions() as session:
        replies = await session.execute(
            select(Outbox.address, func.count())
            .where(Outbox.kind == "reply")
            .group_by(Outbox.address)
        )
        order = await session.execute(
            select(Inbox.address, Inbox.external_id).order_by(Inbox.done_at, Inbox.id)
        )
        return dict(replies.tuples().all()), list(order.tuples().all())


T = TypeVar("T")


async def post_turns(
    port: int,
    turns: list[list[T]],
    post: Callable[[httpx.AsyncClient, T], Awaitable[int]],
) -> list[list[T]]:
    """Post turn by turn (each sender's messages in order); from the first turn not wholly
    acknowledged with a 200 (the server was killed), return what is still to be sent: that
    turn's unacknowledged posts, then every later turn."""
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        for number, batch in enumerate(turns):
            statuses = await asyncio.gather(
                *(post(client, item) for item in batch), return_exceptions=True
            )
            failed = [item for item, status in zip(batch, statuses, strict=True) if status != 200]
            if failed:
                return [failed, *turns[number + 1 :]]
    return []


async def kill_once_handling(
    process: asyncio.subprocess.Process, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """SIGKILL the server (no shutdown, no cleanup) once it has handled 20 messages."""
    for _ in range(1000):
        if await count(sessions, InboxStatus.DONE) >= 20:
            break
        await asyncio.sleep(0.01)
    process.kill()
    await process.wait()


async def test_200_acknowledged_messages_survive_a_sigkill_and_are_handled_once(
    db_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    async with FakeTwilioApi() as fake:
        fake.delay_next(0.3, times=10_000)  # Twilio answers in a few hundred milliseconds
        env = {
            **os.environ,
            "PENDAMPING_CONFIG": "",
            "PENDAMPING_DATABASE_URL": db_url,
            "PENDAMPING_TWILIO_ACCOUNT_SID": fake.account_sid,
            "PENDAMPING_TWILIO_AUTH_TOKEN": fake.auth_token,
            "PENDAMPING_TWILIO_WHATSAPP_SENDER": "+14155238886",
            "PENDAMPING_TWILIO_API_BASE_URL": fake.base_url,
            "PENDAMPING_TWILIO_PUBLIC_BASE_URL": public,
            "PENDAMPING_WEB_PORT": str(port),
            "PENDAMPING_INBOX_WORKERS": "2",  # slow enough to be killed half-way
            "PENDAMPING_INBOX_LEASE_SECONDS": "2",
        }
        requests = []
        for turn in range(PER_SENDER):
            for index, sender in enumerate(SENDERS):
                params = inbound_whatsapp_params(
                    from_=sender, body="halo", message_sid=f"SM{index:02d}{turn:030d}"
                )
                url = f"{public}/twilio/whatsapp"
                requests.append((params, twilio_signature(fake.auth_token, url, params)))
        turns = [
            requests[turn * len(SENDERS) : (turn + 1) * len(SENDERS)] for turn in range(PER_SENDER)
        ]

        async def post(client: httpx.AsyncClient, request: tuple[dict[str, str], str]) -> int:
            params, signature = request
            response = await client.post(
                "/twilio/whatsapp", data=params, headers={TWILIO_SIGNATURE_HEADER: signature}
            )
            return response.status_code

        async with server(env, port) as first:
            # Killed once 20 are handled, whether the posting is still going on or not.
            killer = asyncio.create_task(kill_once_handling(first, sessions))
            unacknowledged = await post_turns(port, turns, post)
            await killer
        handled_before = await count(sessions, InboxStatus.DONE)
        assert 0 < handled_before < len(requests), "the kill did not land mid-handling"
        async with server(env, port):
            # As Twilio does: what was not acknowledged with a 200 is sent again.
            assert await post_turns(port, unacknowledged, post) == []
            for _ in range(1500):
                if await count(sessions, InboxStatus.DONE) == len(requests):
                    break
                await asyncio.sleep(0.02)
    assert await count(sessions, InboxStatus.DONE) == len(requests)  # none lost
    replies, order = await replies_and_handling_order(sessions)
    assert replies == {sender: PER_SENDER for sender in SENDERS}  # none twice
    for index, sender in enumerate(SENDERS):
        handled = [sid for address, sid in order if address == sender]
        assert handled == [f"SM{index:02d}{turn:030d}" for turn in range(PER_SENDER)]


async def test_a_second_server_on_one_sqlite_file_refuses_with_one_sentence(
    db_url: str,
) -> None:
    if not db_url.startswith("sqlite"):
        return  # on PostgreSQL several processes serve one database by design
    port = free_port()
    env = {
        **os.environ,
        "PENDAMPING_CONFIG": "",
        "PENDAMPING_DATABASE_URL": db_url,
        "PENDAMPING_WEB_PORT": str(port),
    }
    async with server(env, port) as first:
        second = await asyncio.create_subprocess_exec(
            str(PENDAMPING),
            "scheduler",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(second.communicate(), timeout=60)
        assert second.returncode == 1
        error = t("cli.error", message="")
        lines = [line for line in output.decode().splitlines() if line.startswith(error)]
        assert len(lines) == 1
        served = said("cli.already_served", holder=f"`pendamping run` (pid {first.pid})")
        assert served.search(lines[0]), lines[0]
        assert "PostgreSQL" in lines[0]
        assert first.returncode is None  # the first one serves on
