"""Engine rules every flow shares: identity, global commands, dedupe, timeout, bad input."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from string import Formatter

import pytest
from sqlalchemy import func, select
from sqlalchemy import text as sql_text

from handlers.engine import MAX_TEXT
from handlers.i18n import Translator
from handlers.messages import Media
from models.db import create_engine
from models.messaging.tables import Conversation, InboundMessage
from models.rules.clock import FixedClock
from models.staff import create_invite
from models.tables import Attendance, AuditLog, ChannelIdentity, Kpm, Staff
from tests.world import NOW, Chat, build_world, make_engine

t = Translator()
MELATI_NOW = t("attendance.pick_meeting", name="Kelompok Melati")
SESI_PROMPT = t("attendance.pick_sesi", suggestion=1)  # nothing held yet: session 1
MARKING = t("attendance.mark_prompt", name="Kelompok Melati", present=12, total=12, page=1, pages=2)


def opening(key: str) -> str:
    """A catalog text up to its first figure: what shows that message in any form."""
    return t(key).split("{", 1)[0]


def shows_a_card(text: str) -> bool:
    """Whether ``text`` holds a KPM card: any of the card's own wording around its figures."""
    wording = [literal for literal, *_ in Formatter().parse(t("kpm.card")) if literal.strip()]
    return any(piece in text for piece in wording)


def masked_card(kpm: Kpm, kelompok: str, *, own: bool = False) -> str:
    """The KPM card of a member with no komponen, meetings or cases, NIK masked, and the
    phone masked unless it is shown to the KPM's own pendamping."""
    return t(
        "kpm.card",
        name=kpm.nama_pengurus,
        id_pkh=kpm.id_pkh,
        nik="*" * 12 + kpm.nik[-4:],
        phone=kpm.phone if own else kpm.phone[:3] + "*" * (len(kpm.phone) - 6) + kpm.phone[-3:],
        kelompok=kelompok,
        status=t("kpm.status.aktif"),
        komponen=t("kpm.card_no_komponen"),
        attendance=t("kpm.card_no_meetings"),
        period="November 2026",
        commitments=t("kpm.card_no_commitments"),
        recent=t("kpm.card_recent_empty"),
        cases=t("kpm.card_no_cases"),
        graduation=t(
            "kpm.card_graduation", stage="Penjajakan", assessed=t("kpm.card_graduation_unassessed")
        ),
    )


async def test_an_unknown_sender_gets_one_sentence_on_how_to_register(sessions) -> None:
    await build_world(sessions)
    clock = FixedClock(NOW)
    chat = Chat(make_engine(sessions, clock), clock, "whatsapp:+6281299999999")
    for text in ("halo", "/hadir", "1", "/kpm Siti"):
        await chat.send(text)
        assert [reply.text for reply in chat.last] == [t("register.unknown_sender")]
        assert not chat.last[0].options
        # WhatsApp gives the bot the number: it is not asked for
        assert chat.last[0].request_contact is None


async def test_a_staff_member_registers_with_an_invite_code(sessions) -> None:
    world = await build_world(sessions)
    async with sessions.begin() as session:
        staff = await session.get(Staff, world.budi)
        code = await create_invite(session, staff, now=NOW, valid_days=14)
    clock = FixedClock(NOW)
    engine = make_engine(sessions, clock)
    chat = Chat(engine, clock, "whatsapp:+6281211112222")
    await chat.send("DAFTAR ZZZZ-ZZZZ")
    assert chat.text == t("register.code_unknown")
    await chat.send(f"daftar {code.lower()}")
    assert chat.text == t("register.welcome", name="Budi Santoso")
    assert [o.value for o in chat.last[0].options] == [
        "menu:attendance",
        "menu:commitment",
        "menu:case",
        "menu:my_cases",
        "menu:kpm_card",
        "menu:schedule",
        "menu:ketua",
        "menu:graduation",
        "menu:digest",
        "menu:kpm_message",
        "menu:referral",
        "menu:web_login",
    ]  # a pendamping's menu: no export (coordinators only)
    await chat.send("/kpm Siti Budiarti")
    async with sessions() as session:
        budiarti = await session.get(Kpm, world.kpm["Siti Budiarti"])
    assert chat.text == masked_card(budiarti, "Kelompok Kenanga", own=True)  # Budi's KPM
    other = Chat(engine, clock, "telegram:555")
    await other.send(f"/start {code.replace('-', '')}")
    assert other.text == t("register.code_used")


async def test_cancel_help_and_menu_work_from_any_step(sessions) -> None:
    world = await build_world(sessions)
    clock = FixedClock(NOW)
    chat = Chat(make_engine(sessions, clock), clock, "console:ani")
    steps = ["/hadir", "1", "5", "3", "Selesai", "izin"]
    options = t("help.expected_options")
    expected = [options, options, t("expect.attendance.mark"), t("expect.attendance.mark"), options]
    helps = [t("help.general"), *(t("help.in_flow", expected=e) for e in expected)]
    for depth in range(len(steps)):
        for text in steps[:depth]:
            await chat.send(text)
        await chat.send("/bantuan")
        assert chat.text == helps[depth]
        await chat.send("/batal")
        assert chat.text in (t("cancel.done"), t("cancel.nothing"))
        assert len(chat.last[-1].options) == 12  # back at the (pendamping's) menu
    await chat.send("/hadir")
    await chat.send("/mulai")
    assert chat.text == t("menu.title")
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Attendance)) == 0
        conversation = await session.scalar(
            select(Conversation).where(Conversation.address == "console:ani")
        )
        assert conversation.flow is None and conversation.step is None
    assert world.melati_today


async def test_the_same_delivery_is_processed_once(sessions) -> None:
    await build_world(sessions)
    clock = FixedClock(NOW)
    chat = Chat(make_engine(sessions, clock), clock, "console:ani")
    await chat.send("/hadir", external_id="wamid.1")
    first = chat.text
    assert first == t("attendance.group_auto", name="Kelompok Melati") + "\n" + MELATI_NOW
    again = await chat.send("/hadir", external_id="wamid.1")
    assert again == []
    await chat.send("1", external_id="wamid.2")
    assert chat.text == SESI_PROMPT
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(InboundMessage)) == 2


async def test_an_idle_conversation_is_closed_and_the_user_told(sessions) -> None:
    await build_world(sessions)
    clock = FixedClock(NOW)
    chat = Chat(make_engine(sessions, clock), clock, "console:ani")
    await chat.send("/hadir")
    clock.advance(timedelta(minutes=31))
    await chat.send("1")
    assert chat.last[0].text == t("conversation.timed_out", minutes=30)
    assert opening("attendance.pick_sesi") not in chat.text
    clock.advance(timedelta(minutes=5))
    await chat.send("/hadir")
    clock.advance(timedelta(minutes=29))
    await chat.send("1")
    assert chat.text == SESI_PROMPT


async def test_bad_input_gets_a_clear_reply_and_the_step_stays(sessions) -> None:
    await build_world(sessions)
    clock = FixedClock(NOW)
    chat = Chat(make_engine(sessions, clock), clock, "console:ani")
    await chat.send("/hadir")
    await chat.send("1")
    invalid = t("attendance.pick_sesi_invalid", count=14)
    for bad in ("", "   ", "🙏🙏🙏", "99", "0", "sesi satu"):
        await chat.send(bad)
        assert invalid in chat.text and SESI_PROMPT in chat.text
    await chat.send("x" * 4000)
    assert chat.text == t("input.too_long", limit=MAX_TEXT)
    await chat.send(media=(Media(ref="photo-1"),))
    assert invalid in chat.text
    await chat.send(choice="s:99")  # a forged or stale button
    assert t("input.stale_button") in chat.text and SESI_PROMPT in chat.text
    await chat.send("5")
    assert MARKING in chat.text
    await chat.send("99")
    assert t("attendance.numbers_out_of_range", numbers="99", total=12) in chat.text
    await chat.send("Selesai")
    await chat.send("halo, ini bukan foto")
    assert t("attendance.photo_invalid") in chat.text
    await chat.send("LEWATI")
    assert chat.text == t(
        "attendance.summary",
        name="Kelompok Melati",
        date="Minggu, 22 November 2026",
        sesi=5,
        hadir=12,
        izin=0,
        sakit=0,
        alpa=0,
        photos=0,
        facilitator=t("attendance.facilitator_pendamping"),
        absentees=t("attendance.nobody_absent"),
    )


async def test_a_pendamping_cannot_reach_another_pendamping_s_kpm(sessions) -> None:
    world = await build_world(sessions)
    clock = FixedClock(NOW)
    engine = make_engine(sessions, clock)
    budi = Chat(engine, clock, "console:budi")
    await budi.send("/kpm Siti Aminah")  # Ani's KPM
    assert budi.text == t("kpm.not_found", query="Siti Aminah") and "Melati" not in budi.text
    await budi.send("/kpm PKH010001")  # Ani's KPM by ID PKH
    assert budi.text == t("kpm.not_found", query="PKH010001")
    await budi.send("/kasus Siti")
    assert "Siti Budiarti" in budi.text and "Siti Aminah" not in budi.text
    await budi.send("/hadir")
    await budi.send(choice=f"k:{world.melati}")  # a forged tap on Ani's group
    assert t("input.stale_button") in budi.text and "Melati" not in budi.text
    await budi.send("/kpm Siti")
    await budi.send(choice=f"p:{world.kpm['Siti Aminah']}")  # forged: not among the offers
    assert "Siti Aminah" not in budi.text and not shows_a_card(budi.text)


async def test_the_coordinator_sees_kpm_in_their_region_and_corrects_attendance_there(
    sessions,
) -> None:
    world = await build_world(sessions)
    clock = FixedClock(NOW)
    dewi = Chat(make_engine(sessions, clock), clock, "console:dewi")
    await dewi.send("/kpm Siti Budiarti")
    assert "Kelompok Kenanga" in dewi.text
    await dewi.send("/hadir Melati")  # a kelompok of her region, the same flow
    await dewi.send(choice=dewi.option("Hari ini"))
    await dewi.send("5")
    await dewi.send("tidak hadir: Sumarni (sakit)")
    await dewi.send("lewati")
    await dewi.send("simpan")
    assert t("attendance.saved", name="Kelompok Melati", hadir=11, total=12) in dewi.text
    async with sessions() as session:
        entry = await session.scalar(select(AuditLog).where(AuditLog.action.like("attendance.%")))
    assert entry.actor_staff_id == world.dewi


async def test_messages_in_a_group_chat_only_answer_commands(sessions) -> None:
    await build_world(sessions)
    clock = FixedClock(NOW)
    engine = make_engine(sessions, clock)
    from handlers.messages import IncomingMessage

    chatter = IncomingMessage(
        channel="console",
        address="console:ani",
        received_at=datetime(2026, 11, 22, 3, tzinfo=UTC),
        text="halo",
        group=True,
    )
    assert (await engine.handle(chatter)).replies == ()
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ChannelIdentity)) == 3


async def test_messages_from_one_user_sent_at_once_are_handled_in_order(sessions) -> None:
    import asyncio

    await build_world(sessions)
    clock = FixedClock(NOW)
    engine = make_engine(sessions, clock)
    from handlers.messages import IncomingMessage

    def message(text: str, n: int) -> IncomingMessage:
        return IncomingMessage(
            channel="console",
            address="console:ani",
            received_at=NOW,
            text=text,
            external_id=f"m{n}",
        )

    outcomes = await asyncio.gather(
        *(
            engine.handle(message(text, n))
            for n, text in enumerate(["/hadir", "1", "5", "semua hadir"])
        )
    )
    texts = [outcome.replies[-1].text for outcome in outcomes]
    assert texts[0] == MELATI_NOW
    assert texts[1] == SESI_PROMPT
    assert texts[2] == MARKING
    assert texts[3] == t("attendance.ask_photo")
    assert engine._locks == {}


async def test_a_coordinator_s_menu_offers_what_a_coordinator_may_do(sessions) -> None:
    await build_world(sessions)
    clock = FixedClock(NOW)
    dewi = Chat(make_engine(sessions, clock), clock, "console:dewi")
    await dewi.send("/mulai")
    assert [o.value for o in dewi.last[-1].options] == [
        "menu:attendance",
        "menu:commitment",
        "menu:my_cases",
        "menu:kpm_card",
        "menu:graduation",
        "menu:digest",
        "menu:export",
        "menu:referral",
        "menu:web_login",
    ]
    await dewi.send("6")  # the digest, picked by number: asked for now, not "mingguan"
    title = t("digest.title_now", scope="Sukamaju", date="Minggu, 22 November 2026")
    assert dewi.last[0].text.startswith(title + "\n")


class AskingSessions:
    """A session factory that says when a step has asked for its transaction."""

    def __init__(self, sessions) -> None:
        self.sessions = sessions
        self.asked = asyncio.Event()

    def __call__(self):
        self.asked.set()
        return self.sessions()


async def _second_waits(sessions, second: AskingSessions) -> bool:
    """On SQLite the second step asked for the one connection, which the first holds; on
    PostgreSQL its backend waits for the conversation row's lock, as the server shows."""
    if not second.asked.is_set():
        return False
    async with sessions() as session:
        if session.bind.dialect.name != "postgresql":
            return True
        waiting = await session.scalar(
            sql_text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
        )
    return bool(waiting)


async def test_two_processes_serving_one_user_at_once_lose_no_step(sessions, monkeypatch) -> None:
    """Two engines (as two worker processes) get one user's taps at the same moment: the
    conversation row is locked for each step's transaction, so the second step reads what
    the first wrote and both toggles are kept (on PostgreSQL the engines hold separate
    connections and really run at once)."""
    from sqlalchemy import select

    from handlers.messages import IncomingMessage
    from models.messaging.tables import Conversation

    await build_world(sessions)
    clock = FixedClock(NOW)
    asking = AskingSessions(sessions)
    first, second = make_engine(sessions, clock), make_engine(asking, clock)

    def message(n: int, text: str = "", choice: str | None = None) -> IncomingMessage:
        return IncomingMessage(
            channel="console", address="console:ani", received_at=NOW, text=text,
            choice=choice, external_id=f"p{n}",
        )

    await first.handle(message(1, "/hadir"))
    await first.handle(message(2, "1"))
    marking = (await first.handle(message(3, "5"))).replies[-1]
    one, two = marking.toggles[0].value, marking.toggles[1].value
    import handlers.engine

    save_state = handlers.engine.save_state
    first_holds, release = asyncio.Event(), asyncio.Event()

    async def held_save(*args, **kwargs):  # the first step holds its transaction open
        if not first_holds.is_set():
            first_holds.set()
            await release.wait()
        await save_state(*args, **kwargs)

    monkeypatch.setattr(handlers.engine, "save_state", held_save)
    started = asyncio.create_task(first.handle(message(4, choice=one)))
    await first_holds.wait()  # the first step has read the state and is still open
    following = asyncio.create_task(second.handle(message(5, choice=two)))
    # The second step waits: on SQLite for the one connection, which the first holds;
    # on PostgreSQL at the conversation row's lock, which the server shows.
    for _ in range(100_000):  # turns of the loop, not a wait; bounded, so it cannot hang
        if await _second_waits(sessions, asking):
            break
        await asyncio.sleep(0)
    else:
        pytest.fail("the second step never asked for its transaction")
    release.set()  # the second can only read after the first commits
    await asyncio.gather(started, following)
    async with sessions() as session:
        data = await session.scalar(
            select(Conversation.data).where(Conversation.address == "console:ani")
        )
    assert data is not None and len(data["absent"]) == 2


async def test_a_message_on_a_dropped_database_connection_is_handled_on_a_new_one(
    sessions, engine
) -> None:
    """PostgreSQL restarted (here: the server ends the pooled connection): the message
    that meets the dead connection is answered normally, not with an error."""
    from sqlalchemy import text

    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite connections are files: they are not dropped by a server")
    await build_world(sessions)
    clock = FixedClock(NOW)
    chat = Chat(make_engine(sessions, clock), clock, "console:ani")
    await chat.send("/bantuan")
    async with engine.connect() as connection:  # that pooled connection
        pid = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    other = create_engine(engine.url.render_as_string(hide_password=False))
    try:
        async with other.connect() as connection:
            await connection.execute(text(f"SELECT pg_terminate_backend({int(pid)})"))
    finally:
        await other.dispose()
    await chat.send("/hadir")
    assert chat.text == t("attendance.group_auto", name="Kelompok Melati") + "\n" + MELATI_NOW
