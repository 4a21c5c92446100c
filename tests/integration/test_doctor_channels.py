"""`doctor` and `outbox` with channels configured, against the local provider fakes."""

from __future__ import annotations

import io

from rich.console import Console

from bot import commands
from bot.bootstrap import build_app
from bot.config import Settings
from models.db import migrate
from models.enums import Channel
from models.messaging.enqueue import Enqueue, Priority, enqueue
from models.messaging.templates import TEMPLATES
from scheduler.dispatcher import Dispatcher
from tests.cli_text import flat, t
from tests.fakes.twilio_api import FakeTwilioApi

REMINDER = TEMPLATES["reminder.kpm"].name  # the one template configured
SUMMARY = {variable.name: variable.example for variable in TEMPLATES["digest.summary"].variables}


def console() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, width=1000), buffer


async def test_doctor_checks_twilio_and_lists_missing_templates_and_failures(db_url) -> None:
    async with FakeTwilioApi() as fake:
        settings = Settings(
            database={"url": db_url},
            twilio={
                "account_sid": fake.account_sid,
                "auth_token": fake.auth_token,
                "whatsapp_sender": "+14155238886",
                "api_base_url": fake.base_url,
                "templates": {REMINDER: "HX" + "b" * 32},
            },
        )
        app = build_app(settings)
        try:
            await migrate.upgrade(app.engine)
            from bot.bootstrap import build_twilio

            channel = build_twilio(app)
            async with app.sessions.begin() as session:  # a digest whose template is missing
                await enqueue(
                    session,
                    [
                        Enqueue(
                            Channel.WHATSAPP,
                            "whatsapp:+6281234567890",
                            "weekly_digest",
                            {"text": "x", "key": "digest.summary", "values": SUMMARY},
                            priority=Priority.DIGEST,
                        )
                    ],
                    now=app.clock.now(),
                )
            await Dispatcher(
                app.sessions,
                {Channel.WHATSAPP: channel.send_claimed},
                {Channel.WHATSAPP: 80.0},
                app.clock,
            ).run_once()
            await channel.http.close()
            out, buffer = console()
            healthy = await commands.doctor(app, out, None)
            report = buffer.getvalue()
            listing, listed = console()
            await commands.outbox(app, listing)
        finally:
            await app.close()
    assert healthy
    account = next(line for line in report.splitlines() if t("cli.doctor.twilio_account") in line)
    assert t("cli.doctor.ok") in account and "(active)" in account
    names = [template.name for template in TEMPLATES.values()]
    missing = ", ".join(name for name in names if name != REMINDER)
    assert t(
        "cli.doctor.templates_missing", configured=1, total=len(names), names=missing
    ) in flat(report)
    assert "digest_summary" in missing and REMINDER not in missing.split(", ")
    assert t(
        "cli.doctor.failed", count=1, latest="#1 weekly_digest: outside the 24-hour window"
    ) in report  # the reason recorded with the row, as the dispatcher wrote it
    assert "whatsapp" in listed.getvalue() and "failed" in listed.getvalue()
    assert t("cli.failures.title") in listed.getvalue()
    assert "twilio.templates.digest_summary" in listed.getvalue()
