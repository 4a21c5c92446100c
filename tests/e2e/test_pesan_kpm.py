"""A pesan KPM: what a KPM writes that is not an answer reaches their pendamping at once,
who opens it, replies through the bot (the KPM gets it on their own chat) or marks it
done; nobody else's pendamping can; a decline reason is only the very next message."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select

from handlers.i18n import Translator
from handlers.messages import Media
from handlers.parsing.dates import format_date_id
from models.enums import KpmMessageStatus, MeetingStatus, RsvpAnswer
from models.messaging.tables import Outbox
from models.rules.clock import FixedClock
from models.tables import ChannelIdentity, Kpm, KpmMessage, Meeting, Rsvp
from tests.world import NOW, Chat, build_world, make_engine

t = Translator()
ZONE = ZoneInfo("Asia/Jakarta")
KKS = "Bu, kartu KKS saya terblokir, tidak bisa ambil bantuan"


async def kpm_chat(sessions, world, name: str, engine, clock) -> tuple[Chat, str]:
    async with sessions() as session:
        phone = (await session.get(Kpm, world.kpm[name])).phone
    return Chat(engine, clock, f"whatsapp:{phone}"), phone


async def outbox_rows(sessions, kind: str) -> list[Outbox]:
    async with sessions() as session:
        return list(await session.scalars(select(Outbox).where(Outbox.kind == kind)))


async def kpm_messages(sessions) -> list[KpmMessage]:
    async with sessions() as session:
        return list(await session.scalars(select(KpmMessage).order_by(KpmMessage.id)))


async def test_a_kpm_s_message_reaches_their_pendamping_who_replies_through_the_bot(
    sessions,
) -> None:
    world = await build_world(sessions)
    clock = FixedClock(NOW)
    engine = make_engine(sessions, clock)
    siti, phone = await kpm_chat(sessions, world, "Siti Aminah", engine, clock)
    await siti.send(KKS)
    assert siti.text == t("pesan.ack_forwarded")
    (kept,) = await kpm_messages(sessions)
    assert (kept.kpm_id, kept.text, kept.address, kept.status) == (
        world.kpm["Siti Aminah"], KKS, f"whatsapp:{phone}", KpmMessageStatus.OPEN
    )
    (notice,) = await outbox_rows(sessions, "pesan_kpm")
    assert notice.address == "console:ani"  # pushed to Ani, the kelompok's pendamping
    assert notice.payload["key"] == "pesan.new"
    assert notice.payload["values"] == {
        "name": "Siti Aminah", "kelompok": "Kelompok Melati", "text": KKS
    }
    assert notice.payload["options"] == [{"value": f"pesan:{kept.id}", "label": t("pesan.open")}]
    assert phone not in json.dumps(notice.payload) and phone[1:] not in json.dumps(notice.payload)

    ani = Chat(engine, clock, "console:ani")
    await ani.send(choice=f"pesan:{kept.id}")  # the notice's button
    local = NOW.astimezone(ZONE)
    assert ani.text == t(
        "pesan.show",
        name="Siti Aminah",
        kelompok="Kelompok Melati",
        when=f"{format_date_id(local.date())} {local:%H.%M}",
        text=KKS,
    )
    await ani.send("1")
    assert ani.text == t("pesan.ask_reply", name="Siti Aminah")
    await ani.send("")
    assert ani.text.startswith(t("pesan.reply_empty"))  # asked again, nothing sent
    assert await outbox_rows(sessions, "reply") == []
    clock.advance(timedelta(minutes=10))
    await ani.send("Baik Bu, besok saya bantu urus ke bank.")
    assert ani.text == t("pesan.reply_sent", name="Siti Aminah")
    (answer,) = await outbox_rows(sessions, "reply")
    assert answer.address == f"whatsapp:{phone}"
    assert answer.payload["key"] == "pesan.from_pendamping"
    assert answer.payload["values"] == {
        "name": "Ani Suryani", "text": "Baik Bu, besok saya bantu urus ke bank."
    }
    # Inside the window Siti's own message opened, ten minutes ago.
    assert datetime.fromisoformat(answer.payload["in_reply_to_at"]) == NOW
    (kept,) = await kpm_messages(sessions)
    assert kept.status is KpmMessageStatus.ANSWERED and kept.closed_by_staff_id == world.ani
    await ani.send("/pesan")
    assert ani.text == t("pesan.none")


async def test_pesan_lists_the_open_messages_and_marks_one_done(sessions) -> None:
    world = await build_world(sessions)
    clock = FixedClock(NOW)
    engine = make_engine(sessions, clock)
    siti, _ = await kpm_chat(sessions, world, "Siti Aminah", engine, clock)
    await siti.send(KKS)
    sri, _ = await kpm_chat(sessions, world, "Sri Wahyuni", engine, clock)
    await sri.send("", media=(Media("https://example.invalid/m/1", "image/jpeg"),))
    assert sri.text == t("pesan.ack_forwarded")
    ani = Chat(engine, clock, "console:ani")
    await ani.send("/pesan")
    assert ani.text == t("pesan.pick", count=2)
    assert [option.label for option in ani.last[-1].options] == [
        "Siti Aminah (Kelompok Melati): Bu, kartu KKS saya terblokir, tidak bis…",
        "Sri Wahyuni (Kelompok Melati): -",
    ]
    await ani.send("2")
    assert t("pesan.with_photos", text="-", count=1) in ani.text
    await ani.send("Tandai selesai")
    assert ani.text == t("pesan.marked_done", name="Sri Wahyuni")
    statuses = [(m.text, m.status) for m in await kpm_messages(sessions)]
    assert statuses == [(KKS, KpmMessageStatus.OPEN), ("", KpmMessageStatus.DONE)]
    await ani.send("/pesan")
    assert ani.text == t("pesan.pick", count=1)
    await ani.send("7")
    assert ani.text.startswith(t("pesan.pick_invalid"))


async def test_another_pendamping_can_neither_see_nor_answer_a_message(sessions) -> None:
    world = await build_world(sessions)
    clock = FixedClock(NOW)
    engine = make_engine(sessions, clock)
    siti, _ = await kpm_chat(sessions, world, "Siti Aminah", engine, clock)
    await siti.send(KKS)
    (kept,) = await kpm_messages(sessions)
    budi = Chat(engine, clock, "console:budi")
    await budi.send(choice=f"pesan:{kept.id}")  # a forged or forwarded button
    assert budi.text == t("pesan.not_found")
    await budi.send("/pesan")
    assert budi.text == t("pesan.none")
    (kept,) = await kpm_messages(sessions)
    assert kept.status is KpmMessageStatus.OPEN
    replies = await outbox_rows(sessions, "reply")
    assert [row for row in replies if row.address.startswith("whatsapp:")] == []


async def test_without_a_linked_pendamping_the_kpm_is_told_it_is_kept(sessions) -> None:
    world = await build_world(sessions)
    async with sessions.begin() as session:
        await session.execute(delete(ChannelIdentity).where(ChannelIdentity.staff_id == world.ani))
    clock = FixedClock(NOW)
    engine = make_engine(sessions, clock)
    siti, _ = await kpm_chat(sessions, world, "Siti Aminah", engine, clock)
    await siti.send(KKS)
    assert siti.text == t("pesan.ack_kept")
    assert await outbox_rows(sessions, "pesan_kpm") == []
    assert [m.status for m in await kpm_messages(sessions)] == [KpmMessageStatus.OPEN]


async def test_a_decline_reason_is_only_the_very_next_message_soon_after(sessions) -> None:
    world = await build_world(sessions)
    async with sessions.begin() as session:
        meeting = Meeting(
            kelompok_id=world.melati,
            meeting_date=datetime(2026, 11, 24).date(),
            starts_at=datetime(2026, 11, 24, 2, tzinfo=UTC),
            status=MeetingStatus.PLANNED,
            place="Balai Desa",
            plan_key="2026-11-b",
        )
        session.add(meeting)
        await session.flush()
        meeting_id = meeting.id
    clock = FixedClock(NOW)
    engine = make_engine(sessions, clock)
    sri, _ = await kpm_chat(sessions, world, "Sri Wahyuni", engine, clock)
    await sri.send("2")
    assert sri.text == t("rsvp.declined")
    clock.advance(timedelta(minutes=45))  # too late to be the reason asked for
    await sri.send("anak sakit")
    assert sri.text == t("pesan.ack_forwarded")
    sumarni, _ = await kpm_chat(sessions, world, "Sumarni", engine, clock)
    await sumarni.send("2")
    clock.advance(timedelta(minutes=1))
    await sumarni.send("", media=(Media("https://example.invalid/m/2", "image/jpeg"),))
    clock.advance(timedelta(minutes=1))
    await sumarni.send("ada hajatan")  # after the photo: not the very next message
    assert sumarni.text == t("pesan.ack_forwarded")
    siti, _ = await kpm_chat(sessions, world, "Siti Aminah", engine, clock)
    await siti.send("apakah pertemuannya jadi?")  # not answered yet: the hint follows
    assert siti.text == f"{t('pesan.ack_forwarded')}\n\n{t('rsvp.how')}"
    async with sessions() as session:
        reasons = {
            (r.kpm_id, r.answer, r.reason)
            for r in await session.scalars(select(Rsvp).where(Rsvp.meeting_id == meeting_id))
        }
    assert reasons == {
        (world.kpm["Sri Wahyuni"], RsvpAnswer.TIDAK, None),
        (world.kpm["Sumarni"], RsvpAnswer.TIDAK, None),
    }
    assert [m.text for m in await kpm_messages(sessions)] == [
        "anak sakit", "", "ada hajatan", "apakah pertemuannya jadi?"
    ]
