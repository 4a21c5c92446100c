"""/ekspor end to end: a coordinator picks the data and the period and gets a workbook."""

from __future__ import annotations

import io
from datetime import datetime

import openpyxl
from sqlalchemy import select

from handlers.i18n import Translator
from models.enums import Channel
from models.rules.clock import FixedClock
from models.tables import AuditLog, ChannelIdentity
from tests.export_world import build_export_world
from tests.world import NOW, Chat, build_world, make_engine

t = Translator("id")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
KINDS = [t(f"export.kind.{kind}") for kind in ("attendance", "cases", "graduation", "komitmen")]
PERIODS = [
    t(f"export.period.{period}")
    for period in ("this_month", "last_month", "last_3_months", "this_year")
]


def period(start: str, end: str) -> str:
    return t("export.period_range", start=start, end=end)


def column(key: str) -> str:
    return t(f"export.column.{key}")


def workbook_rows(chat: Chat) -> list[dict[str, object]]:
    (document,) = [reply.document for reply in chat.last if reply.document is not None]
    assert document.content_type == XLSX and document.filename.endswith(".xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(document.content)).active
    header, *rows = sheet.iter_rows(values_only=True)
    return [dict(zip(header, row, strict=True)) for row in rows]


async def test_a_coordinator_exports_this_month_s_attendance_of_their_kabupaten(sessions) -> None:
    world = await build_export_world(sessions)
    clock = FixedClock(NOW)  # 22 November 2026
    dewi = Chat(make_engine(sessions, clock), clock, "console:dewi")
    await dewi.send("/ekspor")
    assert [option.label for option in dewi.last[-1].options] == KINDS
    await dewi.send("kehadiran")  # the label typed (also a command word outside the flow)
    assert [option.label for option in dewi.last[-1].options] == PERIODS
    await dewi.send("1")  # the number typed
    this_month = period("1 November 2026", "22 November 2026")
    kind = t("export.kind.attendance")
    assert t("export.ready", kind=kind, period=this_month, rows=5) in dewi.text
    filename = f"{t('export.file.attendance')}_2026-11-01_2026-11-22.xlsx"
    assert dewi.last[-1].document.filename == filename
    rows = workbook_rows(dewi)
    assert {row[column("kelompok")] for row in rows} == {"Kelompok Melati", "Kelompok Kenanga"}
    aminah = next(row for row in rows if row[column("nama_pengurus")] == "Siti Aminah")
    assert aminah[column("meeting_date")] == datetime(2026, 11, 10)
    assert aminah[column("recorded_at")] == datetime(2026, 11, 10, 10, 0)
    async with sessions() as session:
        audited = (await session.execute(select(AuditLog.actor_staff_id, AuditLog.action))).all()
    assert (world.base.dewi, "export.attendance") in audited


async def test_another_kabupaten_s_coordinator_gets_only_their_own_rows(sessions) -> None:
    world = await build_export_world(sessions)
    async with sessions.begin() as session:
        session.add(
            ChannelIdentity(address="console:rudi", channel=Channel.CONSOLE, staff_id=world.rudi)
        )
    clock = FixedClock(NOW)
    rudi = Chat(make_engine(sessions, clock), clock, "console:rudi")
    await rudi.send("/ekspor")
    await rudi.send(choice="cases")  # a tapped button
    await rudi.send("bulan INI")  # a label in any case
    rows = workbook_rows(rudi)
    assert [row[column("nama_pengurus")] for row in rows] == ["Hasnah"]
    assert rows[0][column("opened_at")] == datetime(2026, 11, 1, 0, 30)  # in Makassar time


async def test_a_coordinator_exports_the_commitment_checks_of_last_month(sessions) -> None:
    world = await build_export_world(sessions)
    clock = FixedClock(NOW)  # 22 November 2026
    dewi = Chat(make_engine(sessions, clock), clock, "console:dewi")
    await dewi.send("/ekspor")
    await dewi.send("komitmen")
    await dewi.send("bulan lalu")
    october = period("1 Oktober 2026", "31 Oktober 2026")
    kind = t("export.kind.komitmen")
    assert t("export.ready", kind=kind, period=october, rows=1) in dewi.text
    filename = f"{t('export.file.komitmen')}_2026-10-01_2026-10-31.xlsx"
    assert dewi.last[-1].document.filename == filename
    (row,) = workbook_rows(dewi)
    assert row[column("period")] == "Oktober 2026"
    assert row[column("nama_pengurus")] == "Siti Aminah"
    assert (row[column("komponen")], row[column("commitment")]) == ("Anak SD", "Hadir di sekolah")
    assert row[column("result")] == t("export.commitment_result.memenuhi")
    assert row[column("recorded_at")] == datetime(2026, 10, 28, 10, 0)
    async with sessions() as session:
        audited = (await session.execute(select(AuditLog.actor_staff_id, AuditLog.action))).all()
    assert (world.base.dewi, "export.komitmen") in audited


async def test_an_empty_period_says_so_and_sends_no_file(sessions) -> None:
    await build_world(sessions)  # groups and KPM, but no attendance recorded yet
    clock = FixedClock(NOW)
    dewi = Chat(make_engine(sessions, clock), clock, "console:dewi")
    await dewi.send("/ekspor")
    await dewi.send("1")
    await dewi.send("Bulan lalu")
    last_month = period("1 Oktober 2026", "31 Oktober 2026")
    assert dewi.text == t("export.empty", kind=t("export.kind.attendance"), period=last_month)
    assert all(reply.document is None for reply in dewi.last)
    await dewi.send("Tahun ini")  # the flow is over: this is no longer an answer
    assert all(reply.document is None for reply in dewi.last)


async def test_a_wrong_answer_is_asked_again_with_the_same_options(sessions) -> None:
    await build_export_world(sessions)
    clock = FixedClock(NOW)
    dewi = Chat(make_engine(sessions, clock), clock, "console:dewi")
    await dewi.send("/ekspor")
    await dewi.send("semuanya")
    assert t("export.kind_invalid") in dewi.text and len(dewi.last[-1].options) == 4
    await dewi.send("2")
    await dewi.send("9")
    assert t("export.period_invalid") in dewi.text and len(dewi.last[-1].options) == 4
    await dewi.send("/bantuan")
    assert t("help.in_flow", expected=t("expect.export.pick_period")) in dewi.text
    await dewi.send("3 bulan terakhir")
    three_months = period("1 September 2026", "22 November 2026")
    kind = t("export.kind.cases")
    assert t("export.ready", kind=kind, period=three_months, rows=4) in dewi.text
    assert len(workbook_rows(dewi)) == 4  # Kab. Sukamaju's cases, Ratna Sari's of October too


async def test_a_pendamping_cannot_export(sessions) -> None:
    await build_export_world(sessions)
    clock = FixedClock(NOW)
    ani = Chat(make_engine(sessions, clock), clock, "console:ani")
    await ani.send("/ekspor")
    assert ani.text == t("access.flow_not_for_role")
    await ani.send("1")  # picks from the menu shown instead, never an export
    assert all(reply.document is None for reply in ani.last)


async def test_an_export_too_large_for_chat_says_so_and_sends_no_file(
    sessions, monkeypatch
) -> None:
    import handlers.export

    monkeypatch.setattr(handlers.export, "CHAT_MAX_ROWS", 4)  # this month has 5 rows
    await build_export_world(sessions)
    clock = FixedClock(NOW)
    dewi = Chat(make_engine(sessions, clock), clock, "console:dewi")
    await dewi.send("/ekspor")
    await dewi.send("kehadiran")
    await dewi.send("1")
    assert all(reply.document is None for reply in dewi.last)
    this_month = period("1 November 2026", "22 November 2026")
    kind = t("export.kind.attendance")
    assert dewi.text == t("export.too_large", kind=kind, period=this_month, limit=4)
