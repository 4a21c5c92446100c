"""/serahkan: a supervisor or coordinator hands a pendamping's kelompok over to another
pendamping in their scope (a pendamping who leaves, is on leave, or has too many), with
their open cases and what waits to be sent, and can end the first one's access with it.
Both are told in chat; the change is audited under the one who made it."""

from __future__ import annotations

from enum import StrEnum
from typing import TypedDict, cast

from sqlalchemy import func, select

from handlers.flow import Ctx, Flow, Pick, StepResult, option_value, picked_id
from handlers.messages import IncomingMessage, Option
from models.scope import OutOfScope
from models.staff_changes import StaffChangeError, deactivate, pendamping_in_scope, reassign
from models.tables import Kelompok, Staff


class Step(StrEnum):
    """The steps of this flow, as kept in conversation state."""

    SOURCE = "source"  # whose kelompok
    TARGET = "target"  # to whom
    CONFIRM = "confirm"  # hand over, or hand over and end the first one's access


class HandoverData(TypedDict, total=False):
    source_id: int
    source_name: str
    target_id: int
    target_name: str
    kelompok: int  # how many kelompok the source has


def _data(ctx: Ctx) -> HandoverData:
    return cast(HandoverData, ctx.data)


async def entry(message: IncomingMessage, ctx: Ctx) -> StepResult:
    staff = await pendamping_in_scope(ctx.session, ctx.staff)
    rows = await ctx.session.execute(
        select(Kelompok.pendamping_id, func.count())
        .where(Kelompok.pendamping_id.in_([s.id for s in staff]))
        .group_by(Kelompok.pendamping_id)
    )
    counts = {staff_id: count for staff_id, count in rows}
    with_groups = [s for s in staff if counts.get(s.id)]
    if not with_groups:
        return ctx.done(ctx.t("handover.nobody"))
    options = [
        Option(option_value(Pick.STAFF, s.id), ctx.t("handover.staff_label", name=s.name,
                                                     count=counts[s.id]))
        for s in with_groups
    ]
    return ctx.ask(Step.SOURCE, ctx.t("handover.ask_source"), options)


async def _in_scope(ctx: Ctx, *staff_ids: int) -> tuple[list[Staff], list[Staff]]:
    """The pendamping named (in that order) and all those in scope; OutOfScope when one
    named is not among them (a forged or stale button)."""
    everyone = await pendamping_in_scope(ctx.session, ctx.staff)
    found = {s.id: s for s in everyone}
    missing = [staff_id for staff_id in staff_ids if staff_id not in found]
    if missing:
        raise OutOfScope(f"staff {missing}")
    return [found[staff_id] for staff_id in staff_ids], everyone


async def source(message: IncomingMessage, ctx: Ctx) -> StepResult:
    staff_id = picked_id(ctx.choice, Pick.STAFF)
    if staff_id is None:
        return ctx.retry(ctx.t("handover.pick_invalid"))
    (chosen,), everyone = await _in_scope(ctx, staff_id)
    count = await ctx.session.scalar(
        select(func.count()).select_from(Kelompok).where(Kelompok.pendamping_id == chosen.id)
    )
    _data(ctx).update({"source_id": chosen.id, "source_name": chosen.name, "kelompok": count or 0})
    others = [s for s in everyone if s.id != chosen.id and s.active]
    if not others:
        return ctx.done(ctx.t("handover.no_target", name=chosen.name))
    options = [Option(option_value(Pick.STAFF, s.id), s.name) for s in others]
    return ctx.ask(Step.TARGET, ctx.t("handover.ask_target", name=chosen.name), options)


async def target(message: IncomingMessage, ctx: Ctx) -> StepResult:
    staff_id = picked_id(ctx.choice, Pick.STAFF)
    if staff_id is None or staff_id == _data(ctx)["source_id"]:
        return ctx.retry(ctx.t("handover.pick_invalid"))
    (chosen,), _ = await _in_scope(ctx, staff_id)
    data = _data(ctx)
    data.update({"target_id": chosen.id, "target_name": chosen.name})
    text = ctx.t(
        "handover.confirm",
        source=data["source_name"],
        target=chosen.name,
        count=data["kelompok"],
    )
    options = [
        Option("hand", ctx.t("handover.option_hand")),
        Option("end", ctx.t("handover.option_end", name=data["source_name"])),
        Option("cancel", ctx.t("handover.option_cancel")),
    ]
    return ctx.ask(Step.CONFIRM, text, options)


async def confirm(message: IncomingMessage, ctx: Ctx) -> StepResult:
    if ctx.choice == "cancel":
        return ctx.done(ctx.t("handover.cancelled"))
    if ctx.choice not in ("hand", "end"):
        return ctx.retry(ctx.t("handover.confirm_invalid"))
    data = _data(ctx)
    (first, second), _ = await _in_scope(ctx, data["source_id"], data["target_id"])
    try:
        if ctx.choice == "end":
            handover = await deactivate(ctx.session, first, now=ctx.now, to=second, by=ctx.staff)
        else:
            handover = await reassign(ctx.session, first, second, now=ctx.now, by=ctx.staff)
    except StaffChangeError:
        return ctx.done(ctx.t("handover.not_possible", source=first.name, target=second.name))
    text = ctx.t(
        "handover.done",
        count=len(handover.kelompok) if handover else 0,
        kelompok=", ".join(handover.kelompok) if handover else "-",
        target=second.name,
        cases=handover.cases if handover else 0,
    )
    if ctx.choice == "end":
        text += "\n" + ctx.t("handover.ended", name=first.name)
    return ctx.done(text)


FLOW = Flow(
    name="handover",
    entry=entry,
    steps={Step.SOURCE: source, Step.TARGET: target, Step.CONFIRM: confirm},
    roles=frozenset({"supervisor", "koordinator", "admin"}),
)
