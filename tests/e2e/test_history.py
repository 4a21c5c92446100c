"""Corrections keep their history: a mark corrected keeps who, when, before and after, and a
coordinator reads one KPM's changes with /riwayat NAMA; a pendamping outside the KPM's
kelompok cannot."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from handlers.i18n import Translator
from handlers.parsing.dates import format_date_id
from models.rules.clock import FixedClock
from models.tables import AuditLog, CaseNote
from tests.e2e.test_attendance_conversation import marks_of, record_sumarni_sick
from tests.world import NOW, Chat, build_world, make_engine

t = Translator()


async def test_a_corrected_mark_is_in_the_audit_and_in_the_coordinators_riwayat(
    sessions,
) -> None:
    world = await build_world(sessions)
    clock = FixedClock(NOW)
    ani = Chat(make_engine(sessions, clock), clock, "console:ani")
    await record_sumarni_sick(ani)
    clock.advance(timedelta(hours=2))
    await ani.send("/hadir")  # she came after all: the same meeting, corrected
    await ani.send(choice=ani.option("Hari ini"))
    await ani.send("5")
    await ani.send("semua hadir")
    await ani.send("lewati")
    await ani.send("simpan")
    assert t("attendance.updated", name="Kelompok Melati", hadir=12, total=12) in ani.text

    sumarni = world.kpm["Sumarni"]
    async with sessions() as session:
        correction = await session.scalar(
            select(AuditLog).where(AuditLog.action == "attendance.update")
        )
    assert correction.actor_staff_id == world.ani
    assert correction.detail["changed"] == {str(sumarni): ["sakit", "hadir"]}  # only hers

    dewi = Chat(make_engine(sessions, clock), clock, "console:dewi")
    await dewi.send("/riwayat Sumarni")
    line = t(
        "history.line",
        when="22/11/2026 12:00",  # 05:00 UTC, in Jakarta
        who="Ani Suryani",
        what=t(
            "history.attendance",
            date=format_date_id(date(2026, 11, 22)),
            before=t("export.mark.sakit"),
            after=t("export.mark.hadir"),
        ),
    )
    assert dewi.text == t("history.title", name="Sumarni") + "\n" + line

    await dewi.send("/riwayat Ratna Sari")  # present both times: nothing changed
    assert dewi.text == t("history.empty", name="Ratna Sari")
    budi = Chat(make_engine(sessions, clock), clock, "console:budi")
    await budi.send("/riwayat Sumarni")  # not one of his families
    assert budi.text == t("kpm.not_found", query="Sumarni")


async def test_a_case_opened_and_closed_reads_back_in_order(sessions) -> None:
    world = await build_world(sessions)
    clock = FixedClock(NOW)
    ani = Chat(make_engine(sessions, clock), clock, "console:ani")
    await ani.send("/kasus Siti Aminah")
    await ani.send(t("case.category.kks_bermasalah"))
    await ani.send("Kartu KKS terblokir sejak bulan lalu")
    await ani.send("tanpa tanggal")
    await ani.send("biasa")
    async with sessions() as session:
        case_id = await session.scalar(select(CaseNote.id))
    clock.advance(timedelta(days=1))
    await ani.send("/kasus_saya")
    await ani.send("1")
    await ani.send("selesai")
    await ani.send("Kartu sudah aktif lagi.")
    assert t("case.updated", id=case_id, status=t("case.status.selesai")) in ani.text
    dewi = Chat(make_engine(sessions, clock), clock, "console:dewi")
    await dewi.send("/riwayat Siti Aminah")
    lines = dewi.text.split("\n")
    assert lines[0] == t("history.title", name="Siti Aminah")
    assert lines[1].endswith(
        t(
            "history.case_update",
            id=case_id,
            before=t("case.status.baru"),
            after=t("case.status.selesai"),
        )
    )
    assert lines[2].endswith(
        t("history.case_open", id=case_id, category=t("case.category.kks_bermasalah"))
    )
    assert world.ani  # both written by Ani
    assert all("Ani Suryani" in line for line in lines[1:])


async def test_a_typed_correction_changes_only_those_it_names(sessions) -> None:
    world = await build_world(sessions)
    clock = FixedClock(NOW)
    ani = Chat(make_engine(sessions, clock), clock, "console:ani")
    await record_sumarni_sick(ani)
    await ani.send("/hadir")
    await ani.send(choice=ani.option("Hari ini"))
    await ani.send("5")
    await ani.send("tidak hadir: Ratna Sari (izin)")  # Sumarni keeps her saved "sakit"
    await ani.send("lewati")
    await ani.send("simpan")
    assert t("attendance.updated", name="Kelompok Melati", hadir=10, total=12) in ani.text
    marks = await marks_of(sessions, world.melati_today)
    absent = {kpm: mark for kpm, mark in marks.items() if mark != "hadir"}
    assert absent == {world.kpm["Sumarni"]: "sakit", world.kpm["Ratna Sari"]: "izin"}
    async with sessions() as session:
        correction = await session.scalar(
            select(AuditLog).where(AuditLog.action == "attendance.update")
        )
    assert correction.detail["changed"] == {str(world.kpm["Ratna Sari"]): ["hadir", "izin"]}

    await ani.send("/hadir")  # a line about everyone still speaks for everyone
    await ani.send(choice=ani.option("Hari ini"))
    await ani.send("5")
    await ani.send("semua hadir kecuali Ratna Sari (izin)")
    await ani.send("lewati")
    await ani.send("simpan")
    marks = await marks_of(sessions, world.melati_today)
    assert {kpm for kpm, mark in marks.items() if mark != "hadir"} == {world.kpm["Ratna Sari"]}
