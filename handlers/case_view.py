"""A case read in chat (/lihat_kasus NOMOR, or the button of an urgent-case alert): the KPM,
category, status, description and what was done, for staff whose scope holds the KPM."""

from __future__ import annotations

from enum import StrEnum

from handlers.flow import Ctx, Flow, StepResult
from handlers.local_time import staff_zone
from handlers.messages import IncomingMessage
from handlers.parsing.dates import format_date_id
from handlers.referrals import case_hint_of_case
from models.cases import case_detail


class Step(StrEnum):
    """The steps of this flow, as kept in conversation state."""

    NUMBER = "number"  # the case number, when the command named none


async def entry(message: IncomingMessage, ctx: Ctx) -> StepResult:
    if not ctx.text:
        return ctx.ask(Step.NUMBER, ctx.t("case_view.ask_number"))
    return await number(message, ctx)


async def number(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """A case number, with or without its "#"."""
    written = ctx.text.strip().lstrip("#")
    if not (written.isascii() and written.isdecimal()):
        return ctx.retry(ctx.t("case_view.number_invalid"))
    case = await case_detail(ctx.session, ctx.staff, int(written))  # else OutOfScope
    zone = await staff_zone(ctx)
    history = "\n".join(
        ctx.t(
            "case_view.update",
            when=at.astimezone(zone).strftime("%d/%m/%Y %H:%M"),
            who=who or "-",
            status=ctx.t(f"case.status.{status}"),
            note=note or "-",
        )
        for at, who, status, note in case.updates
    ) or ctx.t("case_view.no_updates")
    return ctx.done(
        ctx.t(
            "case_view.card",
            id=case.id,
            kpm=case.kpm,
            kelompok=case.kelompok or "-",
            category=ctx.settings.case_rules.label(ctx.t, case.category),
            severity=ctx.t(f"case.severity.{case.severity}"),
            status=ctx.t(f"case.status.{case.status}"),
            description=case.description,
            follow_up=format_date_id(case.follow_up) if case.follow_up else "-",
            opened=case.created_at.astimezone(zone).strftime("%d/%m/%Y %H:%M"),
            by=case.recorded_by or "-",
            history=history,
        )
        + await case_hint_of_case(ctx, case.id, case.category)  # the sistem sumber
    )


FLOW = Flow(
    name="case_view",
    entry=entry,
    steps={Step.NUMBER: number},
    roles=frozenset({"pendamping", "supervisor", "koordinator", "admin"}),
)
