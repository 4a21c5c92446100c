"""KPM answer meeting reminders; the pendamping sees who comes with /konfirmasi."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from handlers.i18n import Translator
from handlers.rsvp import parse_answer
from models.enums import MeetingStatus, RsvpAnswer
from models.rules.clock import FixedClock
from models.tables import Kpm, Meeting, Rsvp
from tests.world import MELATI, NOW, Chat, build_world, make_engine

t = Translator()


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("1", (RsvpAnswer.HADIR, None)),
        ("Hadir", (RsvpAnswer.HADIR, None)),
        ("iya", (RsvpAnswer.HADIR, None)),
        ("2", (RsvpAnswer.TIDAK, None)),
        ("2 anak sakit", (RsvpAnswer.TIDAK, "anak sakit")),
        ("tidak bisa, ke pasar", (RsvpAnswer.TIDAK, "ke pasar")),
        ("halo bu", None),
        ("12", None),
    ],
)
def test_answers_are_read_as_people_write_them(written, expected) -> None:
    assert parse_answer(written) == expected


async def next_meeting(sessions, world) -> int:
    async with sessions.begin() as session:
        meeting = Meeting(
            kelompok_id=world.melati,
            meeting_date=datetime(2026, 12, 8).date(),
            starts_at=datetime(2026, 12, 8, 2, tzinfo=UTC),
            status=MeetingStatus.PLANNED,
            place="Balai Desa",
            plan_key="2026-12",
        )
        session.add(meeting)
        await session.flush()
        return meeting.id


async def kpm_chat(sessions, world, name: str, clock: FixedClock, engine) -> Chat:
    async with sessions() as session:
        phone = (await session.get(Kpm, world.kpm[name])).phone
    return Chat(engine, clock, f"whatsapp:{phone}")


async def test_kpm_answers_are_recorded_and_the_pendamping_sees_them(sessions) -> None:
    world = await build_world(sessions)
    meeting_id = await next_meeting(sessions, world)
    clock = FixedClock(datetime(2026, 12, 5, 9, tzinfo=UTC))
    engine = make_engine(sessions, clock)
    siti = await kpm_chat(sessions, world, "Siti Aminah", clock, engine)
    await siti.send("1")
    assert siti.text == t("rsvp.coming", sapaan="Ibu", name="Siti Aminah")
    sri = await kpm_chat(sessions, world, "Sri Wahyuni", clock, engine)
    await sri.send("2")
    assert sri.text == t("rsvp.declined", sapaan="Ibu", name="Sri Wahyuni")
    await sri.send("anak sakit demam")
    assert sri.text == t("rsvp.reason_saved", sapaan="Ibu", name="Sri Wahyuni")
    sumarni = await kpm_chat(sessions, world, "Sumarni", clock, engine)
    await sumarni.send("tidak bisa, ada hajatan")
    await sumarni.send("apa kabar?")  # not an answer: a pesan KPM for the pendamping
    assert sumarni.text == t("pesan.ack_forwarded", sapaan="Ibu", name="Sumarni")
    async with sessions() as session:
        answers = {
            (r.kpm_id, r.answer, r.reason)
            for r in await session.scalars(select(Rsvp).where(Rsvp.meeting_id == meeting_id))
        }
    assert answers == {
        (world.kpm["Siti Aminah"], RsvpAnswer.HADIR, None),
        (world.kpm["Sri Wahyuni"], RsvpAnswer.TIDAK, "anak sakit demam"),
        (world.kpm["Sumarni"], RsvpAnswer.TIDAK, "ada hajatan"),
    }
    ani = Chat(engine, clock, "console:ani")
    await ani.send("/konfirmasi Melati")
    overview = ani.text
    answered = {"Siti Aminah", "Sri Wahyuni", "Sumarni"}
    assert overview == t(
        "rsvp.overview",
        name="Kelompok Melati",
        date="Selasa, 8 Desember 2026",
        coming=1,
        coming_names="Siti Aminah",
        declined_count=2,
        unanswered_count=9,
        declined="• Sri Wahyuni (anak sakit demam)\n• Sumarni (ada hajatan)",
        unanswered=", ".join(n for n in sorted(MELATI, key=str.lower) if n not in answered),
    )
    assert "• Sri Wahyuni (anak sakit demam)" in overview and "ada hajatan" in overview
    assert "Selasa, 8 Desember 2026" in overview
    assert "Akan hadir (1): Siti Aminah" in overview  # who comes is named, not only counted


async def test_changing_one_s_mind_replaces_the_answer(sessions) -> None:
    world = await build_world(sessions)
    meeting_id = await next_meeting(sessions, world)
    clock = FixedClock(datetime(2026, 12, 5, 9, tzinfo=UTC))
    engine = make_engine(sessions, clock)
    siti = await kpm_chat(sessions, world, "Siti Aminah", clock, engine)
    await siti.send("2 ke rumah sakit")
    await siti.send("1")
    async with sessions() as session:
        (rsvp,) = list(await session.scalars(select(Rsvp).where(Rsvp.meeting_id == meeting_id)))
    assert rsvp.answer is RsvpAnswer.HADIR


async def test_an_answer_with_no_meeting_pending_gets_a_friendly_reply(sessions) -> None:
    world = await build_world(sessions)
    clock = FixedClock(NOW)
    siti = await kpm_chat(sessions, world, "Siti Aminah", clock, make_engine(sessions, clock))
    await siti.send("1")
    assert siti.text == t("rsvp.no_meeting", sapaan="Ibu", name="Siti Aminah")


async def test_a_tap_on_the_reminder_templates_buttons_is_the_answer_typed(sessions) -> None:
    """The reminder template's quick-reply buttons, tapped: Twilio's webhook fields (the
    button's payload and title) through the channel's translation land as "1" / "2"."""
    from bot.channels.whatsapp import to_incoming
    from models.messaging.templates import TEMPLATES
    from tests.fakes.twilio_api import inbound_whatsapp_params

    buttons = TEMPLATES["reminder.kpm"].buttons
    assert [parse_answer(b.payload) for b in buttons] == [
        (RsvpAnswer.HADIR, None),
        (RsvpAnswer.TIDAK, None),
    ]
    assert TEMPLATES["reminder.changed"].buttons == buttons
    world = await build_world(sessions)
    meeting_id = await next_meeting(sessions, world)
    clock = FixedClock(datetime(2026, 12, 5, 9, tzinfo=UTC))
    engine = make_engine(sessions, clock)
    replies = {}
    for name, button in zip(("Siti Aminah", "Sri Wahyuni"), buttons, strict=True):
        async with sessions() as session:
            phone = (await session.get(Kpm, world.kpm[name])).phone
        params = inbound_whatsapp_params(
            from_=f"whatsapp:{phone}", button_payload=button.payload, button_text=button.title
        )
        outcome = await engine.handle(to_incoming(params, clock.now()))
        replies[name] = "\n".join(reply.text for reply in outcome.replies)
    assert replies == {
        name: t(key, sapaan="Ibu", name=name)
        for name, key in (("Siti Aminah", "rsvp.coming"), ("Sri Wahyuni", "rsvp.declined"))
    }
    async with sessions() as session:
        answers = {
            (r.kpm_id, r.answer)
            for r in await session.scalars(select(Rsvp).where(Rsvp.meeting_id == meeting_id))
        }
    assert answers == {
        (world.kpm["Siti Aminah"], RsvpAnswer.HADIR),
        (world.kpm["Sri Wahyuni"], RsvpAnswer.TIDAK),
    }
