"""The alerts sweep: graduasi alamiah (soon, ended) and absence streaks, each once per
event, to the pendamping, after quiet hours. Time is injected (``now=``); running the
sweep again stands for the next run of the scheduler."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.text import payload_text
from handlers.i18n import Translator
from models.enums import AttendanceMark, MeetingStatus, OutboxStatus
from models.messaging.enqueue import Priority
from models.messaging.tables import Outbox
from models.tables import Attendance, ChannelIdentity, Komponen, Meeting
from scheduler.alerts import enqueue_alerts
from tests.on_whatsapp import on_whatsapp
from tests.world import NOW, TODAY, World, build_world

SETTINGS: dict[str, Any] = {
    "horizon_days": 90,
    "absence_streak": 2,
    "quiet_start": time(21, 0),
    "quiet_end": time(6, 0),
}
t = Translator()


async def alerts(sessions: async_sessionmaker[AsyncSession]) -> list[Outbox]:
    async with sessions() as session:
        return list(await session.scalars(select(Outbox).order_by(Outbox.id)))


async def add_komponen(sessions, kpm_id: int, end: date) -> int:
    async with sessions.begin() as session:
        row = Komponen(kpm_id=kpm_id, type="anak_sma", end_date=end)
        session.add(row)
        await session.flush()
        return row.id


async def test_graduation_soon_and_ended_alert_the_pendamping_once_per_event(sessions) -> None:
    world = await build_world(sessions)
    k = world.kpm
    soon = TODAY + timedelta(days=30)
    await add_komponen(sessions, k["Siti Rahayu"], soon)
    await add_komponen(sessions, k["Sri Wahyuni"], TODAY - timedelta(days=1))
    await add_komponen(sessions, k["Rina Marlina"], soon)  # Budi's
    await add_komponen(sessions, k["Dewi Lestari"], TODAY + timedelta(days=91))  # too far

    first = await enqueue_alerts(sessions, now=NOW, **SETTINGS)
    again = await enqueue_alerts(sessions, now=NOW + timedelta(minutes=30), **SETTINGS)

    assert (first.graduation_soon, first.graduation_ended, first.enqueued) == (2, 1, 3)
    assert (again.graduation_soon, again.graduation_ended, again.enqueued) == (2, 1, 0)
    rows = await alerts(sessions)
    assert {(r.address, r.dedupe_key) for r in rows} == {
        ("console:ani", f"grad-soon:{k['Siti Rahayu']}:{soon.isoformat()}"),
        ("console:ani", f"grad-ended:{k['Sri Wahyuni']}:{(TODAY - timedelta(days=1)).isoformat()}"),
        ("console:budi", f"grad-soon:{k['Rina Marlina']}:{soon.isoformat()}"),
    }
    assert all(r.kind == "alert" and r.priority == Priority.ALERT for r in rows)
    ended = next(r for r in rows if r.dedupe_key.startswith("grad-ended"))
    assert payload_text(ended.payload, t) == (
        "Komponen terakhir Sri Wahyuni (Kelompok Melati) sudah berakhir Sabtu, 21 November "
        "2026. Keluarga ini memenuhi graduasi alamiah; mohon proses pemutakhiran datanya."
    )
    soon_row = next(r for r in rows if r.address == "console:budi")
    assert payload_text(soon_row.payload, t) == (
        "Komponen terakhir Rina Marlina (Kelompok Kenanga) berakhir Selasa, 22 Desember 2026. "
        "Siapkan graduasi alamiah untuk keluarga ini."
    )
    # On the console no template variables; for a WhatsApp address enqueue makes them, in
    # the order of the template alert.graduation_ended.
    assert "template_variables" not in ended.payload
    assert ended.payload["key"] == "alert.graduation_ended"
    assert await on_whatsapp(sessions, ended.kind, ended.payload) == (
        OutboxStatus.PENDING,
        None,
        {"1": "Sri Wahyuni", "2": "Kelompok Melati", "3": "Sabtu, 21 November 2026"},
    )


async def test_a_komponen_that_ended_long_before_the_first_run_is_not_an_alert(sessions) -> None:
    world = await build_world(sessions)
    k = world.kpm
    await add_komponen(sessions, k["Siti Rahayu"], TODAY - timedelta(days=29))
    await add_komponen(sessions, k["Sri Wahyuni"], TODAY - timedelta(days=200))

    report = await enqueue_alerts(sessions, now=NOW, **SETTINGS)

    assert (report.graduation_ended, report.enqueued) == (1, 1)
    (row,) = await alerts(sessions)
    assert row.dedupe_key.startswith(f"grad-ended:{k['Siti Rahayu']}:")


async def test_a_changed_end_date_and_the_end_itself_are_new_events(sessions) -> None:
    world = await build_world(sessions)
    rahayu = world.kpm["Siti Rahayu"]
    soon = TODAY + timedelta(days=30)
    komponen_id = await add_komponen(sessions, rahayu, soon)
    assert (await enqueue_alerts(sessions, now=NOW, **SETTINGS)).enqueued == 1

    later = TODAY + timedelta(days=60)
    async with sessions.begin() as session:
        await session.execute(
            update(Komponen).where(Komponen.id == komponen_id).values(end_date=later)
        )
    assert (await enqueue_alerts(sessions, now=NOW, **SETTINGS)).enqueued == 1

    after_end = NOW + timedelta(days=61)
    assert (await enqueue_alerts(sessions, now=after_end, **SETTINGS)).enqueued == 1
    assert (await enqueue_alerts(sessions, now=after_end, **SETTINGS)).enqueued == 0
    keys = [r.dedupe_key for r in await alerts(sessions)]
    assert keys == [
        f"grad-soon:{rahayu}:{soon.isoformat()}",
        f"grad-soon:{rahayu}:{later.isoformat()}",
        f"grad-ended:{rahayu}:{later.isoformat()}",
    ]


async def meetings_with_marks(
    sessions, world: World, marks: dict[str, list[str]], first_day: date
) -> list[int]:
    """Held Melati meetings a month apart from ``first_day``, with each named KPM's marks."""
    count = max(len(m) for m in marks.values())
    ids = []
    async with sessions.begin() as session:
        for n in range(count):
            day = first_day + timedelta(days=28 * n)
            meeting = Meeting(
                kelompok_id=world.melati,
                meeting_date=day,
                starts_at=datetime.combine(day, time(2, 0), UTC),
                status=MeetingStatus.HELD,
            )
            session.add(meeting)
            await session.flush()
            ids.append(meeting.id)
            for name, row in marks.items():
                if n < len(row):
                    session.add(
                        Attendance(
                            meeting_id=meeting.id,
                            kpm_id=world.kpm[name],
                            mark=AttendanceMark(row[n]),
                        )
                    )
    return ids


async def test_an_absence_streak_alerts_once_and_a_new_streak_alerts_again(sessions) -> None:
    world = await build_world(sessions)
    kurniasih = world.kpm["Kurniasih"]
    start = date(2026, 9, 1)
    await meetings_with_marks(
        sessions,
        world,
        {"Kurniasih": ["hadir", "alpa", "izin"], "Ratna Sari": ["alpa", "hadir", "sakit"]},
        start,
    )
    first = await enqueue_alerts(sessions, now=NOW, **SETTINGS)
    assert (first.absence_streaks, first.enqueued) == (1, 1)
    [row] = await alerts(sessions)
    # The streak is named by the last meeting attended before it.
    assert row.address == "console:ani" and row.dedupe_key == f"absence:{kurniasih}:{start}"
    assert payload_text(row.payload, t) == (
        "KPM Kurniasih (Kelompok Melati) tidak hadir 2 pertemuan berturut-turut (terakhir "
        "Selasa, 27 Oktober 2026). Mohon dikunjungi atau dihubungi."
    )

    # The streak grows: the same streak, no new alert.
    await meetings_with_marks(sessions, world, {"Kurniasih": ["sakit"]}, start + timedelta(84))
    grown = await enqueue_alerts(sessions, now=NOW, **SETTINGS)
    assert (grown.absence_streaks, grown.enqueued) == (1, 0)

    # Present once, then absent twice again: a new streak.
    await meetings_with_marks(
        sessions, world, {"Kurniasih": ["hadir", "alpa", "alpa"]}, start + timedelta(112)
    )
    renewed = await enqueue_alerts(sessions, now=NOW, **SETTINGS)
    assert renewed.enqueued == 1
    present_again = start + timedelta(112)
    assert [r.dedupe_key for r in await alerts(sessions)][-1] == (
        f"absence:{kurniasih}:{present_again}"
    )


async def test_a_streak_keeps_its_name_when_an_earlier_created_meeting_joins_it(
    sessions,
) -> None:
    world = await build_world(sessions)
    kurniasih = world.kpm["Kurniasih"]
    late = date(2026, 11, 17)
    async with sessions.begin() as session:  # planned long ago: a lower id than the rest
        planned = Meeting(
            kelompok_id=world.melati,
            meeting_date=late,
            starts_at=datetime.combine(late, time(2, 0), UTC),
            status=MeetingStatus.PLANNED,
        )
        session.add(planned)
        await session.flush()
        planned_id = planned.id
    await meetings_with_marks(
        sessions, world, {"Kurniasih": ["hadir", "alpa", "alpa"]}, date(2026, 9, 15)
    )
    assert (await enqueue_alerts(sessions, now=NOW, **SETTINGS)).enqueued == 1

    async with sessions.begin() as session:  # the planned meeting is held; she misses it
        meeting = await session.get(Meeting, planned_id)
        assert meeting is not None
        meeting.status = MeetingStatus.HELD
        session.add(Attendance(meeting_id=planned_id, kpm_id=kurniasih, mark=AttendanceMark.ALPA))
    grown = await enqueue_alerts(sessions, now=NOW, **SETTINGS)

    assert (grown.absence_streaks, grown.enqueued) == (1, 0)


async def test_an_old_streak_is_not_news_on_a_first_run(sessions) -> None:
    world = await build_world(sessions)
    await meetings_with_marks(
        sessions, world, {"Kurniasih": ["hadir", "alpa", "alpa"]}, date(2026, 4, 7)
    )  # last missed meeting in June: no meeting of hers since, nothing to follow up now
    report = await enqueue_alerts(sessions, now=NOW, **SETTINGS)
    assert (report.absence_streaks, report.enqueued) == (0, 0)


async def test_alerts_wait_for_the_end_of_quiet_hours_local_to_the_kelompok(sessions) -> None:
    world = await build_world(sessions)
    await add_komponen(sessions, world.kpm["Siti Rahayu"], TODAY + timedelta(days=30))
    late_evening = datetime(2026, 11, 22, 15, 30, tzinfo=UTC)  # 22.30 WIB
    await enqueue_alerts(sessions, now=late_evening, **SETTINGS)
    [row] = await alerts(sessions)
    assert row.next_attempt_at == datetime(2026, 11, 22, 23, 0, tzinfo=UTC)  # 06.00 WIB


async def test_a_pendamping_without_a_linked_chat_is_counted_unreachable(sessions) -> None:
    world = await build_world(sessions)
    await add_komponen(sessions, world.kpm["Rina Marlina"], TODAY + timedelta(days=30))
    async with sessions.begin() as session:
        await session.execute(
            update(ChannelIdentity)
            .where(ChannelIdentity.staff_id == world.budi)
            .values(opted_out_at=NOW)
        )
    report = await enqueue_alerts(sessions, now=NOW, **SETTINGS)
    assert (report.graduation_soon, report.enqueued, report.unreachable) == (1, 0, 1)
