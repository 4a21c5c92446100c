"""Who held the meeting recorded with /hadir: the pendamping (the default) or the ketua
kelompok alone, said in the typed line or with the confirmation step's option."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.i18n import Translator
from models.enums import Facilitator
from models.rules.clock import FixedClock
from models.tables import AuditLog, Meeting
from tests.e2e.test_attendance_conversation import start_marking
from tests.world import MELATI, NOW, Chat, build_world, make_engine

t = Translator()
BY_KETUA, BY_PENDAMPING = t("attendance.option_by_ketua"), t("attendance.option_by_pendamping")


async def held_by(sessions: async_sessionmaker[AsyncSession], meeting_id: int) -> Facilitator:
    async with sessions() as session:
        meeting = await session.get(Meeting, meeting_id)
        assert meeting is not None
        return meeting.facilitator


def labels(chat: Chat) -> list[str]:
    return [option.label for option in chat.last[-1].options]


async def test_a_meeting_is_facilitated_by_the_pendamping_unless_said(sessions) -> None:
    world = await build_world(sessions)
    clock = FixedClock(NOW)
    chat = Chat(make_engine(sessions, clock), clock, "console:ani")
    await start_marking(chat)
    await chat.send("semua hadir")
    await chat.send("lewati")
    assert t("attendance.facilitator_pendamping") in chat.text
    assert labels(chat) == [t("attendance.option_save"), t("attendance.option_edit"), BY_KETUA]
    await chat.send("simpan")
    assert await held_by(sessions, world.melati_today) is Facilitator.PENDAMPING


async def test_the_typed_line_says_the_ketua_held_it_without_the_pendamping(sessions) -> None:
    world = await build_world(sessions)
    clock = FixedClock(NOW)
    chat = Chat(make_engine(sessions, clock), clock, "console:ani")
    await start_marking(chat)
    await chat.send("semua hadir kecuali 3, oleh ketua")
    members = sorted(MELATI, key=str.lower)
    assert t("attendance.ask_reason", name=members[2]) in chat.text  # the rest read as marks
    await chat.send("izin")
    await chat.send("lewati")
    assert "Hadir 11 · Izin 1 · Sakit 0 · Alpa 0" in chat.text
    assert t("attendance.facilitator_ketua") in chat.text
    assert labels(chat)[-1] == BY_PENDAMPING  # the option now switches back
    await chat.send("simpan")
    assert t("attendance.saved", name="Kelompok Melati", hadir=11, total=12) in chat.text
    assert await held_by(sessions, world.melati_today) is Facilitator.KETUA
    async with sessions() as session:
        detail = await session.scalar(
            select(AuditLog.detail).where(AuditLog.action == "attendance.record")
        )
    assert detail is not None and detail["facilitator"] == "ketua"


async def test_the_words_alone_are_noted_and_the_list_stays(sessions) -> None:
    world = await build_world(sessions)
    clock = FixedClock(NOW)
    chat = Chat(make_engine(sessions, clock), clock, "console:ani")
    await start_marking(chat)
    await chat.send("tanpa pendamping")
    assert t("attendance.facilitator_set_ketua") in chat.text
    assert "hadir 12 dari 12" in chat.text and len(chat.last[-1].toggles) == 10
    await chat.send("tidak hadir: Sumarni (sakit)")
    await chat.send("lewati")
    assert t("attendance.facilitator_ketua") in chat.text
    await chat.send("1")  # Simpan
    assert await held_by(sessions, world.melati_today) is Facilitator.KETUA


async def test_the_confirmation_option_switches_and_typed_words_work_there_too(sessions) -> None:
    world = await build_world(sessions)
    clock = FixedClock(NOW)
    chat = Chat(make_engine(sessions, clock), clock, "console:ani")
    await start_marking(chat)
    await chat.send("semua hadir")
    await chat.send("lewati")
    await chat.send("3")  # the option, by its number
    assert t("attendance.facilitator_ketua") in chat.text and labels(chat)[-1] == BY_PENDAMPING
    await chat.send(choice=chat.option(BY_PENDAMPING))
    assert t("attendance.facilitator_pendamping") in chat.text and labels(chat)[-1] == BY_KETUA
    await chat.send("oleh ketua")  # typed words
    assert t("attendance.facilitator_ketua") in chat.text
    await chat.send("simpan")
    assert await held_by(sessions, world.melati_today) is Facilitator.KETUA


async def test_running_it_again_shows_and_edits_who_held_it(sessions) -> None:
    world = await build_world(sessions)
    clock = FixedClock(NOW)
    chat = Chat(make_engine(sessions, clock), clock, "console:ani")
    await start_marking(chat)
    await chat.send("semua hadir, ketua saja")
    await chat.send("lewati")
    await chat.send("simpan")
    assert await held_by(sessions, world.melati_today) is Facilitator.KETUA

    async def again() -> None:
        await chat.send("/hadir")
        await chat.send(choice=chat.option("Hari ini"))
        await chat.send("5")
        await chat.send("semua hadir")  # says nothing of who held it: kept
        await chat.send("lewati")

    await again()
    assert t("attendance.facilitator_ketua") in chat.text
    await chat.send("simpan")
    assert t("attendance.updated", name="Kelompok Melati", hadir=12, total=12) in chat.text
    assert await held_by(sessions, world.melati_today) is Facilitator.KETUA

    await again()
    await chat.send(choice="by_pendamping")
    await chat.send("simpan")
    assert await held_by(sessions, world.melati_today) is Facilitator.PENDAMPING
