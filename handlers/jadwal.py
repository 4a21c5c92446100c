"""Schedule (/jadwal): see and set a kelompok's meeting rule (its planned meetings follow),
move the next meeting (a public holiday is asked about first) or cancel it."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import TypedDict, cast

from handlers.flow import Ctx, Flow, StepResult
from handlers.group_choice import SHORT_KEYS_RENAMED, GroupStep, choose_group, group_picked
from handlers.local_time import local_today
from handlers.messages import IncomingMessage, Option
from handlers.parsing.dates import format_date_id, parse_date
from handlers.parsing.schedule_rule import MeetingRule, describe_rule, parse_meeting_rule
from handlers.reach import reach_lines
from models.meeting_changes import meeting_changed
from models.meeting_rule import (
    MeetingNotPlanned,
    cancel_meeting,
    move_meeting,
    schedule_of,
    set_rule,
)
from models.reach_view import meeting_reach
from models.regions import kelompok_region_codes


class Step(StrEnum):
    """The steps of this flow, as kept in conversation state."""

    ACTION = "action"
    MOVE_DATE = "move_date"
    MOVE_HOLIDAY = "move_holiday"  # the day typed is a public holiday: keep it, or not
    MOVE_PLACE = "move_place"
    RULE = "rule"
    CANCEL = "cancel"  # "Ya, batalkan" or keep the meeting


class JadwalData(TypedDict, total=False):
    """What the flow keeps between steps (conversation state, stored as JSON)."""

    kelompok_id: int
    kelompok_name: str
    meeting_id: int | None  # the next planned meeting, the one a move or cancel applies to
    next_date: str  # ISO date: the day it is planned on now
    meeting_date: str  # ISO date: the day it moves to


def _data(ctx: Ctx) -> JadwalData:
    return cast(JadwalData, ctx.data)



MAX_PLACE = 200


async def entry(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """Start: pick the group, unless the command named it or there is only one."""
    return await choose_group(ctx, _group_chosen, prompt_key="schedule.pick_group")


async def pick_group(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """The group whose schedule to see."""
    return await group_picked(ctx, _group_chosen)


async def _group_chosen(ctx: Ctx, kelompok_id: int, name: str) -> StepResult:
    view = await schedule_of(ctx.session, ctx.staff, kelompok_id, await local_today(ctx))
    _data(ctx).update(
        {
            "kelompok_id": view.kelompok_id,
            "kelompok_name": view.name,
            "meeting_id": view.next_meeting_id,
        }
    )
    if view.next_date is not None:
        _data(ctx)["next_date"] = view.next_date.isoformat()
    complete = view.day_of_month is not None or (
        view.weekday is not None and view.week_of_month is not None
    )
    if complete and view.at is not None:
        rule = describe_rule(
            MeetingRule(view.weekday, view.week_of_month, view.at, view.place, view.day_of_month)
        )
    else:
        rule = ctx.t("schedule.no_rule")
    upcoming = (
        ctx.t("schedule.next", date=format_date_id(view.next_date), place=view.next_place or "-")
        if view.next_date
        else ctx.t("schedule.no_next")
    )
    options = [
        Option("rule", ctx.t("schedule.option_rule")),
        Option("move", ctx.t("schedule.option_move")),
    ]
    text = ctx.t("schedule.view", name=view.name, rule=rule, next=upcoming)
    if view.next_meeting_id is not None:
        options.append(Option("cancel", ctx.t("schedule.option_cancel")))
        reached = (await meeting_reach(ctx.session, [view.next_meeting_id])).get(
            view.next_meeting_id
        )
        if reached is not None:
            text += "\n" + reach_lines(ctx.t, reached)
    return ctx.ask(Step.ACTION, text, options)


async def action(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """Change the rule, or move the next meeting."""
    if ctx.choice == "rule":
        return ctx.ask(Step.RULE, ctx.t("schedule.ask_rule"))
    if ctx.choice == "move":
        return ctx.ask(Step.MOVE_DATE, ctx.t("schedule.ask_move_date"))
    if ctx.choice == "cancel" and _data(ctx).get("meeting_id"):
        day = date.fromisoformat(_data(ctx)["next_date"])
        text = ctx.t(
            "schedule.confirm_cancel", name=_data(ctx)["kelompok_name"], date=format_date_id(day)
        )
        options = [
            Option("yes", ctx.t("schedule.option_cancel_yes")),
            Option("no", ctx.t("schedule.option_cancel_no")),
        ]
        return ctx.ask(Step.CANCEL, text, options)
    return ctx.retry(ctx.t("schedule.action_invalid"))


async def cancel(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """"Ya, batalkan": the meeting is cancelled, its reminders withdrawn and the KPM who
    were reminded told; "Tidak": it stays."""
    if ctx.choice == "no":
        return ctx.done(ctx.t("schedule.cancel_kept"))
    if ctx.choice != "yes":
        return ctx.retry(ctx.t("schedule.cancel_invalid"))
    data = _data(ctx)
    meeting_id = data.get("meeting_id")
    assert meeting_id is not None  # the option is offered only with a next meeting
    try:
        meeting = await cancel_meeting(
            ctx.session, ctx.staff, data["kelompok_id"], meeting_id, now=ctx.now
        )
    except MeetingNotPlanned:
        return ctx.done(ctx.t("schedule.cancel_gone"))
    start, end = ctx.settings.quiet_hours
    report = await meeting_changed(
        ctx.session, meeting.id, now=ctx.now, cancelled=True, quiet_start=start, quiet_end=end
    )
    return ctx.done(
        ctx.t(
            "schedule.cancelled",
            name=data["kelompok_name"],
            date=format_date_id(meeting.meeting_date),
            told=report.notices,
        )
    )


async def rule(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """A rule such as "Selasa minggu kedua jam 09.00 di Balai Desa"."""
    parsed = parse_meeting_rule(ctx.text) if ctx.text else None
    if parsed is None:
        return ctx.retry(ctx.t("schedule.rule_invalid"))
    place = parsed.place[:MAX_PLACE] if parsed.place else None
    replanned = await set_rule(
        ctx.session,
        ctx.staff,
        _data(ctx)["kelompok_id"],
        weekday=parsed.weekday,
        week_of_month=parsed.week_of_month,
        day_of_month=parsed.day_of_month,
        at=parsed.at,
        place=place,
        today=await local_today(ctx),
        now=ctx.now,
    )
    start, end = ctx.settings.quiet_hours
    for meeting_id in replanned:  # reminders re-timed, the KPM already reminded told
        await meeting_changed(
            ctx.session, meeting_id, now=ctx.now, cancelled=False, quiet_start=start, quiet_end=end
        )
    saved = ctx.t(
        "schedule.rule_saved", name=_data(ctx)["kelompok_name"], rule=describe_rule(parsed)
    )
    if replanned:
        saved += "\n" + ctx.t("schedule.replanned", count=len(replanned))
    return ctx.done(saved)


async def move_date(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """The new date of the next meeting."""
    today = await local_today(ctx)
    day = parse_date(ctx.text, today) if ctx.text else None
    if day is None:
        return ctx.retry(ctx.t("attendance.date_invalid"))
    if day < today:
        return ctx.retry(ctx.t("schedule.date_past", date=format_date_id(day)))
    _data(ctx)["meeting_date"] = day.isoformat()
    calendar, region = ctx.settings.holidays, None
    if calendar.has_regional:  # the kelompok's region matters only for regional holidays
        kelompok_id = _data(ctx)["kelompok_id"]
        region = (await kelompok_region_codes(ctx.session, [kelompok_id])).get(kelompok_id)
    holiday = calendar.is_holiday(day, region)
    if holiday:  # the planner's calendar: ask, and offer the next working day there
        other = calendar.next_working_day(day, region)
        options = [
            Option("keep", ctx.t("schedule.option_holiday_keep")),
            Option(f"day:{other.isoformat()}", format_date_id(other)),
        ]
        text = ctx.t("schedule.move_holiday", date=format_date_id(day), holiday=holiday)
        return ctx.ask(Step.MOVE_HOLIDAY, text, options)
    return _ask_place(ctx)


def _ask_place(ctx: Ctx) -> StepResult:
    return ctx.ask(
        Step.MOVE_PLACE,
        ctx.t("schedule.ask_move_place"),
        [Option("same", ctx.t("schedule.option_same_place"))],
    )


async def move_holiday(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """On the holiday all the same, the working day offered, or another date typed."""
    if ctx.choice == "keep":
        return _ask_place(ctx)
    if ctx.choice and ctx.choice.startswith("day:"):
        _data(ctx)["meeting_date"] = ctx.choice.removeprefix("day:")
        return _ask_place(ctx)
    if ctx.text:
        return await move_date(message, ctx)
    return ctx.retry(ctx.t("schedule.holiday_invalid"))


async def move_place(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """Where the moved meeting takes place: the same place, or a new one typed."""
    if ctx.choice != "same" and len(ctx.text) < 3:
        return ctx.retry(ctx.t("schedule.place_invalid"))
    place = None if ctx.choice == "same" else ctx.text[:MAX_PLACE]
    day = date.fromisoformat(_data(ctx)["meeting_date"])
    meeting_id = await move_meeting(
        ctx.session,
        ctx.staff,
        _data(ctx)["kelompok_id"],
        _data(ctx).get("meeting_id"),
        day=day,
        at=None,
        place=place,
        now=ctx.now,
    )
    start, end = ctx.settings.quiet_hours
    await meeting_changed(
        ctx.session, meeting_id, now=ctx.now, cancelled=False, quiet_start=start, quiet_end=end
    )
    return ctx.done(
        ctx.t(
            "schedule.moved",
            name=_data(ctx)["kelompok_name"],
            date=format_date_id(day),
            place=place or ctx.t("schedule.same_place"),
        )
    )


FLOW = Flow(
    name="schedule",
    entry=entry,
    renamed=SHORT_KEYS_RENAMED,
    steps={
        GroupStep.PICK_GROUP: pick_group,
        Step.ACTION: action,
        Step.RULE: rule,
        Step.MOVE_DATE: move_date,
        Step.MOVE_HOLIDAY: move_holiday,
        Step.MOVE_PLACE: move_place,
        Step.CANCEL: cancel,
    },
)
