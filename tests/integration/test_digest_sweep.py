"""The weekly digest sweep: due at the coordinator's weekday and time, sent late once,
never twice; and /ringkasan on demand through the chat engine."""

from __future__ import annotations

import io
from datetime import UTC, datetime, time

from openpyxl import load_workbook
from sqlalchemy import func, select

from handlers.i18n import Translator
from models.enums import Channel, OutboxStatus
from models.messaging.tables import Outbox, ReportFile
from models.rules.clock import FixedClock
from models.tables import ChannelIdentity, Kelompok
from reporting.digest import DigestOptions
from scheduler.digests import enqueue_digests, parse_week
from tests.digest_world import build_digest_world
from tests.on_whatsapp import on_whatsapp
from tests.world import Chat, make_engine

MONDAY_0659 = datetime(2026, 11, 22, 23, 59, tzinfo=UTC)  # Monday 23 Nov, 06:59 WIB
MONDAY_0700 = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
WEDNESDAY = datetime(2026, 11, 25, 5, 0, tzinfo=UTC)
NEXT_MONDAY = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)


async def _sweep(sessions, now: datetime):  # noqa: ANN001, ANN202
    return await enqueue_digests(
        sessions,
        now=now,
        weekday="mon",
        at=time(7, 0),
        options=DigestOptions(),
        translate=Translator("id"),
    )


async def _link(sessions, staff_id: int, address: str) -> None:  # noqa: ANN001
    async with sessions.begin() as session:
        session.add(ChannelIdentity(address=address, channel=Channel.TELEGRAM, staff_id=staff_id))


async def _outbox(sessions) -> list[tuple[str, str, str | None]]:  # noqa: ANN001
    async with sessions() as session:
        rows = await session.execute(
            select(Outbox.address, Outbox.kind, Outbox.dedupe_key).order_by(Outbox.id)
        )
        return [tuple(row) for row in rows]


async def test_due_at_seven_on_monday_and_never_twice(sessions) -> None:
    ids = await build_digest_world(sessions)
    await _link(sessions, ids["dewi"], "telegram:1001")

    early = await _sweep(sessions, MONDAY_0659)
    assert (early.due, early.sent) == (0, 0)  # last week's digest is stale, this one not due

    report = await _sweep(sessions, MONDAY_0700)
    assert (report.due, report.sent, report.unreachable) == (2, 1, 1)  # Eko has no chat
    week = f"digest:{ids['dewi']}:2026-W48"
    assert await _outbox(sessions) == [
        ("telegram:1001", "weekly_digest", f"{week}:text"),
        ("telegram:1001", "digest_file", f"{week}:chart"),
        ("telegram:1001", "digest_file", f"{week}:workbook"),
    ]
    async with sessions() as session:
        text = await session.scalar(select(Outbox.payload).where(Outbox.kind == "weekly_digest"))
        files = (await session.execute(select(ReportFile).order_by(ReportFile.id))).scalars().all()
    assert "Data sampai Minggu, 22 November 2026" in text["text"]
    # Outside WhatsApp's window the text goes as the template digest.summary: its values.
    assert text["key"] == "digest.summary" and "template_variables" not in text
    assert text["values"] == {
        "scope": "Sukamaju",
        "date": "Minggu, 22 November 2026",
        "held": 1,
        "planned": 2,
        "rate": "50%",
        "urgent": 1,
    }
    assert await on_whatsapp(sessions, "weekly_digest", text) == (
        OutboxStatus.PENDING,
        None,
        {
            "1": "Sukamaju",
            "2": "Minggu, 22 November 2026",
            "3": "1",
            "4": "2",
            "5": "50%",
            "6": "1",
        },
    )
    assert [f.filename for f in files] == ["kehadiran-2026-W48.png", "ringkasan-2026-W48.xlsx"]
    assert files[0].content[:4] == b"\x89PNG"
    assert load_workbook(io.BytesIO(files[1].content)).sheetnames[0] == "Per kelompok"

    again = await _sweep(sessions, MONDAY_0700)
    later = await _sweep(sessions, WEDNESDAY)
    assert (again.sent, later.sent) == (0, 0)
    assert len(await _outbox(sessions)) == 3

    next_week = await _sweep(sessions, NEXT_MONDAY)
    assert next_week.sent == 1
    keys = [key for _, kind, key in await _outbox(sessions) if kind == "weekly_digest"]
    assert keys == [f"{week}:text", f"digest:{ids['dewi']}:2026-W49:text"]


async def test_a_digest_missed_at_its_time_is_sent_late_with_the_same_figures(sessions) -> None:
    ids = await build_digest_world(sessions)
    await _link(sessions, ids["dewi"], "telegram:1001")

    report = await _sweep(sessions, WEDNESDAY)  # the process was down on Monday

    assert report.sent == 1
    async with sessions() as session:
        payload = await session.scalar(
            select(Outbox.payload).where(Outbox.dedupe_key == f"digest:{ids['dewi']}:2026-W48:text")
        )
        count = await session.scalar(select(func.count()).select_from(Outbox))
    assert "Data sampai Minggu, 22 November 2026" in payload["text"]  # not Wednesday's
    assert count == 3


async def test_ringkasan_in_chat_sends_text_chart_and_workbook(sessions) -> None:
    ids = await build_digest_world(sessions)
    async with sessions.begin() as session:
        session.add(
            ChannelIdentity(address="console:dewi", channel=Channel.CONSOLE, staff_id=ids["dewi"])
        )
        session.add(
            ChannelIdentity(address="console:ani", channel=Channel.CONSOLE, staff_id=ids["ani"])
        )
    clock = FixedClock(datetime(2026, 11, 22, 3, 0, tzinfo=UTC))
    engine = make_engine(sessions, clock)

    replies = await Chat(engine, clock, "console:dewi").send("/ringkasan")

    assert len(replies) == 3
    assert "Pertemuan November 2026: 1 dari 2 terlaksana" in replies[0].text
    assert "Data sampai Minggu, 22 November 2026" in replies[0].text  # today, on demand
    chart, workbook = replies[1].document, replies[2].document
    assert chart is not None and chart.content_type == "image/png"
    assert chart.content[:4] == b"\x89PNG"
    assert workbook is not None and workbook.filename == "ringkasan-2026-W47.xlsx"
    book = load_workbook(io.BytesIO(workbook.content), read_only=True)
    names = [row[0] for row in book["Per pendamping"].iter_rows(min_row=2, values_only=True)]
    assert names == ["Ani Suryani", "Budi Santoso"]

    # A pendamping asking gets their own figures only.
    mine = await Chat(engine, clock, "console:ani").send("ringkasan")
    assert "Ani Suryani" in mine[0].text and "Budi Santoso" not in mine[0].text


def test_weeks_are_read_the_iso_way() -> None:
    assert parse_week("2026-W48").isoformat() == "2026-11-23"
    assert parse_week(" 2026-w01 ").isoformat() == "2025-12-29"
    for bad in ("2026-48", "2026-W54", "minggu lalu", ""):
        try:
            parse_week(bad)
        except ValueError as problem:
            assert "2026-W47" in str(problem)  # the error shows an example
        else:
            raise AssertionError(f"{bad!r} was accepted")


async def test_a_digest_caught_up_in_quiet_hours_waits_for_the_morning(sessions) -> None:
    ids = await build_digest_world(sessions)
    await _link(sessions, ids["dewi"], "telegram:1001")
    evening = datetime(2026, 11, 23, 15, 30, tzinfo=UTC)  # Monday 22:30 WIB

    report = await enqueue_digests(
        sessions,
        now=evening,
        weekday="mon",
        at=time(7, 0),
        options=DigestOptions(),
        translate=Translator("id"),
        quiet=(time(21, 0), time(6, 0)),
    )

    assert report.sent == 1
    async with sessions() as session:
        rows = (await session.execute(select(Outbox.next_attempt_at, Outbox.payload))).all()
    assert {at for at, _ in rows} == {datetime(2026, 11, 23, 23, 0, tzinfo=UTC)}  # 06:00 WIB
    assert {payload["zone"] for _, payload in rows} == {"Asia/Jakarta"}


async def test_one_coordinator_s_broken_data_does_not_stop_the_others(sessions) -> None:
    ids = await build_digest_world(sessions)
    await _link(sessions, ids["dewi"], "telegram:1001")
    await _link(sessions, ids["eko"], "telegram:1002")
    async with sessions.begin() as session:  # a control character typed into a roster
        kenanga = await session.get(Kelompok, ids["kenanga"])
        assert kenanga is not None
        kenanga.name = "Kelompok\x01Kenanga"

    report = await _sweep(sessions, MONDAY_0700)

    assert (report.sent, report.failed) == (2, 0)  # the workbook drops the character
    async with sessions() as session:
        file = await session.scalar(
            select(ReportFile).where(
                ReportFile.staff_id == ids["eko"], ReportFile.filename.like("%.xlsx")
            )
        )
    assert file is not None
    book = load_workbook(io.BytesIO(file.content), read_only=True)
    names = [row[0] for row in book["Per kelompok"].iter_rows(min_row=2, values_only=True)]
    assert names == ["KelompokKenanga"]


async def test_a_digest_that_fails_to_build_is_counted_and_the_others_still_go(
    sessions, monkeypatch
) -> None:
    import scheduler.digests as digests

    ids = await build_digest_world(sessions)
    await _link(sessions, ids["dewi"], "telegram:1001")
    await _link(sessions, ids["eko"], "telegram:1002")
    real = digests.build_digest

    async def flaky(session, staff, **kwargs):  # noqa: ANN001, ANN202 - an unexpected bug
        if staff.id == ids["dewi"]:
            raise RuntimeError("boom")
        return await real(session, staff, **kwargs)

    monkeypatch.setattr(digests, "build_digest", flaky)
    report = await _sweep(sessions, MONDAY_0700)
    assert (report.due, report.sent, report.failed) == (2, 1, 1)
    keys = [key for _, kind, key in await _outbox(sessions) if kind == "weekly_digest"]
    assert keys == [f"digest:{ids['eko']}:2026-W48:text"]

    monkeypatch.setattr(digests, "build_digest", real)  # fixed: the next run sends it
    assert (await _sweep(sessions, MONDAY_0700)).sent == 1
