"""What `pendamping outbox` and `pendamping doctor` say about SMS: the segments sent this
month per kabupaten, and the monthly budget used and left (``[sms]``)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from bot.bootstrap import App
from handlers.i18n import Translator
from models.messaging.sms_usage import (
    KabupatenSms,
    SmsUsage,
    month_bounds,
    sms_by_kabupaten,
    sms_sent,
)
from models.rules.calendar import zone


@dataclass(frozen=True)
class MonthSms:
    month: str  # "2026-12", in the deployment's time zone
    total: SmsUsage
    by_kabupaten: list[KabupatenSms]


async def month_sms(app: App, session: AsyncSession, *, per_kabupaten: bool) -> MonthSms:
    """This month's SMS (and, when asked, per kabupaten)."""
    now = app.clock.now()
    start, end = month_bounds(now, app.settings.general.timezone)
    total = await sms_sent(session, start, end)
    by_kabupaten = (
        await sms_by_kabupaten(session, start, end) if per_kabupaten and total.messages else []
    )
    month = f"{now.astimezone(zone(app.settings.general.timezone)):%Y-%m}"
    return MonthSms(month, total, by_kabupaten)


def budget_sentence(app: App, t: Translator, used: int) -> str | None:
    """The budget used and left, or spent; None without a budget."""
    budget = app.settings.sms.monthly_budget_segments
    if not budget:
        return None
    if used >= budget:
        return t("cli.outbox.sms_budget_spent", used=used, budget=budget)
    return t("cli.outbox.sms_budget", used=used, budget=budget, left=budget - used)


def print_sms(app: App, out: Console, t: Translator, sms: MonthSms) -> None:
    """For `pendamping outbox`: the month's SMS per kabupaten, then the budget."""
    if sms.by_kabupaten:
        table = Table(
            t("cli.col.kabupaten"),
            t("cli.col.messages"),
            t("cli.col.segments"),
            title=t("cli.outbox.sms_title", month=sms.month),
        )
        for row in sms.by_kabupaten:
            name = row.kabupaten or t("cli.outbox.sms_not_kpm")
            table.add_row(name, str(row.messages), str(row.segments))
        out.print(table)
    sentence = budget_sentence(app, t, sms.total.segments)
    if sentence:
        out.print(sentence, markup=False)


def doctor_sms(app: App, t: Translator, used: int) -> tuple[bool, str]:
    """For `pendamping doctor`: (spent, detail)."""
    sentence = budget_sentence(app, t, used)
    if sentence is None:
        return False, t("cli.doctor.sms_no_budget", used=used)
    return used >= app.settings.sms.monthly_budget_segments, sentence
