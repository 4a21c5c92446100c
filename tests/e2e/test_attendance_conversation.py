"""Recording attendance by chat, end to end through the engine and the database."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.i18n import Translator
from handlers.messages import Media
from models.enums import MeetingStatus
from models.messaging.tables import Conversation
from models.rules.clock import FixedClock
from models.tables import Attendance, AuditLog, MediaAttachment, Meeting
from tests.world import MELATI, NOW, Chat, build_world, make_engine

t = Translator()


async def marks_of(sessions: async_sessionmaker[AsyncSession], meeting_id: int) -> dict[int, str]:
    async with sessions() as session:
        rows = await session.execute(
            select(Attendance.kpm_id, Attendance.mark).where(Attendance.meeting_id == meeting_id)
        )
        return {kpm_id: mark.value for kpm_id, mark in rows}


async def start_marking(chat: Chat) -> None:
    await chat.send("/hadir")
    assert "Kelompok Melati" in chat.text  # picked by itself: the only group meeting today
    await chat.send(choice=chat.option("Hari ini"))
    await chat.send("5")  # P2K2 session 5
    assert "hadir 12 dari 12" in chat.text


async def record_sumarni_sick(chat: Chat) -> None:
    """Record today's Melati meeting with everyone present but Sumarni (sakit)."""
    await start_marking(chat)
    await chat.send("tidak hadir: Sumarni (sakit)")
    await chat.send("lewati")
    await chat.send("simpan")
    assert t("attendance.saved", name="Kelompok Melati", hadir=11, total=12) in chat.text


async def test_attendance_by_taps_lands_in_the_database(sessions) -> None:
    world = await build_world(sessions)
    clock = FixedClock(NOW)
    chat = Chat(make_engine(sessions, clock), clock, "console:ani")
    await start_marking(chat)
    toggles = {t.label.split(". ", 1)[1]: t.value for t in chat.last[-1].toggles}
    assert len(toggles) == 10  # first page of a paged list
    await chat.send(choice=toggles["Siti Aminah"])
    assert chat.last[-1].edit_previous
    assert not next(t for t in chat.last[-1].toggles if "Siti Aminah" in t.label).on
    await chat.send(choice="next")
    ordered = sorted(MELATI, key=str.lower)
    assert [t.label for t in chat.last[-1].toggles] == [f"11. {ordered[10]}", f"12. {ordered[11]}"]
    await chat.send(choice="done")
    assert t("attendance.ask_reason", name="Siti Aminah") in chat.text
    await chat.send("sakit")
    assert t("attendance.ask_photo") in chat.text
    await chat.send(media=(Media(ref="tg:photo-1"),))
    assert "Hadir 11 · Izin 0 · Sakit 1 · Alpa 0" in chat.text
    await chat.send("simpan")
    assert t("attendance.saved", name="Kelompok Melati", hadir=11, total=12) in chat.text
    marks = await marks_of(sessions, world.melati_today)
    assert len(marks) == 12
    assert marks[world.kpm["Siti Aminah"]] == "sakit"
    assert sum(1 for m in marks.values() if m == "hadir") == 11
    async with sessions() as session:
        meeting = await session.get(Meeting, world.melati_today)
        assert meeting.status is MeetingStatus.HELD and meeting.sesi == 5 and meeting.modul == 2
        photos = (await session.execute(select(MediaAttachment.media_ref))).scalars().all()
        assert photos == ["tg:photo-1"]
        actions = (await session.execute(select(AuditLog.action))).scalars().all()
        assert "attendance.record" in actions


async def test_attendance_by_one_typed_line_with_reasons(sessions) -> None:
    world = await build_world(sessions)
    clock = FixedClock(NOW)
    chat = Chat(make_engine(sessions, clock), clock, "console:ani")
    await start_marking(chat)
    await chat.send("tidak hadir: Sri Wahyuni (izin), Sumarni (alpa), 12 sakit")
    assert "foto" in chat.text.lower()
    await chat.send("lewati")
    assert "Hadir 9 · Izin 1 · Sakit 1 · Alpa 1" in chat.text
    await chat.send("1")
    marks = await marks_of(sessions, world.melati_today)
    assert marks[world.kpm["Sri Wahyuni"]] == "izin"
    assert marks[world.kpm["Sumarni"]] == "alpa"
    assert marks[world.kpm[sorted(MELATI, key=str.lower)[11]]] == "sakit"


async def test_all_present_except_numbers_then_asks_each_reason(sessions) -> None:
    world = await build_world(sessions)
    clock = FixedClock(NOW)
    chat = Chat(make_engine(sessions, clock), clock, "console:ani")
    await start_marking(chat)
    await chat.send("hadir semua kecuali 3, 7")
    members = sorted(MELATI, key=str.lower)
    assert t("attendance.ask_reason", name=members[2]) in chat.text
    await chat.send("izin")
    assert t("attendance.ask_reason", name=members[6]) in chat.text
    await chat.send("3")
    await chat.send("lewati")
    await chat.send("simpan")
    marks = await marks_of(sessions, world.melati_today)
    assert marks[world.kpm[members[2]]] == "izin"
    assert marks[world.kpm[members[6]]] == "alpa"


async def test_an_ambiguous_name_is_asked_back_never_guessed(sessions) -> None:
    world = await build_world(sessions)
    clock = FixedClock(NOW)
    chat = Chat(make_engine(sessions, clock), clock, "console:ani")
    await start_marking(chat)
    await chat.send("tidak hadir: Siti")
    assert "lebih dari satu" in chat.text
    assert "Siti Aminah" in chat.text and "Siti Rahayu" in chat.text
    assert all(t.on for t in chat.last[-1].toggles)  # nobody marked absent by a guess
    await chat.send("tidak hadir: Zulaikha")
    assert "Zulaikha" in chat.text and "tidak ada di kelompok" in chat.text
    assert await marks_of(sessions, world.melati_today) == {}


async def test_running_it_again_shows_saved_marks_and_edits_without_duplicates(sessions) -> None:
    world = await build_world(sessions)
    clock = FixedClock(NOW)
    chat = Chat(make_engine(sessions, clock), clock, "console:ani")
    await record_sumarni_sick(chat)
    await chat.send("/hadir")
    await chat.send(choice=chat.option("Hari ini"))
    assert "sudah pernah dicatat" in chat.text
    assert "(Saran: sesi 5)" in chat.text  # the session recorded for this meeting
    await chat.send("5")
    sumarni = next(t for t in chat.last[-1].toggles if "Sumarni" in t.label)
    assert not sumarni.on and "(sakit)" in sumarni.label
    await chat.send("semua hadir")
    await chat.send("lewati")
    await chat.send("simpan")
    assert t("attendance.updated", name="Kelompok Melati", hadir=12, total=12) in chat.text
    marks = await marks_of(sessions, world.melati_today)
    assert len(marks) == 12 and set(marks.values()) == {"hadir"}
    async with sessions() as session:
        count = await session.scalar(select(func.count()).select_from(Attendance))
        meetings = await session.scalar(select(func.count()).select_from(Meeting))
    assert count == 12 and meetings == 1


async def test_a_new_meeting_by_typed_date_and_a_future_date_refused(sessions) -> None:
    world = await build_world(sessions)
    clock = FixedClock(NOW)
    chat = Chat(make_engine(sessions, clock), clock, "console:ani")
    await chat.send("absen")
    assert "Kelompok Melati" in chat.text  # meets today, so picked by itself
    await chat.send("kelompok lain")
    await chat.send("Kelompok Mawar")
    assert t("attendance.pick_meeting", name="Kelompok Mawar") in chat.text
    await chat.send(choice="new")
    await chat.send("besok")
    assert "belum terjadi" in chat.text
    await chat.send("kemarin")
    assert "Sesi P2K2" in chat.text
    await chat.send("1")
    await chat.send("semua hadir")
    await chat.send("lewati")
    assert "Sabtu, 21 November 2026" in chat.text
    await chat.send("simpan")
    assert "Tersimpan" in chat.text, chat.text
    async with sessions() as session:
        meeting = await session.scalar(select(Meeting).where(Meeting.kelompok_id == world.mawar))
    assert meeting is not None and str(meeting.meeting_date) == "2026-11-21"
    assert len(await marks_of(sessions, meeting.id)) == 3


async def test_a_new_meeting_suggests_the_session_after_the_group_s_last(sessions) -> None:
    await build_world(sessions)
    clock = FixedClock(NOW)
    chat = Chat(make_engine(sessions, clock), clock, "console:ani")
    await chat.send("/hadir")
    await chat.send(choice=chat.option("Hari ini"))
    assert "(Saran: sesi 1)" in chat.text  # nothing held yet
    await chat.send("7")
    await chat.send("semua hadir")
    await chat.send("lewati")
    await chat.send("simpan")
    await chat.send("/hadir")
    await chat.send(choice="new")
    await chat.send("kemarin")
    assert "(Saran: sesi 8)" in chat.text


async def test_a_meeting_button_never_offered_is_refused_and_shows_nothing(sessions) -> None:
    world = await build_world(sessions)
    clock = FixedClock(NOW)
    await record_sumarni_sick(Chat(make_engine(sessions, clock), clock, "console:ani"))
    budi = Chat(make_engine(sessions, clock), clock, "console:budi")
    await budi.send("/hadir")
    assert "Kelompok Kenanga" in budi.text
    await budi.send(choice=f"m:{world.melati_today}")  # Ani's meeting: never offered to him
    assert "Tombol itu sudah tidak berlaku" in budi.text
    assert "Kelompok Kenanga: pertemuan yang mana?" in budi.text
    assert "Sumarni" not in budi.text and "sudah pernah dicatat" not in budi.text
    await budi.send(choice="new")
    await budi.send("kemarin")
    assert "Sesi P2K2" in budi.text  # still in his own flow, on his own group


async def test_a_restart_mid_flow_resumes_where_the_user_was(sessions) -> None:
    world = await build_world(sessions)
    clock = FixedClock(NOW)
    first = Chat(make_engine(sessions, clock), clock, "console:ani")
    await start_marking(first)
    await first.send("3")
    second = Chat(make_engine(sessions, clock), clock, "console:ani")  # a new process
    await second.send(choice="done")
    assert "tidak hadir?" in second.text
    await second.send("izin")
    await second.send("lewati")
    await second.send("simpan")
    marks = await marks_of(sessions, world.melati_today)
    assert sorted(marks.values()).count("izin") == 1


async def test_a_conversation_under_way_at_an_upgrade_goes_on_with_its_old_keys(sessions) -> None:
    """An earlier release kept the flow's data under short keys (k, kname, d, m): a
    conversation it left half done is finished and saved by this one."""
    world = await build_world(sessions)
    clock = FixedClock(NOW)
    chat = Chat(make_engine(sessions, clock), clock, "console:ani")
    await chat.send("/hadir")
    await chat.send(choice=chat.option("Hari ini"))  # the next step asks the P2K2 session
    old = {"kelompok_id": "k", "kelompok_name": "kname", "meeting_date": "d", "meeting_id": "m"}
    async with sessions.begin() as session:
        row = await session.scalar(select(Conversation).where(Conversation.address == chat.address))
        assert row is not None and set(old) <= set(row.data)
        row.data = {old.get(key, key): value for key, value in row.data.items()}
    await chat.send("5")
    assert "hadir 12 dari 12" in chat.text and "Kelompok Melati" in chat.text
    await chat.send("semua hadir")
    await chat.send("lewati")
    await chat.send("simpan")
    assert "Tersimpan" in chat.text
    async with sessions() as session:
        meeting = await session.scalar(
            select(Meeting).where(
                Meeting.kelompok_id == world.melati, Meeting.attendance_recorded_at.is_not(None)
            )
        )
    assert meeting is not None and meeting.sesi == 5
    assert len(await marks_of(sessions, meeting.id)) == 12
