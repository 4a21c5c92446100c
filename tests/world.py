"""A small hand-built world for flow tests: two pendamping, a coordinator, three groups.

Names are chosen to exercise fuzzy matching: two "Siti" in Melati, a third in Budi's group.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.engine import Engine
from handlers.messages import IncomingMessage, Media, Reply
from handlers.registry import COMMANDS, FLOWS
from handlers.settings import EngineSettings
from models.enums import Channel, MeetingStatus, StaffRole
from models.regions import RegionIndex
from models.rules.clock import FixedClock
from models.rules.komponen import KomponenCatalog
from models.rules.text import name_key
from models.tables import ChannelIdentity, Kelompok, Komponen, Kpm, Meeting, Staff

# Sunday 22 November 2026, 10:00 in Jakarta.
NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
TODAY = date(2026, 11, 22)

MELATI = [
    "Siti Aminah",
    "Siti Rahayu",
    "Sri Wahyuni",
    "Dewi Lestari",
    "Nur Hasanah",
    "Yuli Astuti",
    "Wati Suryani",
    "Sumarni",
    "Suparmi",
    "Lestari Handayani",
    "Kurniasih",
    "Ratna Sari",
]
MAWAR = ["Ani Marlina", "Tuti Alawiyah", "Iis Dahlia"]
KENANGA = ["Siti Budiarti", "Rina Marlina"]


def default_catalog() -> KomponenCatalog:
    from bot.config import Settings

    return KomponenCatalog.from_mapping(
        {k: v.model_dump() for k, v in Settings().programme.komponen.items()}
    )


@dataclass
class World:
    ani: int = 0
    budi: int = 0
    dewi: int = 0
    melati: int = 0
    mawar: int = 0
    kenanga: int = 0
    melati_today: int = 0
    kpm: dict[str, int] = field(default_factory=dict)


async def build_world(sessions: async_sessionmaker[AsyncSession]) -> World:
    world = World()
    async with sessions.begin() as session:
        index = await RegionIndex(session).load()
        desa = await index.ensure_path(
            ["Jawa Tengah", "Kab. Sukamaju", "Kec. Sumber", "Desa Sukamaju"]
        )
        kabupaten = await index.ensure_path(["Jawa Tengah", "Kab. Sukamaju"])
        staff = {}
        for name, role in (
            ("Ani Suryani", StaffRole.PENDAMPING),
            ("Budi Santoso", StaffRole.PENDAMPING),
            ("Dewi Koordinator", StaffRole.KOORDINATOR),
        ):
            member = Staff(role=role, name=name, name_key=name_key(name), active=True)
            session.add(member)
            staff[name] = member
        await session.flush()
        world.ani, world.budi = staff["Ani Suryani"].id, staff["Budi Santoso"].id
        world.dewi = staff["Dewi Koordinator"].id
        staff["Dewi Koordinator"].region_id = kabupaten
        groups = {}
        for group_name, owner, members in (
            ("Kelompok Melati", world.ani, MELATI),
            ("Kelompok Mawar", world.ani, MAWAR),
            ("Kelompok Kenanga", world.budi, KENANGA),
        ):
            kelompok = Kelompok(
                name=group_name,
                name_key=name_key(group_name),
                desa_id=desa,
                pendamping_id=owner,
                rule_weekday=1,
                rule_week_of_month=2,
                rule_time=time(9, 0),
                place="Balai Desa",
            )
            session.add(kelompok)
            await session.flush()
            groups[group_name] = kelompok.id
            for number, name in enumerate(members, start=1):
                kpm = Kpm(
                    id_pkh=f"PKH{kelompok.id:02d}{number:04d}",
                    nik=f"33990100000{kelompok.id:01d}{number:04d}",
                    nama_pengurus=name,
                    phone=f"+62812990{kelompok.id:02d}{number:04d}",
                    preferred_channel=Channel.WHATSAPP,
                    kelompok_id=kelompok.id,
                )
                session.add(kpm)
                await session.flush()
                world.kpm[name] = kpm.id
        session.add(
            Komponen(
                kpm_id=world.kpm["Siti Aminah"],
                type="anak_sd",
                birth_date=date(2016, 3, 1),
                end_date=date(2029, 3, 1),
            )
        )
        world.melati, world.mawar = groups["Kelompok Melati"], groups["Kelompok Mawar"]
        world.kenanga = groups["Kelompok Kenanga"]
        today = Meeting(
            kelompok_id=world.melati,
            meeting_date=TODAY,
            starts_at=datetime(2026, 11, 22, 2, 0, tzinfo=UTC),
            status=MeetingStatus.PLANNED,
            place="Balai Desa",
            plan_key="2026-11",
        )
        session.add(today)
        for address, staff_id in (
            ("console:ani", world.ani),
            ("console:budi", world.budi),
            ("console:dewi", world.dewi),
        ):
            session.add(
                ChannelIdentity(address=address, channel=Channel.CONSOLE, staff_id=staff_id)
            )
        await session.flush()
        world.melati_today = today.id
    return world


def make_engine(
    sessions: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    *,
    queued_channels: Sequence[str] = (),
) -> Engine:
    return Engine(
        sessions,
        EngineSettings(catalog=default_catalog()),
        clock,
        FLOWS,
        COMMANDS,
        queued_channels=queued_channels,
    )


class Chat:
    """One user's side of a conversation with the engine."""

    def __init__(self, engine: Engine, clock: FixedClock, address: str) -> None:
        self.engine, self.clock, self.address = engine, clock, address
        self.last: list[Reply] = []

    async def send(
        self,
        text: str = "",
        *,
        choice: str | None = None,
        media: tuple[Media, ...] = (),
        external_id: str | None = None,
    ) -> list[Reply]:
        message = IncomingMessage(
            channel=self.address.split(":")[0],
            address=self.address,
            received_at=self.clock.now(),
            text=text,
            choice=choice,
            media=media,
            external_id=external_id,
        )
        outcome = await self.engine.handle(message)
        self.last = list(outcome.replies)
        return self.last

    @property
    def text(self) -> str:
        return "\n".join(reply.text for reply in self.last)

    def option(self, label_part: str) -> str:
        """The value of the last reply's option whose label contains ``label_part``."""
        for reply in reversed(self.last):
            for option in reply.options:
                if label_part.casefold() in option.label.casefold():
                    return option.value
        raise AssertionError(f"no option like {label_part!r} in {self.last!r}")
