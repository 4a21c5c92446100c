"""A meeting moved by hand in /jadwal asks the planner's calendar: a cuti bersama day and a
regional holiday of the kelompok's own kabupaten are asked about first (with the next
working day there offered); the same day in another kabupaten is not."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import update

from handlers.engine import Engine
from handlers.i18n import Translator
from handlers.parsing.dates import format_date_id
from handlers.registry import COMMANDS, FLOWS
from handlers.settings import EngineSettings
from models.enums import RegionLevel
from models.regions import RegionIndex
from models.rules.calendar import HolidayCalendar, RegionalHoliday
from models.rules.clock import FixedClock
from models.tables import Kelompok, Region
from tests.world import Chat, build_world, default_catalog

t = Translator()
LATER = datetime(2026, 11, 23, 11, tzinfo=UTC)  # Monday 18:00 WIB
SUKAMAJU_DAY = RegionalHoliday(region="33.02", name="Hari Jadi Kabupaten Sukamaju",
                               month_day=(12, 15))


async def _chat(sessions) -> Chat:
    """Ani, with Melati in Kab. Sukamaju (33.02) and Mawar moved to Kab. Lain (33.20)."""
    world = await build_world(sessions)
    async with sessions.begin() as session:
        index = await RegionIndex(session).load()
        lain = await index.ensure_path(["Jawa Tengah", "Kab. Lain", "Kec. Lain", "Desa Lain"])
        for key, code in (("sukamaju", "33.02"), ("lain", "33.20")):
            await session.execute(
                update(Region)
                .where(Region.level == RegionLevel.KABUPATEN, Region.name_key == key)
                .values(code=code)
            )
        await session.execute(
            update(Kelompok).where(Kelompok.id == world.mawar).values(desa_id=lain)
        )
    clock = FixedClock(LATER)
    settings = EngineSettings(
        catalog=default_catalog(), holidays=HolidayCalendar(regional=[SUKAMAJU_DAY])
    )
    return Chat(Engine(sessions, settings, clock, FLOWS, COMMANDS), clock, "console:ani")


async def _move(ani: Chat, kelompok: str, typed: str) -> None:
    await ani.send(f"/jadwal {kelompok}")
    await ani.send(choice=ani.option(t("schedule.option_move")))
    await ani.send(typed)


async def test_a_kabupaten_s_own_holiday_is_asked_about_and_another_s_is_not(sessions) -> None:
    ani = await _chat(sessions)
    tuesday = format_date_id(date(2026, 12, 15))
    await _move(ani, "Melati", "15/12")
    assert ani.text.startswith(
        t("schedule.move_holiday", date=tuesday, holiday="Hari Jadi Kabupaten Sukamaju")
    )
    wednesday = format_date_id(date(2026, 12, 16))
    assert wednesday in [o.label for o in ani.last[-1].options]  # the next working day there
    await ani.send("/batal")

    await _move(ani, "Mawar", "15/12")  # Kab. Lain works that day
    assert ani.text.startswith(t("schedule.ask_move_place"))


async def test_a_cuti_bersama_day_is_asked_about_by_its_indonesian_name(sessions) -> None:
    ani = await _chat(sessions)
    await _move(ani, "Mawar", "24/12")
    assert ani.text.startswith(
        t(
            "schedule.move_holiday",
            date=format_date_id(date(2026, 12, 24)),
            holiday="Cuti Bersama Hari Raya Natal",
        )
    )
    monday = format_date_id(date(2026, 12, 28))  # Christmas on Friday, then the weekend
    await ani.send(choice=ani.option(monday))
    await ani.send(choice=ani.option(t("schedule.option_same_place")))
    assert ani.text == t(
        "schedule.moved", name="Kelompok Mawar", date=monday, place=t("schedule.same_place")
    )
