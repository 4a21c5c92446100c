"""The ``[retention]`` settings as the housekeeping sweep applies them, and `doctor`'s rows:
the months in force for each kind and the oldest row still held (a warning when it is
older than its retention by more than a day: the sweep is not running)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from rich.table import Table

from bot.bootstrap import App
from bot.commands import Marks, translator
from bot.config import Settings
from models.retention import KINDS, Retention, months_before, oldest_rows

LATE = timedelta(days=1)


def retention_policy(settings: Settings) -> Retention:
    r = settings.retention
    return Retention(
        inbound_text_months=r.inbound_text_months,
        media_months=r.media_months,
        conversation_months=r.conversation_months,
        outbox_payload_months=r.outbox_payload_months,
        outbox_row_months=r.outbox_row_months,
        audit_months=r.audit_months,
        batch_rows=r.batch_rows,
    )


async def doctor_retention(app: App, table: Table) -> None:
    """One row per kind: months kept and the oldest row held."""
    t, marks = translator(app), Marks(translator(app))
    policy = retention_policy(app.settings)
    async with app.read_sessions() as session:
        oldest = await oldest_rows(session)
    now = app.clock.now()
    zone = ZoneInfo(app.settings.general.timezone)
    for kind in KINDS:
        months, at = policy.months(kind), oldest[kind]
        shown = _day(at, zone) if at else t("cli.doctor.retention_none")
        late = bool(months and at and at < months_before(now, months) - LATE)
        if not months:
            detail = t("cli.doctor.retention_forever", oldest=shown)
        elif late:
            detail = t("cli.doctor.retention_late", months=months, oldest=shown)
        else:
            detail = t("cli.doctor.retention_months", months=months, oldest=shown)
        table.add_row(
            t("cli.doctor.retention", kind=t(f"cli.retention.kind.{kind}")),
            marks.warn if late else marks.ok,
            detail,
        )


def _day(at: datetime, zone: ZoneInfo) -> str:
    return f"{at.astimezone(zone):%Y-%m-%d}"
