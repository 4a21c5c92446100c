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


REGIONAL = """
[twilio]
account_sid = "AC{sid}"
auth_token = "secret"
whatsapp_sender = "+14155238886"
sms_sender = "+6281100000001"

[[twilio.senders]]
name = "jateng"
regions = ["33"]
whatsapp_sender = "+6281100003300"
messages_per_second = 40

[[twilio.senders]]
name = "jatim"
regions = ["35.07"]
messaging_service_sid = "MG{service}"
messages_per_second = 1
""".format(sid="a" * 32, service="b" * 32)


def test_regional_senders_each_have_their_row_rate_and_verdict(
    db_url: str, tmp_path
) -> None:
    """Melati's desa is in Jawa Tengah (33): its 12 reminders are planned on Jawa Tengah's
    sender at its 40/s; 40,000 messages waiting for Malang (35.07) are on Jawa Timur's
    Messaging Service, too slow for the day at 1/s; nothing for the default sender."""
    _melati_on_thursday(db_url)

    async def codes() -> None:
        from sqlalchemy import insert, update

        from models.tables import Region

        engine = create_engine(db_url)
        try:
            async with session_factory(engine).begin() as session:
                for name, code in (("Jawa Tengah", "33"), ("Kab. Sukamaju", "33.99"),
                                   ("Kec. Sumber", "33.99.01"),
                                   ("Desa Sukamaju", "33.99.01.2001")):
                    await session.execute(
                        update(Region).where(Region.name == name).values(code=code)
                    )
                await session.execute(insert(Outbox), [
                    {"channel": Channel.WHATSAPP, "address": f"whatsapp:+6281{n:08d}",
                     "kind": "pendamping_nudge", "payload": {}, "region": "35.07.01.2001",
                     "next_attempt_at": MONDAY_MORNING}
                    for n in range(40_000)
                ])
        finally:
            await engine.dispose()

    asyncio.run(codes())
    config = tmp_path / "regional.toml"
    config.write_text(REGIONAL, encoding="utf-8")
    with time_machine.travel(MONDAY_MORNING, tick=False):
        result = invoke(db_url, "capacity", extra_env={"PENDAMPING_CONFIG": str(config)})
    assert result.exit_code == 1, result.output  # Jawa Timur's sender is short
    # channel, sender, queued, planned, rate, hours, window, fits
    assert _row(result.output, "whatsapp/jateng")[1:5] == ["+6281100003300", "0", "12", "40/s"]
    assert _row(result.output, "whatsapp/jateng")[7] == t("cli.capacity.yes")
    jatim = _row(result.output, "whatsapp/jatim")
    assert jatim[1:5] == ["MG" + "b" * 32, "40000", "0", "1/s"]
    assert jatim[7] == t("cli.capacity.no")
    default = next(row for row in (
        [cell.strip() for cell in line.strip().strip("│").split("│")]
        for line in result.output.splitlines() if "│" in line
    ) if row[0] == "whatsapp")
    assert default[1:4] == ["+14155238886", "0", "0"]
    sms = _row(result.output, "sms")  # Jawa Timur's service sends SMS too
    assert sms[1] == "+6281100000001"
    short = t("cli.capacity.short", channel="whatsapp/jatim", count=40000, hours="11.1",
              window="11.0")
    assert short in flat(result.output)
