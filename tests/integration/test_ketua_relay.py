"""The ketua kelompok's list of members no reminder reaches, and the text to forward to
the kelompok's WhatsApp group: who is on it, when it goes, once, and withdrawn when the
meeting moves (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from handlers.i18n import Translator
from models.enums import Channel, OutboxStatus
from models.meeting_changes import meeting_version
from models.reach import FAILED, NO_CONTACT, Unreachable, unreachable_members
from models.tables import Kelompok, Kpm, Meeting
from tests.ketua_world import (
    FIRST_REMINDER,
    LISTED,
    MEETING_AT,
    build_ketua_world,
    done_row,
    ketua_rows,
    sweep_ketua,
)

t = Translator()


async def test_unreachable_members_are_those_without_a_way_in_never_those_who_said_stop(
    sessions,
) -> None:
    kw = await build_ketua_world(sessions)
    async with sessions() as session:
        found = await unreachable_members(session, [kw.meeting, kw.meeting])
        nothing = await unreachable_members(session, [])
    assert nothing == {}
    assert found == {
        kw.meeting: [
            Unreachable(kw.kpm("Nur Hasanah"), "Nur Hasanah", FAILED),
            Unreachable(kw.kpm("Siti Aminah"), "Siti Aminah", NO_CONTACT),
            Unreachable(kw.kpm("Siti Rahayu"), "Siti Rahayu", NO_CONTACT),
        ]
    }


async def test_a_message_that_went_out_after_the_failure_makes_the_member_reachable(
    sessions,
) -> None:
    kw = await build_ketua_world(sessions)
    async with sessions.begin() as session:  # Nur's number works again (a new SIM...)
        phone = (await session.get(Kpm, kw.kpm("Nur Hasanah"))).phone
        session.add(done_row(f"sms:{phone}", OutboxStatus.DELIVERED,
                          datetime(2026, 11, 12, 9, tzinfo=UTC)))
    async with sessions() as session:
        found = await unreachable_members(session, [kw.meeting])
    assert [member.name for member in found[kw.meeting]] == ["Siti Aminah", "Siti Rahayu"]


async def test_the_ketua_gets_one_list_and_one_text_to_forward_with_the_first_reminder(
    sessions,
) -> None:
    kw = await build_ketua_world(sessions)
    early = await sweep_ketua(sessions, FIRST_REMINDER - timedelta(minutes=5))
    assert (early.due, await ketua_rows(sessions)) == (0, [])  # not before the first reminder

    report = await sweep_ketua(sessions, FIRST_REMINDER)
    assert (report.due, report.lists, report.forwards, report.listed) == (1, 1, 1, 3)
    listed, forward = await ketua_rows(sessions)
    version = meeting_version(MEETING_AT, "Balai Desa")
    prefix = f"ketua:{kw.meeting}:{version}:{kw.ketua}:"
    assert (listed.dedupe_key, forward.dedupe_key) == (f"{prefix}list", f"{prefix}forward")
    for row in (listed, forward):
        assert (row.channel, row.address, row.status) == (
            Channel.WHATSAPP, kw.ketua_address, OutboxStatus.PENDING
        )
        assert (row.kind, row.next_attempt_at, row.deadline_at) == (
            "meeting_reminder", FIRST_REMINDER, MEETING_AT
        )
        assert row.error is None  # it fits its WhatsApp template
    text = t(listed.payload["key"], **listed.payload["values"])
    assert text.startswith("Yth. Ibu Dewi Lestari, ketua Kelompok Melati: pertemuan hari Kamis")
    assert "Ada 3 anggota yang belum bisa kami hubungi langsung: " + ", ".join(LISTED) in text
    assert '"hadir semua"' in text and '"Nur tidak bisa, sakit"' in text
    for stopped in ("Sumarni", "Kurniasih", "Suparmi", "Yuli Astuti", "Ratna Sari"):
        assert stopped not in text
    assert listed.payload["template_variables"]["7"] == ", ".join(LISTED)
    shared = t(forward.payload["key"], **forward.payload["values"])
    assert shared == t(
        "ketua.forward", kelompok="Kelompok Melati", date="Kamis, 26 November 2026",
        time="09.00 WIB", place="Balai Desa", ketua="Ibu Dewi Lestari",
        pendamping="Ani Suryani",
    )
    async with sessions() as session:
        ketua = await session.get(Kpm, kw.ketua)
    assert ketua.nik not in shared and ketua.phone not in shared and "+62" not in shared

    again = await sweep_ketua(sessions, FIRST_REMINDER + timedelta(minutes=5))
    assert (again.lists, again.forwards) == (0, 0)
    later = await sweep_ketua(sessions, datetime(2026, 11, 25, 9, tzinfo=UTC))  # 1-day reminder
    assert (later.lists, later.forwards) == (0, 0)
    assert len(await ketua_rows(sessions)) == 2


async def test_with_everyone_reachable_the_ketua_gets_only_the_text_to_forward(sessions) -> None:
    kw = await build_ketua_world(sessions)
    async with sessions.begin() as session:
        await session.execute(
            update(Kpm).where(Kpm.kelompok_id == kw.world.melati, Kpm.phone.is_(None))
            .values(phone="+6281299990000")
        )
        await session.execute(
            update(Kpm).where(Kpm.id == kw.kpm("Nur Hasanah")).values(phone="+6281299990001")
        )
    report = await sweep_ketua(sessions, FIRST_REMINDER)
    assert (report.lists, report.forwards) == (0, 1)
    (forward,) = await ketua_rows(sessions)
    assert forward.dedupe_key.endswith(":forward")


async def test_no_ketua_or_a_ketua_nobody_can_reach_gets_nothing(sessions) -> None:
    kw = await build_ketua_world(sessions, ketua=False)
    assert (await sweep_ketua(sessions, FIRST_REMINDER)).due == 0
    async with sessions.begin() as session:  # the ketua is one of the unreachable
        await session.execute(
            update(Kelompok).where(Kelompok.id == kw.world.melati)
            .values(ketua_kpm_id=kw.kpm("Nur Hasanah"))
        )
    report = await sweep_ketua(sessions, FIRST_REMINDER)
    assert (report.due, report.ketua_unreachable, report.lists) == (1, 1, 0)
    assert await ketua_rows(sessions) == []


async def test_a_meeting_moved_in_chat_withdraws_the_ketua_messages_and_new_ones_follow(
    sessions,
) -> None:
    from handlers.parsing.dates import format_date_id
    from models.rules.clock import FixedClock
    from tests.world import Chat, make_engine

    kw = await build_ketua_world(sessions)
    await sweep_ketua(sessions, FIRST_REMINDER)
    clock = FixedClock(FIRST_REMINDER + timedelta(minutes=30))
    ani = Chat(make_engine(sessions, clock), clock, "console:ani")
    await ani.send("/jadwal Melati")
    await ani.send(choice=ani.option(t("schedule.option_move")))
    await ani.send("27/11")
    await ani.send(choice=ani.option(t("schedule.option_same_place")))
    friday = format_date_id(datetime(2026, 11, 27).date())
    assert ani.text == t(
        "schedule.moved", name="Kelompok Melati", date=friday, place=t("schedule.same_place")
    )
    old = await ketua_rows(sessions)
    assert [(row.status, row.error) for row in old] == [
        (OutboxStatus.CANCELLED, "withdrawn: the meeting changed")
    ] * 2
    async with sessions() as session:
        moved = await session.get(Meeting, kw.meeting)
    assert moved.starts_at == MEETING_AT + timedelta(days=1)
    # the new first reminder: Tuesday 24 November, 16.00 WIB
    assert (await sweep_ketua(sessions, datetime(2026, 11, 24, 8, tzinfo=UTC))).forwards == 0
    report = await sweep_ketua(sessions, datetime(2026, 11, 24, 9, tzinfo=UTC))
    assert (report.lists, report.forwards) == (1, 1)
    new = (await ketua_rows(sessions))[2:]
    version = meeting_version(moved.starts_at, "Balai Desa")
    assert [row.dedupe_key.split(":")[2] for row in new] == [version, version]
    assert {row.status for row in new} == {OutboxStatus.PENDING}


async def test_a_meeting_moved_away_and_back_gets_its_ketua_messages_back(sessions) -> None:
    from models.rules.clock import FixedClock
    from tests.world import Chat, make_engine

    kw = await build_ketua_world(sessions)
    await sweep_ketua(sessions, FIRST_REMINDER)
    clock = FixedClock(FIRST_REMINDER + timedelta(minutes=30))
    ani = Chat(make_engine(sessions, clock), clock, "console:ani")
    for day in ("27/11", "26/11"):  # away, and back to the time the messages were for
        await ani.send("/jadwal Melati")
        await ani.send(choice=ani.option(t("schedule.option_move")))
        await ani.send(day)
        await ani.send(choice=ani.option(t("schedule.option_same_place")))
    async with sessions() as session:
        assert (await session.get(Meeting, kw.meeting)).starts_at == MEETING_AT
    rows = await ketua_rows(sessions)
    assert [(row.status, row.error) for row in rows] == [(OutboxStatus.PENDING, None)] * 2
    report = await sweep_ketua(sessions, FIRST_REMINDER + timedelta(hours=1))
    assert (report.lists, report.forwards) == (0, 0)  # nothing twice
