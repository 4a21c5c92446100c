"""A phone shared by two KPM (a neighbour's, the ketua's): one reminder per meeting names
both, "1" confirms both, "2 Sri sakit" declines one with a reason, a bare "2" asks who,
a pesan is about the one it names, and each KPM is counted on their own."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select, update

from handlers.i18n import Translator
from models.enums import OutboxStatus, RsvpAnswer
from models.messaging.tables import Outbox
from models.rules.clock import FixedClock
from models.tables import AuditLog, Kpm, KpmMessage, Meeting, Rsvp
from tests.e2e.test_meetings_change import sweep_reminders
from tests.world import Chat, World, build_world, make_engine

t = Translator()
SWEEP_AT = datetime(2026, 11, 23, 10, tzinfo=UTC)  # Monday 17:00 WIB
LATER = datetime(2026, 11, 23, 11, tzinfo=UTC)
BOTH = "Ibu Siti Aminah dan Ibu Sri Wahyuni"


async def _sharing(sessions, world: World) -> str:
    """Sri Wahyuni's roster phone is Siti Aminah's; Melati meets on Thursday 26 November.
    Returns the shared number."""
    async with sessions.begin() as session:
        siti = await session.get(Kpm, world.kpm["Siti Aminah"])
        sri = await session.get(Kpm, world.kpm["Sri Wahyuni"])
        sri.phone = siti.phone
        meeting = await session.get(Meeting, world.melati_today)
        meeting.meeting_date = date(2026, 11, 26)
        meeting.starts_at = datetime(2026, 11, 26, 2, tzinfo=UTC)
        meeting.updated_at = SWEEP_AT
        return siti.phone


async def _to(sessions, address: str, kind: str = "meeting_reminder") -> list[Outbox]:
    async with sessions() as session:
        return list(
            await session.scalars(
                select(Outbox).where(Outbox.address == address, Outbox.kind == kind)
                .order_by(Outbox.id)
            )
        )


async def _answers(sessions, meeting_id: int) -> dict[int, tuple[RsvpAnswer, str | None]]:
    async with sessions() as session:
        rows = await session.execute(
            select(Rsvp.kpm_id, Rsvp.answer, Rsvp.reason).where(Rsvp.meeting_id == meeting_id)
        )
        return {kpm_id: (answer, reason) for kpm_id, answer, reason in rows}


async def test_one_reminder_names_everyone_on_the_phone(sessions) -> None:
    world = await build_world(sessions)
    phone = await _sharing(sessions, world)
    assert await sweep_reminders(sessions, SWEEP_AT) == 11  # 12 members, 11 phones
    (reminder,) = await _to(sessions, f"whatsapp:{phone}")
    assert reminder.payload["key"] == "reminder.kpm_shared"
    assert reminder.payload["values"]["penerima"] == BOTH
    siti, sri = world.kpm["Siti Aminah"], world.kpm["Sri Wahyuni"]
    assert reminder.dedupe_key.endswith(f":{siti}+{sri}")
    text = t(reminder.payload["key"], **reminder.payload["values"])
    assert text.startswith(f"Yth. {BOTH},") and "2 Sri sakit" in text
    assert await sweep_reminders(sessions, SWEEP_AT) == 0  # once


async def test_one_answers_for_both_and_two_with_a_name_for_one(sessions) -> None:
    world = await build_world(sessions)
    phone = await _sharing(sessions, world)
    siti, sri = world.kpm["Siti Aminah"], world.kpm["Sri Wahyuni"]
    clock = FixedClock(LATER)
    engine = make_engine(sessions, clock)
    chat = Chat(engine, clock, f"whatsapp:{phone}")
    await chat.send("1")
    assert chat.text == t("rsvp.shared_coming", names=BOTH)
    answers = await _answers(sessions, world.melati_today)
    assert answers == {siti: (RsvpAnswer.HADIR, None), sri: (RsvpAnswer.HADIR, None)}

    await chat.send("2 Sri sakit")
    assert chat.text == t("rsvp.shared_declined_with_reason", names="Ibu Sri Wahyuni")
    answers = await _answers(sessions, world.melati_today)
    assert answers == {siti: (RsvpAnswer.HADIR, None), sri: (RsvpAnswer.TIDAK, "sakit")}

    await chat.send("1 Sri")  # better after all: Sri alone
    assert chat.text == t("rsvp.shared_coming", names="Ibu Sri Wahyuni")
    assert (await _answers(sessions, world.melati_today))[sri] == (RsvpAnswer.HADIR, None)

    ani = Chat(engine, clock, "console:ani")  # each KPM counted on their own
    await ani.send("/konfirmasi Melati")
    assert "Siti Aminah" in ani.text and "Sri Wahyuni" in ani.text
    assert "Akan hadir (2)" in ani.text or "(2)" in ani.text


async def test_a_bare_two_asks_who_and_keeps_the_reason(sessions) -> None:
    world = await build_world(sessions)
    phone = await _sharing(sessions, world)
    siti, sri = world.kpm["Siti Aminah"], world.kpm["Sri Wahyuni"]
    clock = FixedClock(LATER)
    chat = Chat(make_engine(sessions, clock), clock, f"whatsapp:{phone}")
    await chat.send("2 ada acara keluarga")
    choices = "1. Ibu Siti Aminah\n2. Ibu Sri Wahyuni"
    assert chat.text == t("rsvp.shared_which", choices=choices)
    assert await _answers(sessions, world.melati_today) == {}  # nothing guessed
    await chat.send("2")  # by number: Sri
    assert chat.text == t("rsvp.shared_declined_with_reason", names="Ibu Sri Wahyuni")
    assert await _answers(sessions, world.melati_today) == {
        sri: (RsvpAnswer.TIDAK, "ada acara keluarga")
    }

    await chat.send("tidak bisa")  # asked again; this time by name, the reason after
    await chat.send("Aminah")
    assert chat.text == t("rsvp.shared_declined", names="Ibu Siti Aminah")
    await chat.send("anak sakit")  # the reason, as the very next message
    assert chat.text == t("rsvp.shared_reason_saved", names="Ibu Siti Aminah")
    assert (await _answers(sessions, world.melati_today))[siti] == (
        RsvpAnswer.TIDAK, "anak sakit"
    )


async def test_a_question_not_answered_by_a_pick_lapses_into_a_pesan(sessions) -> None:
    world = await build_world(sessions)
    phone = await _sharing(sessions, world)
    sri = world.kpm["Sri Wahyuni"]
    clock = FixedClock(LATER)
    engine = make_engine(sessions, clock)
    chat = Chat(engine, clock, f"whatsapp:{phone}")
    await chat.send("2")
    await chat.send("Bu, kartu KKS Sri tertelan mesin ATM")  # no pick: a pesan about Sri
    assert chat.text.startswith(t("pesan.ack_kept", sapaan="Ibu", name="Sri Wahyuni")[:20])
    assert t("rsvp.shared_how") in chat.text  # the reminder is still open
    async with sessions() as session:
        (kept,) = await session.scalars(select(KpmMessage))
    assert kept.kpm_id == sri
    assert await _answers(sessions, world.melati_today) == {}


async def test_a_pesan_naming_nobody_tells_the_pendamping_whose_phone_it_is(sessions) -> None:
    world = await build_world(sessions)
    phone = await _sharing(sessions, world)
    clock = FixedClock(LATER)
    engine = make_engine(sessions, clock)
    await Chat(engine, clock, "console:ani").send("/menu")  # Ani reachable for the notice
    chat = Chat(engine, clock, f"whatsapp:{phone}")
    await chat.send("Kapan bantuan cair?")
    async with sessions() as session:
        (kept,) = await session.scalars(select(KpmMessage))
        (notice,) = await session.scalars(select(Outbox).where(Outbox.kind == "pesan_kpm"))
    assert kept.kpm_id == world.kpm["Siti Aminah"]  # the first on the phone
    assert t("pesan.shared_note", names=BOTH) in notice.payload["values"]["text"]

    ani = Chat(engine, clock, "console:ani")  # Ani says whom it is about
    await ani.send(f"/pesan {kept.id}")
    assert t("pesan.shared_note", names=BOTH) in ani.text
    assert "Ibu Siti Aminah" not in [o.label for o in ani.last[-1].options]
    await ani.send(choice=ani.option(t("pesan.action_about", name="Ibu Sri Wahyuni")))
    assert "Sri Wahyuni" in ani.text.splitlines()[0]
    async with sessions() as session:
        moved = await session.get(KpmMessage, kept.id)
        audit = await session.scalar(
            select(AuditLog).where(AuditLog.action == "kpm_message.about")
        )
    assert moved.kpm_id == world.kpm["Sri Wahyuni"]
    assert audit.detail == {"before": {"kpm_id": kept.kpm_id},
                            "after": {"kpm_id": world.kpm["Sri Wahyuni"]}}
    await ani.send(choice=f"about:{world.kpm['Dewi Lestari']}")  # not on the phone
    assert ani.text.startswith(t("input.stale_button"))
    async with sessions() as session:
        assert (await session.get(KpmMessage, kept.id)).kpm_id == world.kpm["Sri Wahyuni"]


async def test_a_changed_meeting_tells_the_phone_once_naming_both(sessions) -> None:
    world = await build_world(sessions)
    phone = await _sharing(sessions, world)
    await sweep_reminders(sessions, SWEEP_AT)
    async with sessions.begin() as session:  # the reminders went out
        await session.execute(
            update(Outbox).where(Outbox.kind == "meeting_reminder")
            .values(status=OutboxStatus.SENT, next_attempt_at=datetime(2026, 11, 23, 9, tzinfo=UTC))
        )
    clock = FixedClock(LATER)
    ani = Chat(make_engine(sessions, clock), clock, "console:ani")
    await ani.send("/jadwal Melati")
    await ani.send(choice=ani.option(t("schedule.option_cancel")))
    await ani.send(choice=ani.option(t("schedule.option_cancel_yes")))
    (notice,) = await _to(sessions, f"whatsapp:{phone}", "meeting_changed")
    assert notice.payload["values"]["penerima"] == BOTH


async def test_the_pendamping_may_put_a_kpm_on_a_shared_phone_a_kpm_may_not(sessions) -> None:
    world = await build_world(sessions)
    await _sharing(sessions, world)
    clock = FixedClock(LATER)
    engine = make_engine(sessions, clock)
    async with sessions() as session:
        target = (await session.get(Kpm, world.kpm["Dewi Lestari"])).phone
        own = (await session.get(Kpm, world.kpm["Nur Hasanah"])).phone
    kpm = Chat(engine, clock, f"whatsapp:{own}")  # Nur asks for Dewi's number: refused
    await kpm.send(f"GANTI NOMOR {target}")
    assert kpm.text == t("phone_change.kpm_taken", sapaan="Ibu", name="Nur Hasanah")
    ani = Chat(engine, clock, "console:ani")
    await ani.send(f"ganti nomor Nur Hasanah 0{target[3:]}")
    await ani.send("1")
    assert t("phone_change.shared", count=2) in ani.text
    async with sessions() as session:
        assert (await session.get(Kpm, world.kpm["Nur Hasanah"])).phone == target


async def test_leaving_a_shared_phone_withdraws_the_shared_reminder(sessions) -> None:
    world = await build_world(sessions)
    phone = await _sharing(sessions, world)
    await sweep_reminders(sessions, SWEEP_AT)
    clock = FixedClock(LATER)
    ani = Chat(make_engine(sessions, clock), clock, "console:ani")
    await ani.send("ganti nomor Sri Wahyuni 0813-1111-2222")
    await ani.send("1")
    (shared,) = await _to(sessions, f"whatsapp:{phone}")
    assert shared.status is OutboxStatus.CANCELLED
    await sweep_reminders(sessions, LATER)  # each now on their own phone
    pending = [r for r in await _to(sessions, f"whatsapp:{phone}")
               if r.status is OutboxStatus.PENDING]
    assert [r.payload["values"]["penerima"] for r in pending] == ["Ibu Siti Aminah"]
    assert pending[0].payload["key"] == "reminder.kpm"
    (sri,) = await _to(sessions, "whatsapp:+6281311112222")
    assert sri.payload["values"]["penerima"] == "Ibu Sri Wahyuni"


async def test_four_families_with_long_names_on_one_phone_still_get_their_reminder(
    sessions,
) -> None:
    world = await build_world(sessions)
    phone = await _sharing(sessions, world)
    long_names = {
        "Siti Aminah": "Siti Nurhaliza Binti Abdurrahman Wahid",
        "Sri Wahyuni": "Sri Wahyuningsih Purwaningtyas",
        "Dewi Lestari": "Dewi Kartika Sari Wulandari Putri",
        "Nur Hasanah": "Nur Hasanah Fitriyani Maharani",
    }
    async with sessions.begin() as session:
        for old, new in long_names.items():
            kpm = await session.get(Kpm, world.kpm[old])
            kpm.nama_pengurus, kpm.phone = new, phone
    assert await sweep_reminders(sessions, SWEEP_AT) == 9  # 12 members, 9 phones
    (reminder,) = await _to(sessions, f"whatsapp:{phone}")
    named = reminder.payload["values"]["penerima"]
    assert named == (
        "Ibu Siti Nurhaliza Binti Abdurrahman Wahid, Ibu Sri Wahyuningsih Purwaningtyas, "
        "dan 2 lainnya"
    )
    assert reminder.status is OutboxStatus.PENDING and reminder.error is None
    assert reminder.payload["template_variables"]["1"] == named  # within the template
    ids = sorted(world.kpm[old] for old in long_names)
    assert reminder.dedupe_key.endswith(":" + "+".join(map(str, ids)))
