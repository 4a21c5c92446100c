"""Case notes, the KPM card and the schedule, end to end through the engine."""

from __future__ import annotations

from datetime import date, time

from sqlalchemy import select

from handlers.cases import MIN_DESCRIPTION
from handlers.i18n import Translator
from handlers.messages import Media
from models.enums import CaseSeverity, CaseStatus, Channel
from models.rules.clock import FixedClock
from models.tables import CaseNote, CaseUpdate, Kelompok, MediaAttachment, Meeting
from tests.world import NOW, Chat, build_world, make_engine

t = Translator()


async def only_case_id(sessions) -> int:
    async with sessions() as session:
        (case_id,) = (await session.scalars(select(CaseNote.id))).all()
    return case_id


async def test_a_case_note_is_opened_with_a_photo_and_a_follow_up_date(sessions) -> None:
    world = await build_world(sessions)
    clock = FixedClock(NOW)
    chat = Chat(make_engine(sessions, clock), clock, "console:ani")
    await chat.send("/kasus")
    await chat.send("sri wahyni")  # a typo still finds her, and is asked about first
    assert chat.text == t("kpm.pick_one", query="sri wahyni", name="Sri Wahyuni")
    await chat.send("1")
    assert t("case.ask_category", name="Sri Wahyuni") in chat.text
    await chat.send("KKS bermasalah")
    await chat.send("ok", media=(Media(ref="tg:kks-photo"),))
    assert t("case.description_photo_saved", minimum=MIN_DESCRIPTION) in chat.text
    await chat.send("Kartu KKS terblokir setelah salah PIN tiga kali.")
    await chat.send("kemarin")
    assert t("case.follow_up_past", date="Sabtu, 21 November 2026") in chat.text
    await chat.send("12/12")
    await chat.send("biasa")
    async with sessions() as session:
        case = await session.scalar(select(CaseNote))
        photo = await session.scalar(select(MediaAttachment.media_ref))
    assert chat.text == t(
        "case.saved",
        id=case.id,
        name="Sri Wahyuni",
        category=t("case.category.kks_bermasalah"),
        follow_up="Sabtu, 12 Desember 2026",
    )
    assert case.kpm_id == world.kpm["Sri Wahyuni"] and case.category == "kks_bermasalah"
    assert case.severity is CaseSeverity.BIASA and case.follow_up_date == date(2026, 12, 12)
    assert photo == "tg:kks-photo"


async def test_child_protection_is_always_urgent(sessions) -> None:
    await build_world(sessions)
    clock = FixedClock(NOW)
    chat = Chat(make_engine(sessions, clock), clock, "console:ani")
    await chat.send("/kasus Nur Hasanah")
    await chat.send("perlindungan anak")
    await chat.send("Anak sering tidak pulang, ada tanda kekerasan.")
    await chat.send("tanpa tanggal")
    async with sessions() as session:
        case = await session.scalar(select(CaseNote))
    saved = t(
        "case.saved_urgent",
        id=case.id,
        name="Nur Hasanah",
        category=t("case.category.perlindungan_anak"),
        follow_up=t("case.no_follow_up"),
    )
    assert chat.text == t("case.always_urgent_note") + "\n" + saved
    assert case.severity is CaseSeverity.MENDESAK and case.follow_up_date is None


async def test_open_cases_are_listed_and_moved_to_done_with_a_note(sessions) -> None:
    await build_world(sessions)
    clock = FixedClock(NOW)
    chat = Chat(make_engine(sessions, clock), clock, "console:ani")
    await chat.send("/kasus_saya")
    assert chat.text == t("case.none_open")
    await chat.send("/kasus Sumarni")
    await chat.send("Bansos belum cair")
    await chat.send("Bantuan tahap 3 belum masuk rekening.")
    await chat.send("tanpa tanggal")
    await chat.send("mendesak")
    await chat.send("/kasus_saya")
    assert t("case.pick_open", count=1) in chat.text
    case_id = await only_case_id(sessions)
    listed = t(
        "case.list_item",
        id=case_id,
        name="Sumarni",
        category=t("case.category.bansos_belum_cair"),
        status=t("case.status.baru"),
    )
    assert chat.last[-1].options[0].label == listed + t("case.urgent_marker")
    await chat.send("1")
    await chat.send("selesai")
    await chat.send("Sudah cair setelah data diperbaiki.")
    assert t("case.updated", id=case_id, status=t("case.status.selesai")) in chat.text
    async with sessions() as session:
        case = await session.scalar(select(CaseNote))
        update = await session.scalar(select(CaseUpdate))
    assert case.status is CaseStatus.SELESAI and case.closed_at == NOW
    assert update.note == "Sudah cair setelah data diperbaiki."
    await chat.send("/kasus_saya")
    assert chat.text == t("case.none_open")


async def test_the_kpm_card_masks_the_nik_shows_komponen_and_the_phone_to_her_pendamping(
    sessions,
) -> None:
    world = await build_world(sessions)
    clock = FixedClock(NOW)
    chat = Chat(make_engine(sessions, clock), clock, "console:ani")
    await chat.send("/kpm siti aminah")
    card = chat.text
    async with sessions() as session:
        from models.tables import Kpm

        kpm = await session.get(Kpm, world.kpm["Siti Aminah"])
    assert card == t(
        "kpm.card",
        name="Siti Aminah",
        id_pkh=kpm.id_pkh,
        nik="*" * 12 + kpm.nik[-4:],
        phone=kpm.phone,  # Ani is her pendamping: she needs to call
        kelompok="Kelompok Melati",
        status=t("kpm.status.aktif"),
        komponen="• Anak SD" + t("kpm.card_until", date="Kamis, 1 Maret 2029"),
        attendance=t("kpm.card_no_meetings"),
        period="November 2026",
        commitments="• Anak SD: Hadir di sekolah (min. 85%) — belum diverifikasi",
        recent=t("kpm.card_recent_empty"),
        cases=t("kpm.card_no_cases"),
        graduation=t(
            "kpm.card_graduation", stage="Penjajakan", assessed=t("kpm.card_graduation_unassessed")
        ),
    )
    assert kpm.nik not in card and kpm.nik[-4:] in card
    dewi = Chat(make_engine(sessions, clock), clock, "console:dewi")  # the coordinator
    await dewi.send("/kpm siti aminah")
    masked = kpm.phone[:3] + "*" * (len(kpm.phone) - 6) + kpm.phone[-3:]
    assert kpm.phone not in dewi.text and masked in dewi.text


async def test_the_schedule_rule_is_set_and_the_next_meeting_moved(sessions) -> None:
    world = await build_world(sessions)
    clock = FixedClock(NOW)
    chat = Chat(make_engine(sessions, clock), clock, "console:ani")
    await chat.send("/jadwal Mawar")
    assert chat.text == t(
        "schedule.view",
        name="Kelompok Mawar",
        rule="Selasa minggu kedua, jam 09.00, di Balai Desa",
        next=t("schedule.no_next"),
    )
    await chat.send("ubah aturan jadwal")
    await chat.send("kapan-kapan saja")
    assert t("schedule.rule_invalid") in chat.text
    await chat.send("Kamis minggu ketiga jam 13.30 di Rumah Bu Tuti")
    rule = "Kamis minggu ketiga, jam 13.30, di Rumah Bu Tuti"
    assert chat.text == t("schedule.rule_saved", name="Kelompok Mawar", rule=rule)
    async with sessions() as session:
        kelompok = await session.get(Kelompok, world.mawar)
    assert (kelompok.rule_weekday, kelompok.rule_week_of_month) == (3, 3)
    assert kelompok.rule_time == time(13, 30) and "Tuti" in (kelompok.place or "")
    await chat.send("/jadwal Melati")
    assert chat.text == t(
        "schedule.view",
        name="Kelompok Melati",
        rule="Selasa minggu kedua, jam 09.00, di Balai Desa",
        next=t("schedule.next", date="Minggu, 22 November 2026", place="Balai Desa"),
    ) + "\n" + t("reach.line", ways=t("reach.way", way=t("reach.whatsapp"), count=12))
    await chat.send("2")
    await chat.send("kemarin")
    assert t("schedule.date_past", date="Sabtu, 21 November 2026") in chat.text
    await chat.send("29/11")
    await chat.send("Posyandu Melati")
    moved = t(
        "schedule.moved",
        name="Kelompok Melati",
        date="Minggu, 29 November 2026",
        place="Posyandu Melati",
    )
    assert chat.text == moved
    async with sessions() as session:
        meeting = await session.get(Meeting, world.melati_today)
    assert meeting.meeting_date == date(2026, 11, 29) and meeting.place == "Posyandu Melati"


async def test_moving_a_meeting_in_chat_withdraws_its_reminders_and_sends_a_notice(
    sessions,
) -> None:
    from datetime import UTC, datetime

    from models.enums import OutboxStatus
    from models.messaging.tables import Outbox
    from scheduler.reminders import enqueue_reminders

    world = await build_world(sessions)
    async with sessions.begin() as session:
        meeting = await session.get(Meeting, world.melati_today)
        meeting.meeting_date = date(2026, 11, 26)
        meeting.starts_at = datetime(2026, 11, 26, 2, tzinfo=UTC)  # Thursday 09:00 WIB
        meeting.updated_at = NOW  # set by hand: the table's default would be the real clock
    sweep_at = datetime(2026, 11, 23, 10, tzinfo=UTC)  # Monday 17:00 WIB: 3-day reminder due
    first = await enqueue_reminders(
        sessions,
        now=sweep_at,
        offsets_days=[3, 1],
        reminder_time=time(16, 0),
        quiet_start=time(21, 0),
        quiet_end=time(6, 0),
    )
    assert first.enqueued == 24  # both offsets, each held until its own time
    clock = FixedClock(sweep_at)
    chat = Chat(make_engine(sessions, clock), clock, "console:ani")
    await chat.send("/jadwal Melati")
    await chat.send("pindahkan pertemuan berikutnya")
    await chat.send("30/11")
    await chat.send("tempat sama")
    same_place = t("schedule.same_place")
    moved = t(
        "schedule.moved", name="Kelompok Melati", date="Senin, 30 November 2026", place=same_place
    )
    assert chat.text == moved
    async with sessions() as session:
        rows = list(await session.scalars(select(Outbox)))
    reminders = [r for r in rows if r.kind == "meeting_reminder"]
    notices = [r for r in rows if r.kind == "meeting_changed"]
    assert {r.status for r in reminders} == {OutboxStatus.CANCELLED}
    assert len(notices) == 12 and all(r.status is OutboxStatus.PENDING for r in notices)
    assert notices[0].payload["key"] == "reminder.changed"
    assert notices[0].payload["values"]["date"] == "Senin, 30 November 2026"
    again = await enqueue_reminders(
        sessions,
        now=datetime(2026, 11, 27, 10, tzinfo=UTC),
        offsets_days=[3, 1],
        reminder_time=time(16, 0),
        quiet_start=time(21, 0),
        quiet_end=time(6, 0),
    )
    assert again.enqueued == 24  # both reminders again, for the new date


async def test_the_holiday_notice_button_moves_the_meeting(sessions) -> None:
    world = await build_world(sessions)
    clock = FixedClock(NOW)
    ani = Chat(make_engine(sessions, clock), clock, "console:ani")
    await ani.send(choice=f"move:{world.melati_today}:2026-11-23")
    assert ani.text == t("holiday.moved", date="Senin, 23 November 2026")
    async with sessions() as session:
        meeting = await session.get(Meeting, world.melati_today)
    assert meeting.meeting_date == date(2026, 11, 23)
    budi = Chat(make_engine(sessions, clock), clock, "console:budi")
    await budi.send(choice=f"move:{world.melati_today}:2026-11-24")
    assert budi.text == t("access.not_yours")


async def test_an_urgent_case_alerts_the_coordinator_of_the_region_at_once(sessions) -> None:
    from models.messaging.tables import Outbox
    from models.tables import ChannelIdentity

    world = await build_world(sessions)
    async with sessions.begin() as session:
        session.add(
            ChannelIdentity(
                address="whatsapp:+6281211119999", channel=Channel.WHATSAPP, staff_id=world.dewi
            )
        )
    clock = FixedClock(NOW)
    chat = Chat(make_engine(sessions, clock), clock, "console:ani")
    await chat.send("/kasus Nur Hasanah")
    await chat.send("perlindungan anak")
    await chat.send("Anak sering tidak pulang, ada tanda kekerasan.")
    await chat.send("tanpa tanggal")
    async with sessions() as session:
        alerts = list(await session.scalars(select(Outbox).where(Outbox.kind == "alert")))
        case = await session.scalar(select(CaseNote))
    assert {a.address for a in alerts} == {"console:dewi", "whatsapp:+6281211119999"}
    assert alerts[0].payload["key"] == "alert.urgent_case"
    assert alerts[0].payload["values"]["category"] == t("case.category.perlindungan_anak")
    # Everyone told is in the family's scope (her region's coordinator, the supervisor):
    # the alert names her, so that they know whom to help.
    assert alerts[0].payload["values"]["kpm"] == "Nur Hasanah"
    assert case.escalated_to_id == world.dewi and case.escalated_at == NOW


async def test_an_ordinary_case_alerts_nobody(sessions) -> None:
    from models.messaging.tables import Outbox

    await build_world(sessions)
    clock = FixedClock(NOW)
    chat = Chat(make_engine(sessions, clock), clock, "console:ani")
    await chat.send("/kasus Sumarni")
    await chat.send("pendidikan")
    await chat.send("Anak pindah sekolah, data belum diperbarui.")
    await chat.send("tanpa tanggal")
    await chat.send("biasa")
    async with sessions() as session:
        assert list(await session.scalars(select(Outbox))) == []
