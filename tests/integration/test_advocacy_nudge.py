"""The weekly advocacy line of the morning nudges, on both databases: once per pendamping
and ISO week, from the configured weekday's morning, with how many active families still
need a complementary programme and how many per programme; none for a pendamping without
any, none in quiet hours, none without the setting.

The world (tests/world.py): Ani holds Kelompok Melati and Mawar, Budi holds Kenanga; all
in Jawa Tengah (WIB, UTC+7). Monday 23 November 2026 begins ISO week 48.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select, update

from bot.channels.text import payload_text
from bot.config import Settings
from bot.jobs import advocacy
from handlers.i18n import Translator
from models.bansos import KpmProgramme
from models.enums import KpmStatus, OutboxStatus, ProgrammeStatus
from models.messaging.enqueue import Priority
from models.messaging.tables import Outbox
from models.tables import Kpm
from scheduler.nudges import Advocacy, enqueue_nudges
from tests.on_whatsapp import on_whatsapp
from tests.world import NOW, World, build_world

t = Translator()
PROGRAMMES = (
    ("kis_pbi_jkn", "KIS/PBI-JKN"),
    ("kip_pip", "KIP/PIP"),
    ("sembako_bpnt", "Sembako/BPNT"),
    ("kks_aktif", "KKS berfungsi"),
)
NUDGES: dict[str, Any] = {
    "morning_time": time(6, 30),
    "quiet_start": time(21, 0),
    "quiet_end": time(6, 0),
    "advocacy": Advocacy(PROGRAMMES, weekday=0),
}
MONDAY = date(2026, 11, 23)


def wib(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), UTC) - timedelta(hours=7)


async def needing_world(sessions) -> World:
    world = await build_world(sessions)
    k = world.kpm
    rows = (
        (k["Dewi Lestari"], "kis_pbi_jkn", ProgrammeStatus.BUTUH),
        (k["Dewi Lestari"], "kks_aktif", ProgrammeStatus.BUTUH),
        (k["Dewi Lestari"], "kip_pip", ProgrammeStatus.PUNYA),
        (k["Ani Marlina"], "sembako_bpnt", ProgrammeStatus.BUTUH),  # Mawar, Ani's too
        (k["Sumarni"], "kis_pbi_jkn", ProgrammeStatus.BUTUH),  # left: not counted
        (k["Rina Marlina"], "kis_pbi_jkn", ProgrammeStatus.PUNYA),  # Budi's: nothing needed
    )
    async with sessions.begin() as session:
        session.add_all(
            KpmProgramme(kpm_id=kpm, programme=key, status=status, updated_at=NOW)
            for kpm, key, status in rows
        )
        await session.execute(
            update(Kpm).where(Kpm.id == k["Sumarni"]).values(status=KpmStatus.KELUAR)
        )
    return world


async def rows(sessions) -> list[Outbox]:
    async with sessions() as session:
        found = await session.scalars(
            select(Outbox).where(Outbox.dedupe_key.startswith("nudge-bansos:")).order_by(Outbox.id)
        )
        return list(found)


async def test_the_advocacy_line_goes_once_a_week_from_the_weekday_morning(sessions) -> None:
    world = await needing_world(sessions)

    early = await enqueue_nudges(sessions, now=wib(MONDAY, 6, 0), **NUDGES)
    assert early.advocacy == 0 and await rows(sessions) == []
    first = await enqueue_nudges(sessions, now=wib(MONDAY, 6, 30), **NUDGES)
    again = await enqueue_nudges(sessions, now=wib(MONDAY + timedelta(days=2), 9), **NUDGES)
    assert (first.advocacy, again.advocacy) == (1, 0)

    [row] = await rows(sessions)
    assert (row.address, row.kind, row.priority) == ("console:ani", "pendamping_nudge",
                                                      Priority.NUDGE)
    assert row.dedupe_key == f"nudge-bansos:2026-W48:{world.ani}"
    assert row.next_attempt_at == wib(MONDAY, 6, 30)
    assert row.deadline_at == wib(MONDAY + timedelta(days=7), 0)  # of no use the week after
    assert payload_text(row.payload, t) == (
        "Advokasi bansos komplementer minggu ini: 2 keluarga masih membutuhkan program "
        "(KIS/PBI-JKN 1, Sembako/BPNT 1, KKS berfungsi 1). Lihat daftarnya dengan /graduasi."
    )
    assert await on_whatsapp(sessions, row.kind, row.payload) == (
        OutboxStatus.PENDING,
        None,
        {"1": "2", "2": "KIS/PBI-JKN 1, Sembako/BPNT 1, KKS berfungsi 1"},
    )

    # The next week counts again; Budi's family now needs KIP too.
    async with sessions.begin() as session:
        session.add(
            KpmProgramme(
                kpm_id=world.kpm["Rina Marlina"],
                programme="kip_pip",
                status=ProgrammeStatus.BUTUH,
                updated_at=NOW,
            )
        )
    week = await enqueue_nudges(sessions, now=wib(MONDAY + timedelta(days=7), 8), **NUDGES)
    assert week.advocacy == 2
    assert {r.dedupe_key: r.payload["values"] for r in await rows(sessions)} == {
        f"nudge-bansos:2026-W48:{world.ani}": {
            "count": 2, "counts": "KIS/PBI-JKN 1, Sembako/BPNT 1, KKS berfungsi 1"
        },
        f"nudge-bansos:2026-W49:{world.ani}": {
            "count": 2, "counts": "KIS/PBI-JKN 1, Sembako/BPNT 1, KKS berfungsi 1"
        },
        f"nudge-bansos:2026-W49:{world.budi}": {"count": 1, "counts": "KIP/PIP 1"},
    }


async def test_no_line_for_a_pendamping_without_families_needing_a_programme(sessions) -> None:
    await build_world(sessions)
    nobody = await enqueue_nudges(sessions, now=wib(MONDAY, 9), **NUDGES)
    assert nobody.advocacy == 0 and await rows(sessions) == []


async def test_no_line_without_the_setting_or_before_the_weekday(sessions) -> None:
    await needing_world(sessions)
    plain = {k: v for k, v in NUDGES.items() if k != "advocacy"}
    assert (await enqueue_nudges(sessions, now=wib(MONDAY, 9), **plain)).advocacy == 0
    wednesday = {**NUDGES, "advocacy": Advocacy(PROGRAMMES, weekday=2)}
    assert (await enqueue_nudges(sessions, now=wib(MONDAY, 9), **wednesday)).advocacy == 0
    assert await rows(sessions) == []
    later = await enqueue_nudges(sessions, now=wib(MONDAY + timedelta(days=2), 7), **wednesday)
    assert later.advocacy == 1


async def test_a_line_first_due_in_quiet_hours_waits_for_their_end(sessions) -> None:
    await needing_world(sessions)
    report = await enqueue_nudges(sessions, now=wib(MONDAY, 22), **NUDGES)  # down all day
    [row] = await rows(sessions)
    assert report.advocacy == 1
    assert row.next_attempt_at == wib(MONDAY + timedelta(days=1), 6)


def test_the_setting_names_the_weekday_and_the_programmes_in_order() -> None:
    app = SimpleNamespace(settings=Settings())
    assert advocacy(app) == Advocacy(PROGRAMMES, weekday=0)
    off = Settings.model_validate({"reporting": {"advocacy_weekday": "off"}})
    assert advocacy(SimpleNamespace(settings=off)) is None
    friday = Settings.model_validate({"reporting": {"advocacy_weekday": "fri"}})
    assert advocacy(SimpleNamespace(settings=friday)).weekday == 4
