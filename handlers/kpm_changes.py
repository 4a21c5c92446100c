"""Families who change, in chat: /pindah_kelompok NAMA moves a KPM to another of the pendamping's
kelompok, /keluar_pkh NAMA records that a KPM left the programme (why, and on which day).
Both show what will happen and save only after "Ya"."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import TypedDict, cast

from sqlalchemy import select

from handlers import kpm_lookup
from handlers.flow import (
    Ctx,
    Flow,
    Pick,
    StepResult,
    option_value,
    picked_id,
    picked_key,
    remembered_options,
)
from handlers.local_time import local_today
from handlers.messages import IncomingMessage, Option
from handlers.parsing.dates import format_date_id, parse_date
from models.enums import ExitReason, KpmStatus
from models.kpm import kpm_in_scope
from models.kpm_changes import KpmChangeError, leave, move
from models.scope import OutOfScope
from models.tables import Kelompok, Kpm

SAVE, CANCEL, TODAY = "save", "cancel", "today"


class Step(StrEnum):
    """The steps of both flows, as kept in conversation state."""

    KELOMPOK = "kelompok"  # /pindah_kelompok: the kelompok the KPM joins
    REASON = "reason"  # /keluar_pkh: why
    DATE = "date"  # /keluar_pkh: since when
    CONFIRM = "confirm"  # both: "Ya" saves


class ChangeData(TypedDict, total=False):
    """What the two flows keep between steps."""

    kpm_id: int
    kpm_name: str
    kelompok_id: int  # /pindah: the kelompok the KPM joins
    kelompok_name: str
    reason: str  # /keluar: an ExitReason value
    on: str  # /keluar: the day it happened (ISO)


def _data(ctx: Ctx) -> ChangeData:
    return cast(ChangeData, ctx.data)


async def _own_kpm(ctx: Ctx, kpm_id: int) -> Kpm:
    """The KPM, in this pendamping's own kelompok (her scope: the flows are hers alone)."""
    return await kpm_in_scope(ctx.session, ctx.staff, kpm_id)


async def _own_kelompok(ctx: Ctx) -> list[Kelompok]:
    return list(
        await ctx.session.scalars(
            select(Kelompok).where(Kelompok.pendamping_id == ctx.staff.id).order_by(Kelompok.name)
        )
    )


def _confirm_options(ctx: Ctx, yes: str) -> list[Option]:
    return [Option(SAVE, ctx.t(yes)), Option(CANCEL, ctx.t("kpm_change.option_cancel"))]


def _not_confirmed(ctx: Ctx) -> StepResult | None:
    """The answer to "Ya / Batal" when it is not "Ya": cancelled, or asked again."""
    if ctx.choice == CANCEL:
        return ctx.done(ctx.t("kpm_change.cancelled"))
    if ctx.choice != SAVE:
        return ctx.retry(ctx.t("kpm_change.confirm_invalid"))
    return None


def _refusal(ctx: Ctx, error: KpmChangeError, name: str) -> StepResult:
    return ctx.done(ctx.t(f"kpm_change.{error.key}", name=name))


# -- /pindah_kelompok ------------------------------------------------------------------


async def move_entry(message: IncomingMessage, ctx: Ctx) -> StepResult:
    return await kpm_lookup.start(ctx, _move_kpm_chosen)


async def _move_kpm_chosen(ctx: Ctx, kpm_id: int, name: str) -> StepResult:
    kpm = await _own_kpm(ctx, kpm_id)
    if kpm.status is not KpmStatus.AKTIF:
        return ctx.done(ctx.t("kpm_change.not_active", name=kpm.nama_pengurus))
    others = [k for k in await _own_kelompok(ctx) if k.id != kpm.kelompok_id]
    if not others:
        return ctx.done(ctx.t("kpm_change.no_other_kelompok", name=kpm.nama_pengurus))
    _data(ctx).update({"kpm_id": kpm.id, "kpm_name": kpm.nama_pengurus})
    options = [Option(option_value(Pick.KELOMPOK, k.id), k.name) for k in others]
    return ctx.ask(
        Step.KELOMPOK, ctx.t("kpm_change.ask_kelompok", name=kpm.nama_pengurus), options
    )


async def move_kelompok(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """A kelompok tapped, numbered, or named by a part of its name that only it has (the
    engine resolves all three to the option)."""
    kelompok_id = picked_id(ctx.choice, Pick.KELOMPOK)
    label = dict(remembered_options(ctx.data)[0]).get(ctx.choice or "")
    if kelompok_id is None or label is None:
        return ctx.retry(ctx.t("kpm_change.kelompok_invalid"))
    _data(ctx).update({"kelompok_id": kelompok_id, "kelompok_name": label})
    text = ctx.t("kpm_change.confirm_move", name=_data(ctx)["kpm_name"], kelompok=label)
    return ctx.ask(Step.CONFIRM, text, _confirm_options(ctx, "kpm_change.option_move"))


async def move_confirm(message: IncomingMessage, ctx: Ctx) -> StepResult:
    if (answer := _not_confirmed(ctx)) is not None:
        return answer
    data = _data(ctx)
    kpm = await _own_kpm(ctx, data["kpm_id"])
    kelompok = await ctx.session.get(Kelompok, data["kelompok_id"])
    if kelompok is None or kelompok.pendamping_id != ctx.staff.id:
        raise OutOfScope(f"kelompok {data['kelompok_id']}")
    try:
        moved = await move(ctx.session, kpm, kelompok, by=ctx.staff, now=ctx.now)
    except KpmChangeError as error:
        return _refusal(ctx, error, kpm.nama_pengurus)
    return ctx.done(
        ctx.t(
            "kpm_change.moved",
            name=kpm.nama_pengurus,
            before=moved.from_kelompok or "-",
            after=moved.to_kelompok,
        )
    )


MOVE_FLOW = Flow(
    name="kpm_move",
    entry=move_entry,
    steps={
        **kpm_lookup.steps(_move_kpm_chosen),
        Step.KELOMPOK: move_kelompok,
        Step.CONFIRM: move_confirm,
    },
)


# -- /keluar_pkh -----------------------------------------------------------------------


async def leave_entry(message: IncomingMessage, ctx: Ctx) -> StepResult:
    return await kpm_lookup.start(ctx, _leave_kpm_chosen)


async def leave_for(ctx: Ctx, kpm_id: int, name: str) -> StepResult:
    """/keluar_pkh for a KPM already known (an "usulan keluar" case just saved): the
    conversation goes on in this flow."""
    return (await _leave_kpm_chosen(ctx, kpm_id, name)).handed_to(LEAVE_FLOW.name)


async def _leave_kpm_chosen(ctx: Ctx, kpm_id: int, name: str) -> StepResult:
    kpm = await _own_kpm(ctx, kpm_id)
    if kpm.status is not KpmStatus.AKTIF:
        return ctx.done(ctx.t("kpm_change.not_active", name=kpm.nama_pengurus))
    _data(ctx).update({"kpm_id": kpm.id, "kpm_name": kpm.nama_pengurus})
    options = [
        Option(option_value(Pick.REASON, reason.value), ctx.t(f"kpm.exit_reason.{reason.value}"))
        for reason in ExitReason
    ]
    text = ctx.t("kpm_change.ask_reason", name=kpm.nama_pengurus)
    return ctx.ask(Step.REASON, text, options)


async def leave_reason(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """A reason tapped, numbered, or named by a part of its label that only it has
    ("meninggal", "mandiri")."""
    reason = picked_key(ctx.choice, Pick.REASON)
    if reason not in {r.value for r in ExitReason}:
        return ctx.retry(ctx.t("kpm_change.reason_invalid"))
    _data(ctx)["reason"] = reason
    options = [Option(TODAY, ctx.t("kpm_change.option_today"))]
    return ctx.ask(Step.DATE, ctx.t("kpm_change.ask_date"), options)


def _label(ctx: Ctx, reason: ExitReason) -> str:
    return ctx.t(f"kpm.exit_reason.{reason.value}")


async def leave_date(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """The day it happened: "Hari ini", or a date typed ("kemarin", "3/11")."""
    today = await local_today(ctx)
    day: date | None = today if ctx.choice == TODAY else None
    if day is None and ctx.text:
        day = parse_date(ctx.text, today)
    if day is None:
        return ctx.retry(ctx.t("kpm_change.date_invalid"))
    if day > today:
        return ctx.retry(ctx.t("kpm_change.date_future", date=format_date_id(day)))
    data = _data(ctx)
    data["on"] = day.isoformat()
    text = ctx.t(
        "kpm_change.confirm_leave",
        name=data["kpm_name"],
        reason=_label(ctx, ExitReason(data["reason"])),
        date=format_date_id(day),
    )
    return ctx.ask(Step.CONFIRM, text, _confirm_options(ctx, "kpm_change.option_leave"))


async def leave_confirm(message: IncomingMessage, ctx: Ctx) -> StepResult:
    if (answer := _not_confirmed(ctx)) is not None:
        return answer
    data = _data(ctx)
    kpm = await _own_kpm(ctx, data["kpm_id"])
    reason = ExitReason(data["reason"])
    on = date.fromisoformat(data["on"])
    try:
        await leave(
            ctx.session,
            kpm,
            reason,
            on,
            today=await local_today(ctx),
            by=ctx.staff,
            now=ctx.now,
        )
    except KpmChangeError as error:
        return _refusal(ctx, error, kpm.nama_pengurus)
    return ctx.done(
        ctx.t(
            "kpm_change.left",
            name=kpm.nama_pengurus,
            reason=_label(ctx, reason),
            date=format_date_id(on),
        )
    )


LEAVE_FLOW = Flow(
    name="kpm_leave",
    entry=leave_entry,
    steps={
        **kpm_lookup.steps(_leave_kpm_chosen),
        Step.REASON: leave_reason,
        Step.DATE: leave_date,
        Step.CONFIRM: leave_confirm,
    },
)
