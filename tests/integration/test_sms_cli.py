"""`pendamping outbox` and `pendamping doctor` on SMS: the month's segments per kabupaten
and the monthly budget used and left (SMS sent through the real channel and dispatcher
to the local fake of Twilio first)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import time_machine

from models.db import create_engine, session_factory
from tests.cli_text import flat, t
from tests.integration.test_cli import invoke
from tests.sms_world import START, sms_env


def _send_sms_reminders(db_url: str) -> int:
    """Two KPM of Kelompok Mawar prefer SMS: their reminders go; the segments sent."""

    async def run() -> int:
        engine = create_engine(db_url)
        try:
            async with sms_env(session_factory(engine)) as env:
                await env.prefer_sms("Iis Dahlia", "Ani Marlina")
                await env.sweep()
                await env.dispatch()
                return sum(row.segments or 0 for row in await env.outbox())
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_outbox_shows_the_months_sms_per_kabupaten_and_the_budget(db_url: str) -> None:
    with time_machine.travel(START + timedelta(hours=1), tick=True):
        used = _send_sms_reminders(db_url)
        assert used >= 2
        budget = {"PENDAMPING_SMS_MONTHLY_BUDGET_SEGMENTS": str(used + 10)}
        outbox = invoke(db_url, "outbox", extra_env=budget)
        assert outbox.exit_code == 0, outbox.output
        text = flat(outbox.output)
        assert t("cli.outbox.sms_title", month="2026-11") in text
        assert f"Sukamaju │ 2 │ {used}" in text
        assert t("cli.outbox.sms_budget", used=used, budget=used + 10, left=10) in text
        doctor = invoke(db_url, "doctor", extra_env=budget)
        assert t("cli.outbox.sms_budget", used=used, budget=used + 10, left=10) in flat(
            doctor.output
        )

        spent = {"PENDAMPING_SMS_MONTHLY_BUDGET_SEGMENTS": str(used)}
        outbox = invoke(db_url, "outbox", extra_env=spent)
        assert t("cli.outbox.sms_budget_spent", used=used, budget=used) in flat(outbox.output)
        doctor = invoke(db_url, "doctor", extra_env=spent)
        assert t("cli.doctor.sms") in doctor.output
        assert t("cli.outbox.sms_budget_spent", used=used, budget=used) in flat(doctor.output)

        without = invoke(db_url, "doctor")
        assert t("cli.doctor.sms_no_budget", used=used) in flat(without.output)
    with time_machine.travel(START + timedelta(days=31), tick=True):  # December: none yet
        outbox = invoke(db_url, "outbox")
        assert t("cli.outbox.sms_title", month="2026-12") not in flat(outbox.output)
