"""`pendamping capacity [--date D]` and its doctor line: the messages due on a day per
channel (queued and still to be queued by the reminder sweep), the hours they need at the
configured rate, and whether they finish inside the sending window."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import time_machine

from models.db import create_engine, session_factory
from models.enums import Channel
from models.messaging.tables import Outbox
from models.tables import Meeting
from tests.cli_text import flat, t
from tests.integration.test_cli import invoke
from tests.world import build_world

MONDAY_MORNING = datetime(2026, 11, 23, 3, tzinfo=UTC)  # 10.00 WIB


def _melati_on_thursday(db_url: str, *, telegram_waiting: int = 0) -> None:
    """The test world, its Melati meeting on Thursday 26 November (12 members on
    WhatsApp: reminders on Monday and Wednesday at 16.00 WIB, none enqueued yet), and
    ``telegram_waiting`` messages waiting in the outbox for Telegram this morning."""

    async def run() -> None:
        engine = create_engine(db_url)
        try:
            sessions = session_factory(engine)
            world = await build_world(sessions)
            async with sessions.begin() as session:
                meeting = await session.get(Meeting, world.melati_today)
                meeting.meeting_date = date(2026, 11, 26)
                meeting.starts_at = datetime(2026, 11, 26, 2, tzinfo=UTC)
                meeting.updated_at = MONDAY_MORNING - timedelta(days=7)
                for n in range(telegram_waiting):
                    session.add(Outbox(channel=Channel.TELEGRAM, address=f"telegram:{n + 1}",
                                       kind="pendamping_nudge", payload={},
                                       next_attempt_at=MONDAY_MORNING))
        finally:
            await engine.dispose()

    asyncio.run(run())


def _row(output: str, channel: str) -> list[str]:
    line = next(line for line in output.splitlines() if line.strip("│ ").startswith(channel))
    return [cell.strip() for cell in line.strip().strip("│").split("│")]


def test_the_reminders_still_to_come_are_counted_on_their_day(db_url: str) -> None:
    _melati_on_thursday(db_url)
    with time_machine.travel(MONDAY_MORNING, tick=False):
        monday = invoke(db_url, "capacity")
        tuesday = invoke(db_url, "capacity", "--date", "2026-11-24")
        wednesday = invoke(db_url, "capacity", "--date", "2026-11-25")
    assert monday.exit_code == 0, monday.output
    assert t("cli.capacity.title", date="2026-11-23") in monday.output
    # channel, sender, queued, planned, rate, hours, window, fits
    whatsapp = _row(monday.output, "whatsapp")
    assert whatsapp[2:5] == ["0", "12", "80/s"]
    assert whatsapp[6:] == ["11.0", t("cli.capacity.yes")]  # 10.00 to 21.00 WIB
    assert t("cli.capacity.nothing", date="2026-11-24") in flat(tuesday.output)
    assert _row(wednesday.output, "whatsapp")[2:4] == ["0", "12"]
    assert _row(wednesday.output, "whatsapp")[6] == "15.0"  # a whole day: 06.00 to 21.00


def test_a_channel_too_slow_for_its_day_is_named_and_fails(db_url: str) -> None:
    _melati_on_thursday(db_url, telegram_waiting=10)
    slow = {"PENDAMPING_TELEGRAM_MESSAGES_PER_SECOND": "0.0001"}  # 10 messages: 27.8 hours
    with time_machine.travel(MONDAY_MORNING, tick=False):
        result = invoke(db_url, "capacity", extra_env=slow)
        doctor = invoke(db_url, "doctor", extra_env=slow)
        fine = invoke(db_url, "doctor")
    assert result.exit_code == 1, result.output
    assert _row(result.output, "telegram")[2] == "10"
    assert _row(result.output, "telegram")[7] == t("cli.capacity.no")
    short = t("cli.capacity.short", channel="telegram", count=10, hours="27.8", window="11.0")
    assert short in flat(result.output)
    assert short in flat(doctor.output)
    assert t("cli.doctor.capacity_ok", count=22) in flat(fine.output)  # 10 + 12


def test_a_sending_window_is_the_day_s_available_hours(db_url: str) -> None:
    _melati_on_thursday(db_url)
    window = {"PENDAMPING_SCHEDULER_SENDING_WINDOW_START": "09:00",
              "PENDAMPING_SCHEDULER_SENDING_WINDOW_END": "20:00"}
    with time_machine.travel(MONDAY_MORNING, tick=False):
        monday = invoke(db_url, "capacity", extra_env=window)
        wednesday = invoke(db_url, "capacity", "--date", "2026-11-25", extra_env=window)
    assert _row(monday.output, "whatsapp")[2:4] == ["0", "12"]
    assert _row(monday.output, "whatsapp")[6] == "10.0"  # 10.00 (now) to 20.00 WIB
    assert _row(wednesday.output, "whatsapp")[6] == "11.0"  # 09.00 to 20.00
