"""The planner's holiday calendar from configuration: cuti bersama days and regional
holidays are holidays for the planner (the pendamping is told, with the next working day
there), named as configured or in Indonesian; a regional holiday of one kabupaten leaves
another kabupaten's meetings alone; `pendamping doctor` names a regional holiday that no
kelompok falls under.

The world: Jawa Tengah (code 33), with Kab. Sukamaju (33.02) and Kab. Lain (33.20); each
has a kelompok meeting "tiap tanggal 15" at 09.00 and Sukamaju one more "tiap tanggal 24".
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path

from rich.console import Console
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import commands
from bot.bootstrap import build_app, holiday_calendar
from bot.config import Settings, load_settings
from models.db import migrate
from models.enums import Channel, RegionLevel, StaffRole
from models.messaging.tables import Outbox
from models.regions import RegionIndex
from models.rules.text import name_key
from models.tables import ChannelIdentity, Kelompok, Meeting, Region, Staff
from scheduler.planner import plan_meetings
from tests.cli_text import t

PLANNED_AT = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)  # Sunday 10.00 WIB
SUKAMAJU_DAY = """
[[programme.holidays.regional]]
region = "33.02"
name = "Hari Jadi Kabupaten Sukamaju"
month_day = "12-15"
"""


@dataclass
class Groups:
    sukamaju: int = 0  # the 15th, in 33.02
    lain: int = 0  # the 15th, in 33.20
    natal: int = 0  # the 24th, in 33.02


async def build(sessions: async_sessionmaker[AsyncSession]) -> Groups:
    groups = Groups()
    async with sessions.begin() as session:
        index = await RegionIndex(session).load()
        sukamaju = await index.ensure_path(["Jawa Tengah", "Kab. Sukamaju", "Kec. A", "Desa A"])
        lain = await index.ensure_path(["Jawa Tengah", "Kab. Lain", "Kec. B", "Desa B"])
        # A roster gives codes to provinces only; these kabupaten have theirs.
        for name, code in (("Kab. Sukamaju", "33.02"), ("Kab. Lain", "33.20")):
            await session.execute(
                update(Region)
                .where(
                    Region.level == RegionLevel.KABUPATEN,
                    Region.name_key == name_key(name.removeprefix("Kab. ")),
                )
                .values(code=code)
            )
        ani = Staff(role=StaffRole.PENDAMPING, name="Ani", name_key="ani")
        session.add(ani)
        await session.flush()
        session.add(ChannelIdentity(address="telegram:1001", channel=Channel.TELEGRAM,
                                    staff_id=ani.id))
        made = {}
        for label, desa, day in (("Sukamaju", sukamaju, 15), ("Lain", lain, 15),
                                 ("Natal", sukamaju, 24)):
            kelompok = Kelompok(name=f"Kelompok {label}", name_key=name_key(label), desa_id=desa,
                                pendamping_id=ani.id, rule_day_of_month=day,
                                rule_time=time(9, 0), place="Balai Desa")
            session.add(kelompok)
            await session.flush()
            made[label] = kelompok.id
    groups.sukamaju, groups.lain, groups.natal = made["Sukamaju"], made["Lain"], made["Natal"]
    return groups


def config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(body, encoding="utf-8")
    return path


async def notices(sessions: async_sessionmaker[AsyncSession]) -> dict[int, dict]:
    """The holiday notices by kelompok: their values and the move offered."""
    async with sessions() as session:
        rows = list(await session.scalars(
            select(Outbox).where(Outbox.dedupe_key.startswith("holiday:"))
        ))
        meetings = {m.id: m.kelompok_id for m in await session.scalars(select(Meeting))}
    return {
        meetings[row.payload["meeting_id"]]: {
            **row.payload["values"], "move": row.payload["options"][0]["value"].split(":")[-1]
        }
        for row in rows
    }


async def test_a_cuti_bersama_day_is_a_holiday_for_the_planner_by_its_indonesian_name(
    sessions, tmp_path: Path
) -> None:
    groups = await build(sessions)
    calendar = holiday_calendar(load_settings(config(tmp_path, ""), environ={}).settings)
    report = await plan_meetings(sessions, now=PLANNED_AT, calendar=calendar)
    assert report.on_holidays == 1
    assert (await notices(sessions))[groups.natal] == {
        "kelompok": "Kelompok Natal",
        "date": "Kamis, 24 Desember 2026",
        "holiday": "Cuti Bersama Hari Raya Natal",
        "next_day": "Senin, 28 Desember 2026",  # Christmas on Friday, then the weekend
        "move": "2026-12-28",
    }


async def test_cuti_bersama_can_be_left_out(sessions, tmp_path: Path) -> None:
    await build(sessions)
    path = config(tmp_path, "[programme.holidays]\ncuti_bersama = false\n")
    calendar = holiday_calendar(load_settings(path, environ={}).settings)
    report = await plan_meetings(sessions, now=PLANNED_AT, calendar=calendar)
    assert (report.on_holidays, await notices(sessions)) == (0, {})


async def test_a_kabupaten_s_holiday_is_told_for_its_meetings_and_not_another_s(
    sessions, tmp_path: Path
) -> None:
    groups = await build(sessions)
    calendar = holiday_calendar(load_settings(config(tmp_path, SUKAMAJU_DAY), environ={}).settings)
    await plan_meetings(sessions, now=PLANNED_AT, calendar=calendar)
    told = await notices(sessions)
    assert told[groups.sukamaju] == {
        "kelompok": "Kelompok Sukamaju",
        "date": "Selasa, 15 Desember 2026",
        "holiday": "Hari Jadi Kabupaten Sukamaju",
        "next_day": "Rabu, 16 Desember 2026",
        "move": "2026-12-16",
    }
    assert groups.lain not in told  # the same day in Kab. Lain is a working day
    assert set(told) == {groups.sukamaju, groups.natal}
    async with sessions() as session:  # both are planned on the rule's day all the same
        days = dict(
            (await session.execute(select(Meeting.kelompok_id, Meeting.meeting_date))).all()
        )
    assert days[groups.sukamaju] == days[groups.lain] == date(2026, 12, 15)


async def test_a_province_wide_holiday_covers_every_kabupaten_in_it(
    sessions, tmp_path: Path
) -> None:
    groups = await build(sessions)
    body = SUKAMAJU_DAY.replace('"33.02"', '"33"').replace("Kabupaten Sukamaju", "Jawa Tengah")
    calendar = holiday_calendar(load_settings(config(tmp_path, body), environ={}).settings)
    await plan_meetings(sessions, now=PLANNED_AT, calendar=calendar)
    told = await notices(sessions)
    assert {told[k]["holiday"] for k in (groups.sukamaju, groups.lain)} == {"Hari Jadi Jawa Tengah"}


async def test_doctor_names_a_regional_holiday_no_kelompok_falls_under(db_url: str) -> None:
    regional = [
        {"region": "33.02", "name": "Hari Jadi Kabupaten Sukamaju", "month_day": "12-15"},
        {"region": "33.05", "name": "Hari Jadi Kabupaten Entah", "month_day": "01-10"},
    ]
    app = build_app(Settings(database={"url": db_url},
                             programme={"holidays": {"regional": regional}}))
    try:
        await migrate.upgrade(app.engine)
        await build(app.sessions)
        buffer = io.StringIO()
        await commands.doctor(app, Console(file=buffer, width=1000), None)
    finally:
        await app.close()
    line = next(
        line for line in buffer.getvalue().splitlines()
        if t("cli.doctor.regional_holidays") in line
    )
    assert t("cli.doctor.warn") in line
    assert "programme.holidays.regional.1 (33.05 Hari Jadi Kabupaten Entah)" in line
    assert "regional.0" not in line
