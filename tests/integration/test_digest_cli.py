"""`pendamping digest`, run as an operator runs it, on the demo kabupaten.

``--dry-run`` prints the digest and, with ``--out``, saves a chart and a workbook that
decode; bad options stop with one line naming the option; a real run queues the three
outbox rows under the weekly keys the scheduler uses, once.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import time_machine
from sqlalchemy import func, select
from typer.testing import CliRunner

from bot.bootstrap import build_app, digest_options
from bot.cli import cli
from bot.config import Settings
from handlers.i18n import Translator
from models.enums import Channel, OutboxStatus, StaffRole
from models.messaging.tables import Outbox, ReportFile
from models.messaging.templates import TEMPLATES
from models.tables import ChannelIdentity, Kelompok, Staff
from reporting.chart import chart_size
from reporting.digest import Digest, build_digest, coordinators, iso_week, staff_timezone
from scheduler.digests import (
    due_moment,
    enqueue_digests,
    figures_as_of,
    parse_week,
)
from tests.on_whatsapp import on_whatsapp

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # Monday 30 November 2026, 09:00 in Jakarta


@pytest.fixture(autouse=True)
def clock():
    """`pendamping digest` reads the system clock: every test here runs at ``NOW``."""
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
t = Translator()


def invoke(db_url: str, *args: str):
    env = {
        "PENDAMPING_DATABASE_URL": db_url,
        "PENDAMPING_CONFIG": "",
        "COLUMNS": "1000",  # rich wraps printed lines at the console width
    }
    return CliRunner().invoke(cli, list(args), env=env)


def this_week() -> str:
    """The ISO week `pendamping digest` picks by default (demo region: Asia/Jakarta)."""
    today = NOW.astimezone(ZoneInfo("Asia/Jakarta")).date()
    return iso_week(today - timedelta(days=today.weekday()))


@pytest.fixture
def demo_db(db_url: str) -> str:
    result = invoke(db_url, "init", "--demo")
    assert result.exit_code == 0, result.output
    return db_url


def run(db_url: str, job):
    """Run ``job(app)`` against the database, outside the command line."""

    async def go():
        app = build_app(Settings(database={"url": db_url}))
        try:
            return await job(app)
        finally:
            await app.close()

    return asyncio.run(go())


def expected_digest(db_url: str, week: str) -> tuple[Staff, Digest, list[str], int]:
    """The coordinator, their digest of ``week`` built directly, the active pendamping's
    names and the number of kelompok."""

    async def job(app):
        settings = app.settings
        options = digest_options(app)
        async with app.sessions() as session:
            (member,) = await coordinators(session)
            zone = await staff_timezone(session, member, options.default_timezone)
            due = due_moment(
                parse_week(week),
                settings.reporting.digest_weekday,
                settings.reporting.digest_time,
                zone,
            )
            digest = await build_digest(
                session,
                member,
                as_of=figures_as_of(due),
                options=options,
                translate=Translator(settings.general.locale),
                week=week,
            )
            names = list(
                await session.scalars(
                    select(Staff.name)
                    .where(Staff.role == StaffRole.PENDAMPING, Staff.active)
                    .order_by(Staff.name)
                )
            )
            kelompok = await session.scalar(select(func.count()).select_from(Kelompok))
        return member, digest, names, kelompok

    return run(db_url, job)


def count(db_url: str, table) -> int:
    async def job(app):
        async with app.sessions() as session:
            return await session.scalar(select(func.count()).select_from(table))

    return run(db_url, job)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"  # the first chunk, as the PNG format requires
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_dry_run_prints_the_digest_and_saves_a_chart_and_a_workbook_that_decode(
    demo_db: str, tmp_path: Path
) -> None:
    week = this_week()
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    result = invoke(demo_db, "digest", "--dry-run", "--week", week, "--out", str(out_dir))
    assert result.exit_code == 0, result.output
    member, digest, names, kelompok = expected_digest(demo_db, week)
    assert t("cli.digest.heading", name=member.name, id=member.id, week=week) in result.output
    assert digest.text in result.output  # the whole text, as it would be sent
    assert digest.text.startswith("📊 Ringkasan mingguan PKH — Sukamaju")
    assert digest.ref_day == parse_week(week) - timedelta(days=1)  # up to the day before
    assert all(name in digest.text for name in names) and len(names) == 3
    assert t(
        "cli.digest.saved", chart=digest.chart_filename, workbook=digest.workbook_filename
    ) in result.output
    assert sorted(path.name for path in out_dir.iterdir()) == sorted(
        [digest.chart_filename, digest.workbook_filename]
    )

    chart = (out_dir / digest.chart_filename).read_bytes()
    assert png_size(chart) == chart_size(len(names)) == chart_size(len(digest.figures.pendamping))

    book = openpyxl.load_workbook(out_dir / digest.workbook_filename)
    assert book.sheetnames == [
        t("digest.sheet.kelompok"),
        t("digest.sheet.pendamping"),
        t("digest.sheet.absentees"),
    ]
    by_kelompok, by_pendamping, absentees = book.worksheets
    assert by_kelompok.max_row == 1 + kelompok
    assert by_kelompok["A1"].value == t("digest.col.kelompok")
    assert sorted(row[0] for row in by_pendamping.iter_rows(min_row=2, values_only=True)) == names
    assert absentees.max_row >= 1 and absentees["A1"].value

    assert count(demo_db, Outbox) == 0  # a dry run writes nothing
    assert count(demo_db, ReportFile) == 0


def one_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert "Traceback" not in output
    return lines[0]


def test_bad_options_stop_with_one_line_naming_the_option(demo_db: str, tmp_path: Path) -> None:
    bad_week = invoke(demo_db, "digest", "--week", "2026-W99")
    assert bad_week.exit_code != 0
    line = one_line(bad_week.output)
    assert line == t("cli.error", message=t("cli.digest.bad_week", week="2026-W99"))
    assert line.startswith(t("cli.error", message="--week"))

    unknown = invoke(demo_db, "digest", "--coordinator", "99999")
    assert unknown.exit_code != 0
    assert one_line(unknown.output) == t(
        "cli.error", message=t("cli.digest.not_coordinator", id=99999)
    )

    async def a_pendamping(app):
        async with app.sessions() as session:
            return await session.scalar(select(Staff.id).where(Staff.role == StaffRole.PENDAMPING))

    pendamping = run(demo_db, a_pendamping)
    not_coordinator = invoke(demo_db, "digest", "--coordinator", str(pendamping))
    assert not_coordinator.exit_code != 0
    assert one_line(not_coordinator.output) == t(
        "cli.error", message=t("cli.digest.not_coordinator", id=pendamping)
    )

    missing = tmp_path / "nowhere"
    no_dir = invoke(demo_db, "digest", "--dry-run", "--out", str(missing))
    assert no_dir.exit_code != 0
    assert one_line(no_dir.output) == t("cli.digest.out_not_a_directory", path=missing)
    not_dry = invoke(demo_db, "digest", "--out", str(tmp_path))
    assert not_dry.exit_code != 0
    assert one_line(not_dry.output) == t("cli.digest.out_needs_dry_run")

    assert count(demo_db, Outbox) == 0 and count(demo_db, ReportFile) == 0


def test_a_linked_coordinator_gets_three_outbox_rows_once(demo_db: str) -> None:
    week = this_week()

    async def link(app):
        async with app.sessions.begin() as session:
            (member,) = await coordinators(session)
            session.add(
                ChannelIdentity(
                    address="telegram:555001", channel=Channel.TELEGRAM, staff_id=member.id
                )
            )
            return member.id, member.name

    staff_id, name = run(demo_db, link)
    first = invoke(demo_db, "digest", "--week", week)
    assert first.exit_code == 0, first.output
    assert t("cli.digest.queued", name=name, id=staff_id, week=week, channel="telegram") in (
        first.output
    )

    async def rows(app):
        async with app.sessions() as session:
            outbox = list(await session.scalars(select(Outbox).order_by(Outbox.id)))
            files = {f.id: f for f in await session.scalars(select(ReportFile))}
            return outbox, files

    outbox, files = run(demo_db, rows)
    assert [row.kind for row in outbox] == ["weekly_digest", "digest_file", "digest_file"]
    assert [row.dedupe_key for row in outbox] == [
        f"digest:{staff_id}:{week}:{part}" for part in ("text", "chart", "workbook")
    ]
    assert all(row.address == "telegram:555001" for row in outbox)
    assert all(row.channel is Channel.TELEGRAM for row in outbox)
    assert all(row.status is OutboxStatus.PENDING for row in outbox)
    text, chart_row, workbook_row = outbox
    assert text.payload["text"].startswith("📊 Ringkasan mingguan PKH — Sukamaju")
    # Outside WhatsApp's window the text goes as the template digest.summary: its values
    # travel with it (template variables are made for WhatsApp rows only).
    assert text.payload["key"] == "digest.summary" and "template_variables" not in text.payload
    assert set(text.payload["values"]) == set(TEMPLATES["digest.summary"].names)
    assert text.payload["values"]["scope"] == "Sukamaju"
    summary = run(demo_db, lambda app: on_whatsapp(app.sessions, text.kind, text.payload))
    assert summary.status is OutboxStatus.PENDING and summary.template_variables is not None
    assert summary.template_variables["1"] == "Sukamaju"
    assert chart_row.payload["key"] == "digest.chart_caption"
    assert workbook_row.payload["key"] == "digest.workbook_caption"
    chart = files[chart_row.payload["file_id"]]
    workbook = files[workbook_row.payload["file_id"]]
    assert len(files) == 2
    assert chart.content_type == "image/png" and chart.content.startswith(PNG_SIGNATURE)
    assert png_size(chart.content) == chart_size(3)
    assert workbook.content_type == XLSX and workbook.content.startswith(b"PK")
    assert chart.staff_id == workbook.staff_id == staff_id
    assert chart.expires_at - chart.created_at == timedelta(days=7)

    again = invoke(demo_db, "digest", "--week", week)
    assert again.exit_code == 0, again.output
    assert t("cli.digest.already_sent", name=name, id=staff_id, week=week) in again.output
    default_week = invoke(demo_db, "digest")  # this week by default: the same keys
    assert t("cli.digest.already_sent", name=name, id=staff_id, week=week) in (
        default_week.output
    )
    assert count(demo_db, Outbox) == 3
    assert count(demo_db, ReportFile) == 2  # no orphan files either

    async def scheduler_sweep(app):
        settings = app.settings
        zone = ZoneInfo(settings.general.timezone)
        due = due_moment(
            parse_week(week),
            settings.reporting.digest_weekday,
            settings.reporting.digest_time,
            zone,
        )
        return await enqueue_digests(
            app.sessions,
            now=due + timedelta(hours=1),
            weekday=settings.reporting.digest_weekday,
            at=settings.reporting.digest_time,
            options=digest_options(app),
            translate=Translator(settings.general.locale),
        )

    report = run(demo_db, scheduler_sweep)
    assert (report.due, report.sent) == (1, 0)  # the scheduler sees the week as sent
    assert count(demo_db, Outbox) == 3
