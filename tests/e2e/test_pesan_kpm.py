"""A pesan KPM: what a KPM writes that is not an answer reaches their pendamping at once,
who opens it, replies through the bot (the KPM gets it on their own chat) or marks it
done; nobody else's pendamping can; a decline reason is only the very next message."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select

from handlers.cases import suggest_category
from handlers.i18n import Translator
from handlers.messages import Media
from handlers.parsing.dates import format_date_id
from models.cases import DEFAULT_CASE_KEYWORDS
from models.enums import KpmMessageStatus, MeetingStatus, RsvpAnswer
from models.messaging.tables import Outbox
from models.rules.clock import FixedClock
from models.tables import CaseNote, ChannelIdentity, Kpm, KpmMessage, Meeting, Rsvp, Staff
from reporting.digest import DigestOptions, build_digest
from scheduler.nudges import enqueue_nudges
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
    assert siti.text == t("pesan.ack_forwarded", sapaan="Ibu", name="Siti Aminah")
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
    assert sri.text == t("pesan.ack_forwarded", sapaan="Ibu", name="Sri Wahyuni")
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
    assert siti.text == t("pesan.ack_kept", sapaan="Ibu", name="Siti Aminah")
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
    assert sri.text == t("rsvp.declined", sapaan="Ibu", name="Sri Wahyuni")
    clock.advance(timedelta(minutes=45))  # too late to be the reason asked for
    await sri.send("anak sakit")
    assert sri.text == t("pesan.ack_forwarded", sapaan="Ibu", name="Sri Wahyuni")
    sumarni, _ = await kpm_chat(sessions, world, "Sumarni", engine, clock)
    await sumarni.send("2")
    clock.advance(timedelta(minutes=1))
    await sumarni.send("", media=(Media("https://example.invalid/m/2", "image/jpeg"),))
    clock.advance(timedelta(minutes=1))
    await sumarni.send("ada hajatan")  # after the photo: not the very next message
    assert sumarni.text == t("pesan.ack_forwarded", sapaan="Ibu", name="Sumarni")
    siti, _ = await kpm_chat(sessions, world, "Siti Aminah", engine, clock)
    await siti.send("apakah pertemuannya jadi?")  # not answered yet: the hint follows
    to = {"sapaan": "Ibu", "name": "Siti Aminah"}
    assert siti.text == f"{t('pesan.ack_forwarded', **to)}\n\n{t('rsvp.how', **to)}"
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


async def test_a_pesan_opened_as_a_case_suggests_its_category_and_closes_when_saved(
    sessions,
) -> None:
    world = await build_world(sessions)
    clock = FixedClock(NOW)
    engine = make_engine(sessions, clock)
    siti, _ = await kpm_chat(sessions, world, "Siti Aminah", engine, clock)
    await siti.send(KKS)
    (kept,) = await kpm_messages(sessions)
    ani = Chat(engine, clock, "console:ani")
    await ani.send(choice=f"pesan:{kept.id}")
    await ani.send(t("pesan.action_case"))
    assert ani.text == t("case.ask_category", name="Siti Aminah")
    first = ani.last[-1].options[0]
    assert (first.value, first.label) == (
        "kks_bermasalah",
        t("case.category_suggested", category=t("case.category.kks_bermasalah")),
    )
    await ani.send("1")
    assert ani.text == t("case.ask_description_from_message")
    await ani.send(t("case.option_use_message"))
    assert ani.text == t("case.ask_follow_up")
    await ani.send(t("case.option_no_follow_up"))
    await ani.send(t("case.severity.biasa"))
    assert ani.text.endswith("\n" + t("case.pesan_closed"))
    async with sessions() as session:
        case = await session.scalar(select(CaseNote))
    assert (case.kpm_id, case.category, case.description) == (
        world.kpm["Siti Aminah"], "kks_bermasalah", KKS
    )
    (kept,) = await kpm_messages(sessions)
    assert kept.status is KpmMessageStatus.DONE and kept.closed_by_staff_id == world.ani


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Bu, kartu KKS saya terblokir", "kks_bermasalah"),
        ("saldo saya belum masuk bu, kapan cair?", "bansos_belum_cair"),
        ("Anak saya sakit, perlu ke puskesmas", "kesehatan_rujukan"),
        ("mau ganti KK karena suami meninggal", "pemutakhiran_data"),
        ("anak saya putus sekolah", "pendidikan"),
        ("halo bu, apa kabar", None),
        ("kksx pinjam", None),  # whole words only
    ],
)
def test_a_category_is_suggested_from_the_words_of_the_message(text, expected) -> None:
    assert suggest_category(text, tuple(DEFAULT_CASE_KEYWORDS.items())) == expected


async def test_an_unanswered_pesan_is_nudged_once_and_counted_in_the_digest(sessions) -> None:
    world = await build_world(sessions)
    clock = FixedClock(NOW)
    engine = make_engine(sessions, clock)
    siti, _ = await kpm_chat(sessions, world, "Siti Aminah", engine, clock)
    await siti.send(KKS)
    sri, _ = await kpm_chat(sessions, world, "Sri Wahyuni", engine, clock)
    await sri.send("bu, kapan pertemuan berikutnya?")
    ani = Chat(engine, clock, "console:ani")
    await ani.send("/pesan")
    await ani.send("2")  # Sri's
    await ani.send(t("pesan.action_done"))
    early = await enqueue_nudges(sessions, now=NOW + timedelta(hours=20), morning_time=time(6, 30))
    assert early.pesan == 0
    later = NOW + timedelta(hours=25)
    report = await enqueue_nudges(sessions, now=later, morning_time=time(6, 30))
    again = await enqueue_nudges(sessions, now=later + timedelta(hours=1), morning_time=time(6, 30))
    assert (report.pesan, again.pesan, again.enqueued) == (1, 1, 0)
    (nudge,) = [
        row for row in await outbox_rows(sessions, "pendamping_nudge")
        if row.payload["key"] == "nudge.pesan"
    ]
    assert nudge.address == "console:ani"
    assert nudge.payload["values"] == {
        "kpm": "Siti Aminah", "kelompok": "Kelompok Melati", "hours": 25
    }
    async with sessions() as session:
        dewi = await session.get(Staff, world.dewi)
        digest = await build_digest(
            session, dewi, as_of=later, options=DigestOptions(), translate=t
        )
    assert t("digest.pesan_late", count=1, hours=24) in digest.text.splitlines()
