"""The scheduler's sweeps against a real database: planning meetings from rules, KPM
reminders, meeting changes, pendamping nudges and the capacity check.

Time is injected (``now=``): a "restart" is the same sweep run again with a later ``now``.

The world: three kelompok in three time zones.
- Melati, Jawa Tengah (WIB, UTC+7), pendamping Ani: Tuesday of the 2nd week, 09.00, with a
  linked Telegram group; members reachable by WhatsApp, SMS, Telegram, a Telegram fallback
  to WhatsApp, and others who must get nothing.
- Cempaka, Bali (WITA, UTC+8), pendamping Budi: the last Tuesday, 09.00.
- Anggrek, Papua (WIT, UTC+9), pendamping Ani: Friday of the 4th week, 09.00, which falls on
  Christmas day in December 2026.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.enums import (
    CaseSeverity,
    CaseStatus,
    Channel,
    KpmStatus,
    MeetingStatus,
    OutboxStatus,
    StaffRole,
)
from models.meeting_changes import meeting_changed
from models.meeting_rule import move_meeting
from models.messaging.enqueue import Priority
from models.messaging.tables import Outbox
from models.regions import RegionIndex
from models.rules.text import name_key
from models.tables import CaseNote, ChannelIdentity, Kelompok, Kpm, Meeting, Staff
from scheduler import reminders
from scheduler.nudges import enqueue_nudges
from scheduler.planner import plan_meetings
from scheduler.reminders import enqueue_reminders

# Sunday 22 November 2026, 10.00 WIB.
PLANNED_AT = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
TUESDAY, FRIDAY = 1, 4
WIB, WITA, WIT = 7, 8, 9
QUIET = {"quiet_start": time(21, 0), "quiet_end": time(6, 0)}
REMINDERS: dict[str, Any] = {"offsets_days": [3, 1], "reminder_time": time(16, 0), **QUIET}


def local(day: date, hour: int, minute: int = 0, *, offset: int = WIB) -> datetime:
    """A wall-clock time in a zone ``offset`` hours ahead of UTC, as UTC."""
    return datetime.combine(day, time(hour, minute), UTC) - timedelta(hours=offset)


@dataclass
class World:
    ani: int = 0
    budi: int = 0
    melati: int = 0
    cempaka: int = 0
    anggrek: int = 0
    kpm: dict[str, int] = field(default_factory=dict)


def _kpm(serial: int, name: str, kelompok_id: int, **extra: Any) -> Kpm:
    values: dict[str, Any] = {
        "phone": f"+6281299{serial:06d}",
        "preferred_channel": Channel.WHATSAPP,
        "status": KpmStatus.AKTIF,
        **extra,
    }
    return Kpm(
        id_pkh=f"PKH{serial:06d}",
        nik=f"3399{serial:012d}",
        nama_pengurus=name,
        kelompok_id=kelompok_id,
        **values,
    )


async def build(sessions: async_sessionmaker[AsyncSession]) -> World:
    world = World()
    async with sessions.begin() as session:
        index = await RegionIndex(session).load()
        jawa = await index.ensure_path(["Jawa Tengah", "Kab. Sukamaju", "Kec. Sumber", "Desa A"])
        bali = await index.ensure_path(["Bali", "Kab. Gianyar", "Kec. Ubud", "Desa Peliatan"])
        papua = await index.ensure_path(["Papua", "Kota Jayapura", "Kec. Abepura", "Kel. Awiyo"])
        ani = Staff(role=StaffRole.PENDAMPING, name="Ani", name_key="ani")
        budi = Staff(role=StaffRole.PENDAMPING, name="Budi", name_key="budi")
        session.add_all([ani, budi])
        await session.flush()
        world.ani, world.budi = ani.id, budi.id
        session.add_all(
            [
                ChannelIdentity(address="telegram:1001", channel=Channel.TELEGRAM, staff_id=ani.id),
                ChannelIdentity(
                    address="whatsapp:+6281100000002", channel=Channel.WHATSAPP, staff_id=budi.id
                ),
            ]
        )
        groups = {}
        for name, desa, owner, weekday, week, place, chat in (
            ("Melati", jawa, ani.id, TUESDAY, 2, "Balai Desa", "telegram:-100200"),
            ("Cempaka", bali, budi.id, TUESDAY, -1, "Rumah Bu Made", None),
            ("Anggrek", papua, ani.id, FRIDAY, 4, "Posyandu", None),
        ):
            kelompok = Kelompok(
                name=f"Kelompok {name}",
                name_key=name_key(f"Kelompok {name}"),
                desa_id=desa,
                pendamping_id=owner,
                rule_weekday=weekday,
                rule_week_of_month=week,
                rule_time=time(9, 0),
                place=place,
                group_chat_address=chat,
            )
            session.add(kelompok)
            groups[name] = kelompok
        # A kelompok whose rule has no time yet is not planned.
        session.add(
            Kelompok(name="Kelompok Tanpa Jam", name_key="kelompok tanpa jam", desa_id=jawa,
                     pendamping_id=ani.id, rule_weekday=TUESDAY, rule_week_of_month=1)
        )
        await session.flush()
        world.melati, world.cempaka = groups["Melati"].id, groups["Cempaka"].id
        world.anggrek = groups["Anggrek"].id
        now = PLANNED_AT
        members = [
            _kpm(1, "Siti", world.melati),
            _kpm(2, "Sri", world.melati, preferred_channel=Channel.SMS),
            _kpm(3, "Nur", world.melati, preferred_channel=Channel.TELEGRAM),
            _kpm(4, "Dewi", world.melati, preferred_channel=Channel.TELEGRAM),  # not linked
            _kpm(5, "Wati", world.melati, opted_out_at=now),
            _kpm(6, "Yuli", world.melati, status=KpmStatus.KELUAR),
            _kpm(7, "Tuti", world.melati, phone=None, preferred_channel=Channel.NONE),
            _kpm(8, "Eni", world.melati, preferred_channel=Channel.TELEGRAM),
            _kpm(9, "Made", world.cempaka),
            _kpm(10, "Ketut", world.cempaka),
            _kpm(11, "Maria", world.anggrek),
        ]
        session.add_all(members)
        await session.flush()
        world.kpm = {kpm.nama_pengurus: kpm.id for kpm in members}
        session.add_all(
            [
                ChannelIdentity(address="telegram:5003", channel=Channel.TELEGRAM,
                                kpm_id=world.kpm["Nur"]),
                # Eni said "berhenti" on Telegram: she gets nothing, not even by WhatsApp.
                ChannelIdentity(address="telegram:5008", channel=Channel.TELEGRAM,
                                kpm_id=world.kpm["Eni"], opted_out_at=now),
            ]
        )
    return world


@pytest.fixture
async def world(sessions: async_sessionmaker[AsyncSession]) -> World:
    world = await build(sessions)
    await plan_meetings(sessions, now=PLANNED_AT)
    return world


async def meetings_of(sessions: async_sessionmaker[AsyncSession], kelompok_id: int) -> list:
    async with sessions() as session:
        rows = await session.scalars(
            select(Meeting).where(Meeting.kelompok_id == kelompok_id).order_by(Meeting.plan_key)
        )
        return list(rows)


async def outbox(sessions: async_sessionmaker[AsyncSession], prefix: str = "") -> list[Outbox]:
    async with sessions() as session:
        rows = await session.scalars(
            select(Outbox).where(Outbox.dedupe_key.startswith(prefix)).order_by(Outbox.id)
        )
        return list(rows)


async def only_meeting(sessions: async_sessionmaker[AsyncSession], kelompok_id: int) -> Meeting:
    found = [m for m in await meetings_of(sessions, kelompok_id) if m.plan_key == "2026-12"]
    assert len(found) == 1
    return found[0]


# --- the planner -------------------------------------------------------------------------------


async def test_meetings_are_planned_from_each_rule_within_the_horizon(sessions, world) -> None:
    melati = await meetings_of(sessions, world.melati)
    cempaka = await meetings_of(sessions, world.cempaka)
    anggrek = await meetings_of(sessions, world.anggrek)
    # 2nd Tuesday: 10 November has passed, 12 January is beyond 45 days.
    assert [(m.plan_key, m.meeting_date) for m in melati] == [("2026-12", date(2026, 12, 8))]
    # Last Tuesday: the 4th in November (four Tuesdays), the 5th in December (five).
    assert [m.meeting_date for m in cempaka] == [date(2026, 11, 24), date(2026, 12, 29)]
    assert [m.meeting_date for m in anggrek] == [date(2026, 11, 27), date(2026, 12, 25)]
    assert all(m.status is MeetingStatus.PLANNED for m in melati + cempaka + anggrek)
    assert {m.place for m in cempaka} == {"Rumah Bu Made"}


async def test_nine_o_clock_is_stored_in_utc_from_each_kelompok_s_zone(sessions, world) -> None:
    melati = await only_meeting(sessions, world.melati)
    cempaka = await only_meeting(sessions, world.cempaka)
    anggrek = await only_meeting(sessions, world.anggrek)
    assert melati.starts_at == datetime(2026, 12, 8, 2, 0, tzinfo=UTC)  # WIB
    assert cempaka.starts_at == datetime(2026, 12, 29, 1, 0, tzinfo=UTC)  # WITA
    assert anggrek.starts_at == datetime(2026, 12, 25, 0, 0, tzinfo=UTC)  # WIT


async def test_planning_twice_creates_nothing_more(sessions, world) -> None:
    async with sessions() as session:
        before = list(await session.execute(select(Meeting.id, Meeting.kelompok_id,
                                                   Meeting.plan_key, Meeting.starts_at)))
    report = await plan_meetings(sessions, now=PLANNED_AT + timedelta(hours=1))
    async with sessions() as session:
        after = list(await session.execute(select(Meeting.id, Meeting.kelompok_id,
                                                  Meeting.plan_key, Meeting.starts_at)))
    assert report.created == 0
    assert report.kelompok == 3  # the kelompok without a time is left out
    assert sorted(after) == sorted(before)
    assert len(after) == 5


async def test_a_moved_or_cancelled_meeting_is_not_planned_again(sessions, world) -> None:
    melati = await only_meeting(sessions, world.melati)
    cempaka = await only_meeting(sessions, world.cempaka)
    async with sessions.begin() as session:
        await session.execute(
            update(Meeting).where(Meeting.id == melati.id).values(meeting_date=date(2026, 12, 9))
        )
        await session.execute(
            update(Meeting)
            .where(Meeting.id == cempaka.id)
            .values(status=MeetingStatus.CANCELLED)
        )
    report = await plan_meetings(sessions, now=PLANNED_AT + timedelta(days=1))
    assert report.created == 0
    assert [m.meeting_date for m in await meetings_of(sessions, world.melati)] == [
        date(2026, 12, 9)
    ]
    statuses = [m.status for m in await meetings_of(sessions, world.cempaka)]
    assert statuses == [MeetingStatus.PLANNED, MeetingStatus.CANCELLED]


async def test_the_next_month_is_planned_as_the_horizon_moves_on(sessions, world) -> None:
    report = await plan_meetings(sessions, now=datetime(2026, 12, 1, 3, 0, tzinfo=UTC))
    keys = [m.plan_key for m in await meetings_of(sessions, world.melati)]
    assert keys == ["2026-12", "2027-01"]  # 12 January 2027 is now within 45 days
    assert report.created >= 1


async def test_a_meeting_on_a_public_holiday_is_planned_and_the_pendamping_told_once(
    sessions, world
) -> None:
    christmas = await only_meeting(sessions, world.anggrek)
    assert christmas.meeting_date == date(2026, 12, 25)
    await plan_meetings(sessions, now=PLANNED_AT + timedelta(hours=2))
    notices = await outbox(sessions, "holiday:")
    assert len(notices) == 1
    notice = notices[0]
    assert notice.dedupe_key == f"holiday:{christmas.id}"
    assert (notice.channel, notice.address) == (Channel.TELEGRAM, "telegram:1001")  # Ani
    assert notice.priority == Priority.ALERT
    assert notice.payload["key"] == "planner.holiday"
    assert notice.payload["values"] == {
        "kelompok": "Kelompok Anggrek",
        "date": "Jumat, 25 Desember 2026",
        "holiday": "Hari Raya Natal",
        "next_day": "Senin, 28 Desember 2026",
    }
    assert notice.payload["options"][0]["value"] == f"move:{christmas.id}:2026-12-28"


async def test_a_holiday_notice_asked_at_night_waits_for_the_morning(sessions) -> None:
    await build(sessions)
    night = local(date(2026, 11, 22), 23, offset=WIT)  # 23.00 in Papua
    await plan_meetings(sessions, now=night)
    [notice] = await outbox(sessions, "holiday:")
    assert notice.next_attempt_at == local(date(2026, 11, 23), 6, offset=WIT)


# --- reminders ---------------------------------------------------------------------------------


async def test_reminders_go_to_each_reachable_member_on_their_channel(sessions, world) -> None:
    melati = await only_meeting(sessions, world.melati)
    report = await enqueue_reminders(sessions, now=datetime(2026, 12, 1, 3, tzinfo=UTC),
                                     **REMINDERS)
    rows = await outbox(sessions, f"reminder:{melati.id}:")
    by_address = {(row.channel, row.address) for row in rows}
    kpm = world.kpm
    assert by_address == {
        (Channel.WHATSAPP, "whatsapp:+6281299000001"),  # Siti
        (Channel.SMS, "sms:+6281299000002"),  # Sri prefers SMS
        (Channel.TELEGRAM, "telegram:5003"),  # Nur linked Telegram
        (Channel.WHATSAPP, "whatsapp:+6281299000004"),  # Dewi: Telegram not linked
        (Channel.TELEGRAM, "telegram:-100200"),  # the group chat
    }
    assert len(rows) == 10  # (4 members + the group) x 2 offsets
    # only the WhatsApp rows carry the template's variables (one payload per meeting in)
    for row in rows:
        variables = row.payload.get("template_variables")
        assert (variables is not None) == (row.channel is Channel.WHATSAPP), row.address
        if variables is not None:
            assert list(variables) == ["1", "2", "3", "4", "5", "6"]
            assert variables["1"] == row.payload["values"]["penerima"]
            assert variables["2"] == row.payload["values"]["kelompok"]
    keys = {row.dedupe_key.rsplit(":", 1)[1] for row in rows}
    assert keys == {str(kpm[name]) for name in ("Siti", "Sri", "Nur", "Dewi")} | {"group"}
    assert report.enqueued == 10
    assert report.group_messages == 2
    assert report.unreachable == 1  # Tuti has no phone and no chat


async def test_opted_out_and_inactive_kpm_get_no_reminder(sessions, world) -> None:
    await enqueue_reminders(sessions, now=datetime(2026, 12, 1, 3, tzinfo=UTC), **REMINDERS)
    keys = [row.dedupe_key for row in await outbox(sessions, "reminder:")]
    for name in ("Wati", "Yuli", "Eni", "Tuti"):
        assert not any(key.endswith(f":{world.kpm[name]}") for key in keys), name


async def test_reminders_are_due_three_days_and_one_day_before_at_16_local(
    sessions, world
) -> None:
    melati = await only_meeting(sessions, world.melati)
    await enqueue_reminders(sessions, now=datetime(2026, 12, 1, 3, tzinfo=UTC), **REMINDERS)
    rows = await outbox(sessions, f"reminder:{melati.id}:")
    assert {row.next_attempt_at for row in rows} == {
        local(date(2026, 12, 5), 16),
        local(date(2026, 12, 7), 16),
    }
    siti = next(row for row in rows if row.address == "whatsapp:+6281299000001")
    assert siti.kind == "meeting_reminder"
    assert siti.priority == Priority.REMINDER
    assert siti.deadline_at == melati.starts_at
    assert siti.status is OutboxStatus.PENDING
    assert siti.payload == {
        "key": "reminder.kpm",
        "values": {  # to Ibu Siti by name; the time with its zone; signed by Ani
            "penerima": "Ibu Siti",
            "kelompok": "Kelompok Melati",
            "date": "Selasa, 8 Desember 2026",
            "time": "09.00 WIB",
            "place": "Balai Desa",
            "pendamping": "Ani",
        },
        "template_variables": {
            "1": "Ibu Siti",
            "2": "Kelompok Melati",
            "3": "Selasa, 8 Desember 2026",
            "4": "09.00 WIB",
            "5": "Balai Desa",
            "6": "Ani",
        },
        "meeting_id": melati.id,
        "rsvp": True,
        "zone": "Asia/Jakarta",
    }


async def test_the_group_chat_gets_one_message_without_personal_data(sessions, world) -> None:
    await enqueue_reminders(sessions, now=datetime(2026, 12, 1, 3, tzinfo=UTC), **REMINDERS)
    rows = await outbox(sessions, "reminder:")
    group = [row for row in rows if row.address == "telegram:-100200"]
    assert len(group) == 2  # one per offset
    assert all(row.dedupe_key.endswith(":group") for row in group)
    assert {row.payload["key"] for row in group} == {"reminder.group"}
    # no KPM's data: the meeting, and the pendamping who signs it (staff, known to all)
    assert group[0].payload["values"] == {**group[0].payload["values"],
                                          "penerima": "anggota Kelompok Melati"}
    assert set(group[0].payload["values"]) == {
        "kelompok", "date", "time", "place", "pendamping", "penerima"
    }
    assert group[0].payload["rsvp"] is False


async def test_reminders_are_local_to_each_zone(sessions, world) -> None:
    await enqueue_reminders(sessions, now=PLANNED_AT, **REMINDERS)
    cempaka = (await meetings_of(sessions, world.cempaka))[0]  # 24 November, WITA
    anggrek = (await meetings_of(sessions, world.anggrek))[0]  # 27 November, WIT
    cempaka_times = {r.next_attempt_at for r in await outbox(sessions, f"reminder:{cempaka.id}:")}
    anggrek_times = {r.next_attempt_at for r in await outbox(sessions, f"reminder:{anggrek.id}:")}
    # Cempaka's 3-day reminder (21 November) was due before the meeting was planned.
    assert cempaka_times == {local(date(2026, 11, 23), 16, offset=WITA)}
    assert anggrek_times == {
        local(date(2026, 11, 24), 16, offset=WIT),
        local(date(2026, 11, 26), 16, offset=WIT),
    }


async def test_running_again_or_after_a_restart_enqueues_nothing_twice(sessions, world) -> None:
    first = await enqueue_reminders(sessions, now=datetime(2026, 12, 1, 3, tzinfo=UTC),
                                    **REMINDERS)
    again = await enqueue_reminders(sessions, now=datetime(2026, 12, 1, 3, 5, tzinfo=UTC),
                                    **REMINDERS)
    # After the first reminders went out, the process restarts and sweeps again.
    async with sessions.begin() as session:
        await session.execute(
            update(Outbox)
            .where(Outbox.next_attempt_at <= local(date(2026, 12, 5), 16))
            .values(status=OutboxStatus.SENT)
        )
    restarted = await enqueue_reminders(sessions, now=local(date(2026, 12, 6), 8), **REMINDERS)
    assert first.enqueued == 10  # Melati only: Cempaka meets on 29 December
    assert again.enqueued == 0
    assert restarted.enqueued == 0
    assert len(await outbox(sessions, "reminder:")) == first.enqueued


async def test_a_sweep_in_parts_kept_aside_enqueues_what_one_part_does(
    sessions, world, monkeypatch
) -> None:
    """A province's sweep reads its meetings a part at a time and keeps each part in a
    temporary file until all are counted: the very rows one part makes, payloads,
    readers, template variables and times included."""
    now = datetime(2026, 12, 1, 3, tzinfo=UTC)  # Melati on 8 December, Cempaka on 29

    async def swept() -> list[tuple[Any, ...]]:
        report = await enqueue_reminders(sessions, now=now, lookahead_days=30, **REMINDERS)
        rows = await outbox(sessions, "reminder:")
        assert report.enqueued == len(rows)
        async with sessions.begin() as session:
            await session.execute(delete(Outbox).where(Outbox.dedupe_key.startswith("reminder:")))
        return sorted((row.dedupe_key, row.channel, row.address, row.payload, row.status,
                       row.error, row.next_attempt_at, row.deadline_at) for row in rows)

    whole = await swept()
    monkeypatch.setattr(reminders, "MEETINGS_PER_PART", 1)
    kept_aside: list[int] = []
    add = reminders._Kept.add

    def counted(kept: reminders._Kept, due: Any) -> None:
        kept_aside.append(len(due.versions))
        add(kept, due)

    monkeypatch.setattr(reminders._Kept, "add", counted)
    assert await swept() == whole
    meetings = {key.split(":")[1] for key, *_ in whole}
    assert len(meetings) >= 2  # Melati's and Cempaka's, at least
    assert kept_aside == [1] * len(meetings)  # a part each, all kept aside, then written
    assert any(payload.get("template_variables") for *_, payload, _, _, _, _ in whole)


async def test_a_member_who_joins_after_the_sweep_is_reminded_by_the_next(
    sessions, world
) -> None:
    melati = await only_meeting(sessions, world.melati)
    await enqueue_reminders(sessions, now=datetime(2026, 12, 1, 3, tzinfo=UTC), **REMINDERS)
    async with sessions.begin() as session:
        newcomer = _kpm(50, "Rina", world.melati)
        session.add(newcomer)
        await session.flush()
        newcomer_id = newcomer.id
    report = await enqueue_reminders(sessions, now=datetime(2026, 12, 2, 3, tzinfo=UTC),
                                     **REMINDERS)
    rows = await outbox(sessions, f"reminder:{melati.id}:")
    assert report.enqueued == 2
    assert len(rows) == 12
    assert sum(row.dedupe_key.endswith(f":{newcomer_id}") for row in rows) == 2


async def test_a_missed_sweep_an_hour_late_still_enqueues_the_reminder(sessions, world) -> None:
    melati = await only_meeting(sessions, world.melati)
    an_hour_late = local(date(2026, 12, 5), 17)
    report = await enqueue_reminders(sessions, now=an_hour_late, **REMINDERS)
    rows = await outbox(sessions, f"reminder:{melati.id}:")
    late = [row for row in rows if row.dedupe_key.split(":")[3] == "3"]
    assert len(late) == 5
    assert {row.next_attempt_at for row in late} == {an_hour_late}
    assert report.skipped_offsets == 0


async def test_of_two_missed_reminders_only_the_last_is_sent(sessions, world) -> None:
    melati = await only_meeting(sessions, world.melati)
    now = local(date(2026, 12, 7), 17)
    report = await enqueue_reminders(sessions, now=now, **REMINDERS)
    rows = await outbox(sessions, f"reminder:{melati.id}:")
    assert {row.dedupe_key.split(":")[3] for row in rows} == {"1"}
    assert {row.next_attempt_at for row in rows} == {now}
    assert report.skipped_offsets >= 1


async def test_a_reminder_missed_until_quiet_hours_waits_for_the_morning(sessions, world) -> None:
    melati = await only_meeting(sessions, world.melati)
    await enqueue_reminders(sessions, now=local(date(2026, 12, 7), 22), **REMINDERS)
    rows = await outbox(sessions, f"reminder:{melati.id}:")
    assert len(rows) == 5
    assert {row.next_attempt_at for row in rows} == {local(date(2026, 12, 8), 6)}


async def test_a_reminder_time_in_quiet_hours_is_moved_earlier(sessions, world) -> None:
    melati = await only_meeting(sessions, world.melati)
    settings = {**REMINDERS, "reminder_time": time(22, 0)}
    await enqueue_reminders(sessions, now=datetime(2026, 12, 1, 3, tzinfo=UTC), **settings)
    rows = await outbox(sessions, f"reminder:{melati.id}:")
    assert {row.next_attempt_at for row in rows} == {
        local(date(2026, 12, 5), 20, 30),
        local(date(2026, 12, 7), 20, 30),
    }


async def test_a_reminder_that_would_come_after_the_start_is_not_sent(sessions, world) -> None:
    melati = await only_meeting(sessions, world.melati)
    settings = {**REMINDERS, "offsets_days": [0]}  # 16.00 on the day of a 09.00 meeting
    report = await enqueue_reminders(sessions, now=datetime(2026, 12, 1, 3, tzinfo=UTC),
                                     **settings)
    assert await outbox(sessions, f"reminder:{melati.id}:") == []
    assert report.skipped_offsets >= 1


# --- a meeting moved or cancelled --------------------------------------------------------------


async def _staff(session: AsyncSession, staff_id: int) -> Staff:
    staff = await session.get(Staff, staff_id)
    assert staff is not None
    return staff


async def _sent_first_reminders(sessions: async_sessionmaker[AsyncSession]) -> None:
    """The sweep enqueued Melati's reminders; the dispatcher sent Siti's 3-day one."""
    await enqueue_reminders(sessions, now=datetime(2026, 12, 1, 3, tzinfo=UTC), **REMINDERS)
    async with sessions.begin() as session:
        await session.execute(
            update(Outbox)
            .where(Outbox.address == "whatsapp:+6281299000001",
                   Outbox.next_attempt_at == local(date(2026, 12, 5), 16))
            .values(status=OutboxStatus.SENT)
        )


async def test_moving_a_meeting_withdraws_pending_reminders_and_sends_a_notice(
    sessions, world
) -> None:
    melati = await only_meeting(sessions, world.melati)
    await _sent_first_reminders(sessions)
    now = local(date(2026, 12, 6), 7)
    async with sessions.begin() as session:
        staff = await _staff(session, world.ani)
        await move_meeting(session, staff, world.melati, melati.id, day=date(2026, 12, 10),
                           at=time(13, 0), place=None, now=now)
        report = await meeting_changed(session, melati.id, now=now, cancelled=False)
    rows = await outbox(sessions, f"reminder:{melati.id}:")
    assert sum(row.status is OutboxStatus.CANCELLED for row in rows) == 9
    assert report.withdrawn == 9
    notices = await outbox(sessions, f"changed:{melati.id}:")
    # Everyone whose 3-day reminder went or was due: four members and the group chat.
    assert report.notices == len(notices) == 5
    assert {n.payload["key"] for n in notices} == {"reminder.changed"}
    assert notices[0].kind == "meeting_changed"
    assert notices[0].payload["values"]["date"] == "Kamis, 10 Desember 2026"
    assert notices[0].payload["values"]["time"] == "13.00 WIB"
    assert {n.next_attempt_at for n in notices} == {now}


async def test_the_next_sweep_re_times_the_reminders_of_a_moved_meeting(sessions, world) -> None:
    melati = await only_meeting(sessions, world.melati)
    await _sent_first_reminders(sessions)
    now = local(date(2026, 12, 6), 7)
    async with sessions.begin() as session:
        staff = await _staff(session, world.ani)
        await move_meeting(session, staff, world.melati, melati.id, day=date(2026, 12, 10),
                           at=time(13, 0), place=None, now=now)
        await meeting_changed(session, melati.id, now=now, cancelled=False)
    report = await enqueue_reminders(sessions, now=now + timedelta(minutes=5), **REMINDERS)
    pending = [r for r in await outbox(sessions, f"reminder:{melati.id}:")
               if r.status is OutboxStatus.PENDING]
    assert report.enqueued == 10
    assert {r.next_attempt_at for r in pending} == {
        local(date(2026, 12, 7), 16),
        local(date(2026, 12, 9), 16),
    }
    assert {r.payload["values"]["date"] for r in pending} == {"Kamis, 10 Desember 2026"}


async def test_a_meeting_moved_within_three_days_gets_only_the_later_reminder(
    sessions, world
) -> None:
    melati = await only_meeting(sessions, world.melati)
    await _sent_first_reminders(sessions)
    now = local(date(2026, 12, 6), 7)
    async with sessions.begin() as session:
        staff = await _staff(session, world.ani)
        await move_meeting(session, staff, world.melati, melati.id, day=date(2026, 12, 8),
                           at=time(13, 0), place=None, now=now)
        await meeting_changed(session, melati.id, now=now, cancelled=False)
    await enqueue_reminders(sessions, now=now + timedelta(minutes=5), **REMINDERS)
    pending = [r for r in await outbox(sessions, f"reminder:{melati.id}:")
               if r.status is OutboxStatus.PENDING]
    assert {r.dedupe_key.split(":")[3] for r in pending} == {"1"}
    assert {r.payload["values"]["time"] for r in pending} == {"13.00 WIB"}


async def test_moving_a_meeting_away_and_back_restores_its_reminders(sessions, world) -> None:
    melati = await only_meeting(sessions, world.melati)
    await enqueue_reminders(sessions, now=datetime(2026, 12, 1, 3, tzinfo=UTC), **REMINDERS)
    now = datetime(2026, 12, 2, 3, tzinfo=UTC)
    for day in (date(2026, 12, 9), date(2026, 12, 8)):
        async with sessions.begin() as session:
            staff = await _staff(session, world.ani)
            await move_meeting(session, staff, world.melati, melati.id, day=day, at=None,
                               place=None, now=now)
            report = await meeting_changed(session, melati.id, now=now, cancelled=False)
    assert report.restored == 10
    pending = [r for r in await outbox(sessions, f"reminder:{melati.id}:")
               if r.status is OutboxStatus.PENDING]
    assert len(pending) == 10
    assert await outbox(sessions, "changed:") == []  # no reminder had gone out yet


async def test_reminders_read_before_a_move_are_not_written_after_it(sessions, world) -> None:
    melati = await only_meeting(sessions, world.melati)
    now = datetime(2026, 12, 1, 3, tzinfo=UTC)
    async with sessions() as session:
        due = await reminders._read_due(
            session, now=now, until=now + timedelta(days=8), offsets=[3, 1],
            reminder_time=time(16, 0), quiet=(time(21, 0), time(6, 0)),
        )
    async with sessions.begin() as session:  # the pendamping moves it meanwhile
        staff = await _staff(session, world.ani)
        await move_meeting(session, staff, world.melati, melati.id, day=date(2026, 12, 9),
                           at=None, place=None, now=now)
        await meeting_changed(session, melati.id, now=now, cancelled=False)
    messages = reminders._messages(due.batches)
    enqueued, stale = await reminders._write(sessions, messages, due.versions, now=now)
    assert (enqueued, stale) == (0, 10)
    assert await outbox(sessions, f"reminder:{melati.id}:") == []


async def test_cancelling_a_meeting_withdraws_its_reminders_for_good(sessions, world) -> None:
    melati = await only_meeting(sessions, world.melati)
    await _sent_first_reminders(sessions)
    now = local(date(2026, 12, 6), 7)
    async with sessions.begin() as session:
        await session.execute(
            update(Meeting).where(Meeting.id == melati.id)
            .values(status=MeetingStatus.CANCELLED, updated_at=now)
        )
        report = await meeting_changed(session, melati.id, now=now, cancelled=True)
    assert report.withdrawn == 9
    notices = await outbox(sessions, f"changed:{melati.id}:")
    assert {n.payload["key"] for n in notices} == {"reminder.cancelled"}
    assert len(notices) == 5
    later = await enqueue_reminders(sessions, now=now + timedelta(hours=1), **REMINDERS)
    assert later.enqueued == 0
    rows = await outbox(sessions, f"reminder:{melati.id}:")
    assert [r.address for r in rows if r.status is OutboxStatus.PENDING] == []


# --- nudges ------------------------------------------------------------------------------------


async def test_the_pendamping_is_nudged_on_the_morning_of_a_meeting(sessions, world) -> None:
    melati = await only_meeting(sessions, world.melati)
    evening_before = local(date(2026, 12, 7), 17)
    report = await enqueue_nudges(sessions, now=evening_before, morning_time=time(6, 30))
    again = await enqueue_nudges(sessions, now=local(date(2026, 12, 8), 7),
                                 morning_time=time(6, 30))
    nudge, *reach = await outbox(sessions, f"nudge-today:{melati.id}:")
    assert [r.payload["key"] for r in reach] == ["nudge.reach"] * report.reach
    assert (nudge.address, nudge.kind) == ("telegram:1001", "pendamping_nudge")
    assert nudge.priority == Priority.NUDGE
    assert nudge.next_attempt_at == local(date(2026, 12, 8), 6, 30)
    assert nudge.deadline_at == melati.starts_at
    assert nudge.payload["key"] == "nudge.today"
    assert nudge.payload["values"] == {
        "kelompok": "Kelompok Melati",
        "date": "Selasa, 8 Desember 2026",
        "time": "09.00",
        "place": "Balai Desa",
    }
    assert report.today == 1
    assert again.enqueued == 0


async def test_no_morning_nudge_once_the_meeting_has_begun(sessions, world) -> None:
    await enqueue_nudges(sessions, now=local(date(2026, 12, 8), 9, 30), morning_time=time(6, 30))
    assert await outbox(sessions, "nudge-today:") == []


async def test_a_meeting_without_attendance_a_day_later_nudges_the_pendamping(
    sessions, world
) -> None:
    cempaka = (await meetings_of(sessions, world.cempaka))[0]  # 24 November 09.00 WITA
    anggrek = (await meetings_of(sessions, world.anggrek))[0]  # 27 November 09.00 WIT
    async with sessions.begin() as session:
        await session.execute(
            update(Meeting).where(Meeting.id == anggrek.id)
            .values(status=MeetingStatus.HELD, attendance_recorded_at=anggrek.starts_at)
        )
    too_soon = await enqueue_nudges(sessions, now=cempaka.starts_at + timedelta(hours=23),
                                    morning_time=time(6, 30))
    assert too_soon.no_attendance == 0
    day_later = cempaka.starts_at + timedelta(hours=24, minutes=5)
    await enqueue_nudges(sessions, now=day_later, morning_time=time(6, 30))
    await enqueue_nudges(sessions, now=anggrek.starts_at + timedelta(hours=25),
                         morning_time=time(6, 30))
    rows = await outbox(sessions, "nudge-attendance:")
    assert [r.dedupe_key for r in rows] == [f"nudge-attendance:{cempaka.id}"]
    assert rows[0].address == "whatsapp:+6281100000002"  # Budi
    assert rows[0].payload["values"] == {
        "kelompok": "Kelompok Cempaka",
        "date": "Selasa, 24 November 2026",
    }


async def test_a_case_s_follow_up_date_nudges_its_pendamping(sessions, world) -> None:
    async with sessions.begin() as session:
        cases = [
            CaseNote(kpm_id=world.kpm["Siti"], staff_id=world.ani, category="kks_bermasalah",
                     description="-", severity=CaseSeverity.BIASA,
                     follow_up_date=date(2026, 12, 3)),
            CaseNote(kpm_id=world.kpm["Sri"], staff_id=world.ani, category="kks_bermasalah",
                     description="-", severity=CaseSeverity.BIASA, status=CaseStatus.SELESAI,
                     follow_up_date=date(2026, 12, 3)),
            CaseNote(kpm_id=world.kpm["Nur"], staff_id=world.ani, category="kks_bermasalah",
                     description="-", severity=CaseSeverity.BIASA,
                     follow_up_date=date(2026, 12, 4)),
        ]
        session.add_all(cases)
        await session.flush()
        due_id = cases[0].id
    # 03.00 WIB on 3 December: the nudge waits for the morning.
    report = await enqueue_nudges(sessions, now=local(date(2026, 12, 3), 3),
                                  morning_time=time(6, 30))
    [nudge] = await outbox(sessions, "nudge-case:")
    assert nudge.dedupe_key == f"nudge-case:{due_id}:2026-12-03"
    assert nudge.next_attempt_at == local(date(2026, 12, 3), 6, 30)
    assert nudge.payload["key"] == "nudge.follow_up"
    assert nudge.payload["values"]["category"] == "kks_bermasalah"
    assert nudge.payload["case_id"] == due_id
    assert report.follow_ups == 1


async def test_a_pendamping_without_a_linked_chat_is_counted_not_messaged(
    sessions, world
) -> None:
    async with sessions.begin() as session:
        await session.execute(
            update(ChannelIdentity).where(ChannelIdentity.staff_id == world.ani)
            .values(opted_out_at=PLANNED_AT)
        )
    report = await enqueue_nudges(sessions, now=local(date(2026, 12, 7), 17),
                                  morning_time=time(6, 30))
    assert report.today == 1
    assert report.unreachable == 1 + report.reach  # the meeting's nudge and its reach line
    assert report.enqueued == 0


# --- capacity ----------------------------------------------------------------------------------


async def _big_group(sessions: async_sessionmaker[AsyncSession], world: World) -> None:
    """Ten more WhatsApp members meeting with Melati's rule: 12 WhatsApp reminders a slot."""
    async with sessions.begin() as session:
        kelompok = await session.get(Kelompok, world.melati)
        assert kelompok is not None
        big = Kelompok(name="Kelompok Besar", name_key="kelompok besar",
                       desa_id=kelompok.desa_id, pendamping_id=world.ani, rule_weekday=TUESDAY,
                       rule_week_of_month=2, rule_time=time(9, 0), place="Masjid")
        session.add(big)
        await session.flush()
        session.add_all([_kpm(100 + n, f"Besar {n}", big.id) for n in range(10)])
    await plan_meetings(sessions, now=PLANNED_AT)


async def test_a_batch_too_big_for_the_channel_rate_starts_earlier(sessions, world) -> None:
    await _big_group(sessions, world)
    one_an_hour = {Channel.WHATSAPP: 1 / 3600}
    report = await enqueue_reminders(sessions, now=datetime(2026, 12, 1, 3, tzinfo=UTC),
                                     rates=one_an_hour, **REMINDERS)
    whatsapp = [r for r in await outbox(sessions, "reminder:") if r.channel is Channel.WHATSAPP
                and r.dedupe_key.split(":")[3] == "1"]
    # 12 messages at one an hour must end by 21.00 (quiet hours): from 09.00.
    assert sorted(r.next_attempt_at for r in whatsapp) == [
        local(date(2026, 12, 7), hour) for hour in (9, 10, 11, 12, 13, 14, 15, 16, 16, 16, 16, 16)
    ]
    assert report.moved_earlier == 14  # seven in each of the two slots
    assert report.shortfall == {}


async def test_a_shortfall_is_logged_and_reported_when_even_now_is_too_late(
    sessions, world, caplog
) -> None:
    await _big_group(sessions, world)
    noon = local(date(2026, 12, 7), 12)
    with caplog.at_level(logging.WARNING, logger="scheduler.reminders"):
        report = await enqueue_reminders(sessions, now=noon, rates={Channel.WHATSAPP: 1 / 3600},
                                         **REMINDERS)
    # 12 hours of sending, 9 hours left before quiet hours: three cannot make it.
    assert report.shortfall == {"whatsapp": 3}
    assert any("3 whatsapp messages" in record.getMessage() for record in caplog.records)
    whatsapp = [r for r in await outbox(sessions, "reminder:") if r.channel is Channel.WHATSAPP]
    assert min(r.next_attempt_at for r in whatsapp) == noon
    assert all("+62" not in record.getMessage() for record in caplog.records)


async def test_the_sweep_says_once_how_many_reminders_wait_for_a_channel_not_configured(
    db_url, sessions, world, caplog
) -> None:
    """Telegram only: the WhatsApp and SMS reminders are queued (another process, or a
    later configuration, may send them) and one line per channel says so, with the count
    and without any number or name."""
    from bot.bootstrap import build_app
    from bot.config import Settings
    from bot.jobs import reminders_sweep
    from models.rules.clock import FixedClock

    settings = Settings(database={"url": db_url}, telegram={"token": "123456:TEST-TOKEN"})
    app = build_app(settings, clock=FixedClock(datetime(2026, 12, 1, 3, tzinfo=UTC)))
    try:
        with caplog.at_level(logging.WARNING, logger="bot.jobs"):
            await reminders_sweep(app)
    finally:
        await app.close()
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.jobs"]
    assert lines == [
        "reminders: 2 new messages for sms, which is not configured; they wait in the outbox "
        "until it is, and fail at their deadline if it never is",
        "reminders: 4 new messages for whatsapp, which is not configured; they wait in the "
        "outbox until it is, and fail at their deadline if it never is",
    ]
    assert not any("+62" in line or "Siti" in line for line in lines)
    statuses = {row.channel: row.status for row in await outbox(sessions, "reminder:")}
    assert statuses[Channel.WHATSAPP] is OutboxStatus.PENDING


async def test_a_regional_sender_s_batches_are_planned_at_its_own_rate(sessions, world) -> None:
    """With regional senders the sweep plans each sender's batches at that sender's rate:
    the channel's own sender is fast, but the kelompok's region goes from a slow one."""
    await _big_group(sessions, world)
    noon = local(date(2026, 12, 7), 12)
    asked: list[tuple[Channel, str | None]] = []

    def senders(channel: Channel, region: str | None) -> tuple[str, float]:
        asked.append((channel, region))
        return ("jateng", 1 / 3600) if channel is Channel.WHATSAPP else ("", 0.0)

    report = await enqueue_reminders(sessions, now=noon, rates={Channel.WHATSAPP: 80.0},
                                     senders=senders, **REMINDERS)
    assert report.shortfall == {"whatsapp/jateng": 3}
    assert {region for _, region in asked} == {"33"}  # the most specific code the world has
    assert len(asked) == len(set(asked))  # asked once per channel and region
