"""/ekspor: a coordinator's attendance, cases, graduation or commitment check data as an
Excel file."""

from __future__ import annotations

import io
from datetime import date, timedelta
from enum import StrEnum
from typing import TypedDict, cast

from babel.dates import format_date
from babel.numbers import format_decimal
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.flow import PROMPT_KEY, Ctx, Flow, StepResult
from handlers.local_time import local_today
from handlers.messages import Document, IncomingMessage, Option, Reply
from models.audit import audit
from models.scope import kelompok_scope
from reporting.export_files import ExportFormat, content_type
from reporting.exports import ExportKind, ExportRequest, ExportTooLarge, Period, write_export


class Step(StrEnum):
    """The steps of this flow, as kept in conversation state."""

    PICK_KIND = "pick_kind"
    PICK_PERIOD = "pick_period"


class ExportData(TypedDict, total=False):
    """What the flow keeps between steps (conversation state, stored as JSON)."""

    kind: str  # an ExportKind value: attendance, cases, graduation or komitmen


def _data(ctx: Ctx) -> ExportData:
    return cast(ExportData, ctx.data)


KINDS = tuple(kind.value for kind in ExportKind)
PERIODS = ("this_month", "last_month", "last_3_months", "this_year")
CHAT_MAX_ROWS = 50_000
"""A chat export reads this many rows at most (a few MB, a few seconds, well within the
file sizes Telegram and WhatsApp accept); more is for `pendamping export`."""


def period_of(choice: str, today: date) -> Period:
    """The local dates a period option stands for; periods that include today end today."""
    month_start = today.replace(day=1)
    if choice == "last_month":
        last_day = month_start - timedelta(days=1)
        return Period(last_day.replace(day=1), last_day)
    if choice == "last_3_months":
        start = month_start
        for _ in range(2):
            start = (start - timedelta(days=1)).replace(day=1)
        return Period(start, today)
    if choice == "this_year":
        return Period(today.replace(month=1, day=1), today)
    return Period(month_start, today)


async def entry(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """Start: which data to export."""
    options = [Option(kind, ctx.t(f"export.kind.{kind}")) for kind in KINDS]
    return ctx.ask(Step.PICK_KIND, ctx.t("export.ask_kind"), options)


async def pick_kind(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """Kehadiran, Kasus, Graduasi or Komitmen."""
    if ctx.choice not in KINDS:
        return ctx.retry(ctx.t("export.kind_invalid"))
    _data(ctx)["kind"] = ctx.choice
    options = [Option(period, ctx.t(f"export.period.{period}")) for period in PERIODS]
    kind = ctx.t(f"export.kind.{ctx.choice}")
    return ctx.ask(Step.PICK_PERIOD, ctx.t("export.ask_period", kind=kind), options)


async def pick_period(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """The period; then the export is written and sent."""
    if ctx.choice not in PERIODS:
        return ctx.retry(ctx.t("export.period_invalid"))
    kept = _data(ctx).get("kind")
    if kept not in KINDS:  # state from elsewhere: ask for the kind again
        return await entry(message, ctx)
    kind = ExportKind(kept)
    period = period_of(ctx.choice, await local_today(ctx))
    request = ExportRequest(
        kind=kind,
        period=period,
        scope=kelompok_scope(ctx.staff),
        default_timezone=ctx.settings.default_timezone,
        commitments=ctx.settings.commitments,
        komponen_labels={kind: rule.label for kind, rule in ctx.settings.catalog.rules.items()},
        case_category_labels=ctx.settings.case_rules.labels(),
        locale=ctx.settings.locale,
    )
    await audit(
        ctx.session,
        actor="staff",
        actor_staff_id=ctx.staff.id,
        action=f"export.{kind.value}",
        entity="export",
        entity_id=None,
        detail={"from": period.start.isoformat(), "to": period.end.isoformat()},
    )
    values = {"kind": ctx.t(f"export.kind.{kind.value}"), "period": _period_text(ctx, period)}
    filename = (
        f"{ctx.t(f'export.file.{kind.value}')}_{period.start:%Y-%m-%d}_{period.end:%Y-%m-%d}.xlsx"
    )
    t = ctx.t

    async def written(session: AsyncSession) -> tuple[Reply, ...]:
        # After the step's transaction: a year of a region's marks must not hold the
        # write lock while the workbook is written.
        buffer = io.BytesIO()
        try:
            rows = await write_export(
                session, request, buffer, ExportFormat.XLSX, t, max_rows=CHAT_MAX_ROWS
            )
        except ExportTooLarge:
            limit = format_decimal(CHAT_MAX_ROWS, locale=t.locale)
            return (Reply(t("export.too_large", limit=limit, **values)),)
        if rows == 0:
            return (Reply(t("export.empty", **values)),)
        document = Document(filename, buffer.getvalue(), content_type(ExportFormat.XLSX))
        count = format_decimal(rows, locale=t.locale)
        return (Reply(text=t("export.ready", rows=count, **values), document=document),)

    ctx.data.pop(PROMPT_KEY, None)
    return StepResult(replies=(*ctx.notes, Reply("", later=written)), next_step=None)


def _period_text(ctx: Ctx, period: Period) -> str:
    def written(day: date) -> str:
        return format_date(day, "d MMMM y", locale=ctx.t.locale)

    return ctx.t("export.period_range", start=written(period.start), end=written(period.end))


FLOW = Flow(
    name="export",
    entry=entry,
    steps={Step.PICK_KIND: pick_kind, Step.PICK_PERIOD: pick_period},
    roles=frozenset({"koordinator", "supervisor", "admin"}),
)
