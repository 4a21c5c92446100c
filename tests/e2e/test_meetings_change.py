"""Meetings that change, told in /jadwal: a meeting cancelled (its reminders withdrawn, the
KPM already reminded told), a rule changed (the planned meetings follow it, their reminders
re-timed), a move onto a public holiday asked about first."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from sqlalchemy import select, update

from handlers.i18n import Translator
from handlers.parsing.dates import format_date_id
from models.enums import MeetingStatus, OutboxStatus
from models.messaging.enqueue import Enqueue, Priority, enqueue
from models.messaging.tables import Outbox
from models.rules.clock import FixedClock
from models.tables import AuditLog, Meeting
from scheduler.reminders import enqueue_reminders
from tests.world import NOW, Chat, World, build_world, make_engine

t = Translator()
SWEEP_AT = datetime(2026, 11, 23, 10, tzinfo=UTC)  # Monday 17:00 WIB
LATER = datetime(2026, 11, 23, 11, tzinfo=UTC)  # Monday 18:00 WIB


async def sweep_reminders(sessions, now: datetime) -> int:
    report = await enqueue_reminders(
        sessions,
        now=now,
        offsets_days=[3, 1],
        reminder_time=time(16, 0),
        quiet_start=time(21, 0),
        quiet_end=time(6, 0),
    )
    return report.enqueued


async def _on_thursday_with_reminders(sessions, world: World) -> None:
    """Melati's meeting on Thursday 26 November, its reminders queued."""
    async with sessions.begin() as session:
        meeting = await session.get(Meeting, world.melati_today)
        meeting.meeting_date = date(2026, 11, 26)
        meeting.starts_at = datetime(2026, 11, 26, 2, tzinfo=UTC)
        meeting.updated_at = SWEEP_AT
    assert await sweep_reminders(sessions, SWEEP_AT) == 12


async def _outbox(sessions, kind: str) -> list[Outbox]:
    async with sessions() as session:
        rows = await session.scalars(select(Outbox).where(Outbox.kind == kind).order_by(Outbox.id))
        return list(rows)


async def test_a_cancelled_meeting_withdraws_its_reminders_and_tells_who_was_reminded(
    sessions,
) -> None:
    world = await build_world(sessions)
    await _on_thursday_with_reminders(sessions, world)
    first = (await _outbox(sessions, "meeting_reminder"))[0]
    async with sessions.begin() as session:  # one reminder already went out
        await session.execute(
            update(Outbox)
            .where(Outbox.id == first.id)
            .values(status=OutboxStatus.SENT, next_attempt_at=datetime(2026, 11, 23, 9, tzinfo=UTC))
        )
    clock = FixedClock(LATER)
    ani = Chat(make_engine(sessions, clock), clock, "console:ani")
    await ani.send("/jadwal Melati")
    await ani.send(choice=ani.option(t("schedule.option_cancel")))
    thursday = format_date_id(date(2026, 11, 26))
    assert ani.text == t("schedule.confirm_cancel", name="Kelompok Melati", date=thursday)
    await ani.send("entah")
    assert ani.text.startswith(t("schedule.cancel_invalid"))
    await ani.send(choice=ani.option(t("schedule.option_cancel_yes")))
    assert ani.text == t("schedule.cancelled", name="Kelompok Melati", date=thursday, told=1)

    async with sessions() as session:
        meeting = await session.get(Meeting, world.melati_today)
        audit = await session.scalar(select(AuditLog).where(AuditLog.action == "meeting.cancel"))
    assert meeting.status is MeetingStatus.CANCELLED
    assert audit.detail["after"] == {"status": "cancelled"}
    reminders = await _outbox(sessions, "meeting_reminder")
    assert [r.status for r in reminders] == [OutboxStatus.SENT] + [OutboxStatus.CANCELLED] * 11
    (notice,) = await _outbox(sessions, "meeting_changed")
    assert (notice.address, notice.payload["key"]) == (first.address, "reminder.cancelled")
    assert await sweep_reminders(sessions, datetime(2026, 11, 25, 10, tzinfo=UTC)) == 0  # none

    await ani.send("/jadwal Melati")  # nothing planned: nothing to cancel is offered
    assert t("schedule.option_cancel") not in [o.label for o in ani.last[-1].options]


async def test_keeping_the_meeting_changes_nothing(sessions) -> None:
    world = await build_world(sessions)
    await _on_thursday_with_reminders(sessions, world)
    clock = FixedClock(LATER)
    ani = Chat(make_engine(sessions, clock), clock, "console:ani")
    await ani.send("/jadwal Melati")
    await ani.send(choice=ani.option(t("schedule.option_cancel")))
    await ani.send(choice=ani.option(t("schedule.option_cancel_no")))
    assert ani.text == t("schedule.cancel_kept")
    async with sessions() as session:
        assert (await session.get(Meeting, world.melati_today)).status is MeetingStatus.PLANNED
    reminders = await _outbox(sessions, "meeting_reminder")
    assert {r.status for r in reminders} == {OutboxStatus.PENDING}


async def test_a_new_rule_moves_the_planned_meetings_and_re_times_their_reminders(
    sessions,
) -> None:
    world = await build_world(sessions)
    await _on_thursday_with_reminders(sessions, world)
    clock = FixedClock(LATER)
    ani = Chat(make_engine(sessions, clock), clock, "console:ani")
    await ani.send("/jadwal Melati")
    await ani.send(choice=ani.option(t("schedule.option_rule")))
    await ani.send("Jumat minggu keempat jam 10.00")
    assert t("schedule.replanned", count=1) in ani.text

    async with sessions() as session:
        meeting = await session.get(Meeting, world.melati_today)
        audit = await session.scalar(select(AuditLog).where(AuditLog.action == "kelompok.rule"))
    assert meeting.meeting_date == date(2026, 11, 27)  # the fourth Friday of November
    assert meeting.starts_at == datetime(2026, 11, 27, 3, tzinfo=UTC)  # 10:00 WIB
    assert audit.detail["before"] == [1, 2, "09:00"]
    assert audit.detail["after"] == [4, 4, "10:00"]
    assert audit.detail["replanned"] == [world.melati_today]
    reminders = await _outbox(sessions, "meeting_reminder")
    assert {r.status for r in reminders} == {OutboxStatus.CANCELLED}  # of the old time
    assert await sweep_reminders(sessions, datetime(2026, 11, 26, 10, tzinfo=UTC)) == 12  # the new


async def test_moving_onto_a_public_holiday_is_asked_first(sessions) -> None:
    world = await build_world(sessions)
    clock = FixedClock(LATER)
    ani = Chat(make_engine(sessions, clock), clock, "console:ani")
    await ani.send("/jadwal Melati")
    await ani.send(choice=ani.option(t("schedule.option_move")))
    await ani.send("25/12")
    christmas = format_date_id(date(2026, 12, 25))
    assert ani.text.startswith(t("schedule.move_holiday", date=christmas, holiday="")[:40])
    monday = format_date_id(date(2026, 12, 28))
    await ani.send(choice=ani.option(monday))  # the next working day offered
    await ani.send(choice=ani.option(t("schedule.option_same_place")))
    assert ani.text == t(
        "schedule.moved", name="Kelompok Melati", date=monday, place=t("schedule.same_place")
    )
    async with sessions() as session:  # none was planned after today: one is now
        days = await session.scalars(
            select(Meeting.meeting_date).where(
                Meeting.kelompok_id == world.melati, Meeting.status == MeetingStatus.PLANNED
            )
        )
        assert sorted(days) == [date(2026, 11, 22), date(2026, 12, 28)]


async def _held_yesterday(ani: Chat, answer: str) -> None:
    await ani.send("/hadir")
    await ani.send(choice=ani.option(t("attendance.meeting_other")))
    await ani.send("kemarin")
    assert ani.text == t(
        "attendance.replaces_planned",
        name="Kelompok Melati",
        planned=format_date_id(date(2026, 11, 22)),
        date=format_date_id(date(2026, 11, 21)),
    )
    await ani.send(choice=ani.option(t(answer)))
    await ani.send("5")
    await ani.send("semua hadir")
    await ani.send("lewati")
    await ani.send("simpan")
    assert t("attendance.saved", name="Kelompok Melati", hadir=12, total=12) in ani.text


async def test_a_meeting_held_on_another_day_of_the_month_replaces_the_planned_one(
    sessions,
) -> None:
    world = await build_world(sessions)
    async with sessions.begin() as session:  # a reminder still waits for the planned day
        await enqueue(
            session,
            [
                Enqueue(
                    channel="whatsapp",
                    address="whatsapp:+6281299000001",
                    kind="meeting_reminder",
                    payload={
                        "key": "reminder.kpm",
                        "values": {
                            "kelompok": "Kelompok Melati",
                            "date": format_date_id(date(2026, 11, 22)),
                            "time": "09.00 WIB",
                            "place": "Balai Desa",
                            "pendamping": "Ani Suryani",
                            "penerima": "Ibu Sumarni",
                        },
                    },
                    priority=Priority.REMINDER,
                    dedupe_key=f"reminder:{world.melati_today}:v1:0:{world.kpm['Sumarni']}",
                    not_before=datetime(2026, 11, 22, 9, tzinfo=UTC),
                )
            ],
            now=NOW,
        )
    clock = FixedClock(NOW)
    ani = Chat(make_engine(sessions, clock), clock, "console:ani")
    await _held_yesterday(ani, "attendance.option_instead")
    async with sessions() as session:
        meetings = list(
            await session.scalars(select(Meeting).where(Meeting.kelompok_id == world.melati))
        )
    assert [(m.id, m.meeting_date, m.status) for m in meetings] == [
        (world.melati_today, date(2026, 11, 21), MeetingStatus.HELD)  # no longer "planned"
    ]
    (reminder,) = await _outbox(sessions, "meeting_reminder")
    assert reminder.status is OutboxStatus.CANCELLED


async def test_an_extra_meeting_leaves_the_planned_one_alone(sessions) -> None:
    world = await build_world(sessions)
    clock = FixedClock(NOW)
    ani = Chat(make_engine(sessions, clock), clock, "console:ani")
    await _held_yesterday(ani, "attendance.option_extra")
    async with sessions() as session:
        statuses = list(
            await session.execute(
                select(Meeting.meeting_date, Meeting.status)
                .where(Meeting.kelompok_id == world.melati)
                .order_by(Meeting.meeting_date)
            )
        )
    assert [tuple(row) for row in statuses] == [
        (date(2026, 11, 21), MeetingStatus.HELD),
        (date(2026, 11, 22), MeetingStatus.PLANNED),
    ]


async def test_a_rule_by_date_of_the_month_is_understood_and_planned(sessions) -> None:
    from scheduler.planner import plan_meetings

    world = await build_world(sessions)
    clock = FixedClock(LATER)
    ani = Chat(make_engine(sessions, clock), clock, "console:ani")
    await ani.send("/jadwal Mawar")
    await ani.send(choice=ani.option(t("schedule.option_rule")))
    await ani.send("tiap tanggal 10 jam 09.00 di Posyandu")
    assert ani.text == t(
        "schedule.rule_saved", name="Kelompok Mawar", rule="tiap tanggal 10, jam 09.00, di Posyandu"
    )
    await plan_meetings(sessions, now=LATER)
    async with sessions() as session:
        planned = list(
            await session.execute(
                select(Meeting.meeting_date, Meeting.starts_at, Meeting.place)
                .where(Meeting.kelompok_id == world.mawar)
                .order_by(Meeting.meeting_date)
            )
        )
    assert [tuple(row) for row in planned] == [  # December's; 10 January is past the horizon
        (date(2026, 12, 10), datetime(2026, 12, 10, 2, tzinfo=UTC), "Posyandu")
    ]
    await ani.send("/jadwal Mawar")
    assert "tiap tanggal 10, jam 09.00, di Posyandu" in ani.text
