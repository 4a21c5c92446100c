"""The small world (``tests.world``) with a ketua kelompok and members no reminder reaches.

Kelompok Melati meets on Thursday 26 November 2026 at 09.00 WIB (its meeting stood since
Friday 20 November); its first reminder (three days before, 16.00 WIB) is due on Monday
23 November at 09.00 UTC. Dewi Lestari is its ketua, on WhatsApp. Of its members:
- Siti Aminah and Siti Rahayu have no phone and no chat: unreachable;
- Nur Hasanah's last WhatsApp message came back undelivered (63024): unreachable;
- Sumarni has no phone but said BERHENTI; Kurniasih has no phone and stopped her
  Telegram chat: neither is listed (they chose not to be reached);
- Suparmi has no phone but a linked Telegram chat; Yuli Astuti's failure was followed by a
  message that went out; Ratna Sari's failures say nothing of her number (network, a
  deadline passed before sending): all reachable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.enums import Channel, OutboxStatus
from models.messaging.outbox import EXPIRED
from models.messaging.tables import Outbox
from models.tables import ChannelIdentity, Kelompok, Kpm, Meeting
from scheduler.ketua_relay import KetuaReport, enqueue_ketua_relays
from tests.world import World, build_world

MEETING_AT = datetime(2026, 11, 26, 2, tzinfo=UTC)  # Thursday 09.00 WIB
FIRST_REMINDER = datetime(2026, 11, 23, 9, tzinfo=UTC)  # Monday 16.00 WIB
STOOD_SINCE = datetime(2026, 11, 20, 3, tzinfo=UTC)
LISTED = ["Nur Hasanah", "Siti Aminah", "Siti Rahayu"]  # by name


@dataclass
class KetuaWorld:
    world: World
    meeting: int
    ketua: int  # Dewi Lestari
    ketua_address: str

    def kpm(self, name: str) -> int:
        return self.world.kpm[name]


async def sweep_ketua(sessions: async_sessionmaker[AsyncSession], now: datetime) -> KetuaReport:
    return await enqueue_ketua_relays(
        sessions,
        now=now,
        offsets_days=[3, 1],
        reminder_time=time(16, 0),
        quiet_start=time(21, 0),
        quiet_end=time(6, 0),
    )


async def ketua_rows(sessions: async_sessionmaker[AsyncSession]) -> list[Outbox]:
    async with sessions() as session:
        rows = await session.scalars(
            select(Outbox).where(Outbox.dedupe_key.startswith("ketua:")).order_by(Outbox.id)
        )
        return list(rows)


def done_row(
    address: str, status: OutboxStatus, at: datetime, code: str | None = None,
    error: str | None = None,
) -> Outbox:
    """A message to ``address`` that reached a final result at ``at``."""
    return Outbox(
        channel=Channel(address.partition(":")[0]), address=address, kind="meeting_reminder",
        payload={"key": "reminder.kpm", "values": {}}, priority=30, status=status,
        error_code=code, error=error, next_attempt_at=at, created_at=at, updated_at=at,
    )


async def build_ketua_world(
    sessions: async_sessionmaker[AsyncSession], *, ketua: bool = True
) -> KetuaWorld:
    world = await build_world(sessions)
    async with sessions.begin() as session:
        meeting = await session.get(Meeting, world.melati_today)
        assert meeting is not None
        meeting.meeting_date = date(2026, 11, 26)
        meeting.starts_at = MEETING_AT
        meeting.updated_at = STOOD_SINCE
        if ketua:
            await session.execute(
                update(Kelompok).where(Kelompok.id == world.melati)
                .values(ketua_kpm_id=world.kpm["Dewi Lestari"])
            )
        phones = dict(
            (await session.execute(
                select(Kpm.nama_pengurus, Kpm.phone).where(Kpm.kelompok_id == world.melati)
            )).tuples().all()
        )
        no_phone = ["Siti Aminah", "Siti Rahayu", "Sumarni", "Suparmi", "Kurniasih"]
        await session.execute(
            update(Kpm).where(Kpm.id.in_([world.kpm[name] for name in no_phone]))
            .values(phone=None, preferred_channel=Channel.NONE)
        )
        await session.execute(
            update(Kpm).where(Kpm.id == world.kpm["Sumarni"]).values(opted_out_at=STOOD_SINCE)
        )
        session.add_all([
            ChannelIdentity(address="telegram:5001", channel=Channel.TELEGRAM,
                            kpm_id=world.kpm["Suparmi"]),
            ChannelIdentity(address="telegram:5002", channel=Channel.TELEGRAM,
                            kpm_id=world.kpm["Kurniasih"], opted_out_at=STOOD_SINCE),
        ])
        before = datetime(2026, 11, 10, 9, tzinfo=UTC)
        later = datetime(2026, 11, 11, 9, tzinfo=UTC)
        nur, yuli, ratna = (f"whatsapp:{phones[n]}" for n in
                            ("Nur Hasanah", "Yuli Astuti", "Ratna Sari"))
        session.add_all([
            done_row(nur, OutboxStatus.SENT, before),
            done_row(nur, OutboxStatus.UNDELIVERED, later, "63024"),
            done_row(yuli, OutboxStatus.FAILED, before, "63024"),
            done_row(yuli, OutboxStatus.DELIVERED, later),
            done_row(ratna, OutboxStatus.FAILED, before, "network"),
            done_row(ratna, OutboxStatus.FAILED, later, error=EXPIRED),
        ])
    return KetuaWorld(
        world, world.melati_today, world.kpm["Dewi Lestari"],
        f"whatsapp:{phones['Dewi Lestari']}",
    )
