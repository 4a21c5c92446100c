"""Attendance (/hadir, "absen"): group, meeting, P2K2 session, marks, reasons, photo, save."""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Any, TypedDict, cast

from handlers import attendance_facilitator as held_by
from handlers.flow import Ctx, Flow, Pick, StepResult, option_value, picked_id, picked_key
from handlers.group_choice import SHORT_KEYS_RENAMED
from handlers.local_time import local_today
from handlers.messages import IncomingMessage, Option, Reply, Toggle
from handlers.parsing.attendance_line import Member, parse_attendance_line
from handlers.parsing.dates import format_date_id, parse_date
from models import attendance as db
from models.enums import AttendanceMark, StaffRole
from models.meeting_changes import withdraw_waiting
from models.rules.p2k2 import session_after


class Step(StrEnum):
    """The steps of this flow, as kept in conversation state."""

    ASK_DATE = "ask_date"
    CONFIRM = "confirm"
    MARK = "mark"
    PHOTO = "photo"
    PICK_GROUP = "pick_group"
    PICK_MEETING = "pick_meeting"
    PICK_SESI = "pick_sesi"
    REASON = "reason"
    REPLACES = "replaces"  # a day typed in a month with a meeting planned on another day


class AttendanceData(TypedDict, total=False):
    """What the flow keeps between steps (conversation state, stored as JSON)."""

    kelompok_id: int
    kelompok_name: str
    auto_group: bool  # the group was picked for them: "pick another" is offered
    meeting_id: int | None  # None: a new meeting on ``meeting_date``
    meeting_date: str  # ISO date
    sesi: int
    modul: int
    members: list[list[Any]]  # [kpm id, name], in the order they are numbered
    absent: dict[str, str | None]  # kpm id -> izin/sakit/alpa (None: not yet given)
    page: int
    editing: bool  # the meeting's attendance was saved before
    replaces: int  # the planned meeting of the month this one is held instead of
    asking: str  # the kpm id whose reason is asked
    photos: list[list[str]]  # [media ref, content type]
    facilitator: str  # "ketua": held by the ketua alone (handlers.attendance_facilitator)


def _data(ctx: Ctx) -> AttendanceData:
    return cast(AttendanceData, ctx.data)



MARKS = ("izin", "sakit", "alpa")
_NUMBERS_ONLY = re.compile(r"^\d+(?:\s*(?:,|;|\s|dan)\s*\d+)*$", re.I | re.ASCII)


async def entry(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """Start: pick the group, unless the command named it or only one fits."""
    today = await local_today(ctx)
    groups = await db.groups_for(ctx.session, ctx.staff, today)
    if not groups:
        return ctx.done(ctx.t("attendance.no_groups"))
    chosen = _named(groups, ctx.text)
    meeting_today = [g for g in groups if g.meeting_today_id is not None]
    if len(chosen) == 1:
        return await _group_chosen(ctx, chosen[0].id, chosen[0].name, today)
    if ctx.staff.role is not StaffRole.PENDAMPING and len(groups) > ctx.settings.page_size:
        # A supervisor or coordinator correcting a meeting: too many kelompok to list.
        return ctx.ask(Step.PICK_GROUP, ctx.t("attendance.ask_group_name"))
    if len(groups) == 1 or (len(meeting_today) == 1 and not ctx.text):
        only = groups[0] if len(groups) == 1 else meeting_today[0]
        ctx.notes.append(_note(ctx, "attendance.group_auto", name=only.name))
        _data(ctx)["auto_group"] = len(groups) > 1
        return await _group_chosen(ctx, only.id, only.name, today)
    return _ask_group(ctx, groups)


def _named(groups: list[db.GroupRow], text: str) -> list[db.GroupRow]:
    """The groups whose name holds what was typed (any case)."""
    return [g for g in groups if text and text.casefold() in g.name.casefold()]


def _ask_group(ctx: Ctx, groups: list[db.GroupRow]) -> StepResult:
    options = [
        Option(
            option_value(Pick.KELOMPOK, g.id),
            g.name + (ctx.t("attendance.today_marker") if g.meeting_today_id else ""),
        )
        for g in groups
    ]
    return ctx.ask(Step.PICK_GROUP, ctx.t("attendance.pick_group"), options)


async def pick_group(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """The answer to "which group?"."""
    kelompok_id = picked_id(ctx.choice, Pick.KELOMPOK)
    today = await local_today(ctx)
    if kelompok_id is None and ctx.text:  # a name typed, when none was listed
        groups = await db.groups_for(ctx.session, ctx.staff, today)
        named = _named(groups, ctx.text)
        kelompok_id = named[0].id if len(named) == 1 else None
    if kelompok_id is None:
        return ctx.retry(ctx.t("attendance.pick_group_invalid"))
    kelompok = await db.group_in_scope(ctx.session, ctx.staff, kelompok_id)
    return await _group_chosen(ctx, kelompok.id, kelompok.name, today)


async def _group_chosen(ctx: Ctx, kelompok_id: int, name: str, today: date) -> StepResult:
    _data(ctx).update({"kelompok_id": kelompok_id, "kelompok_name": name})
    meetings = await db.meetings_near(ctx.session, kelompok_id, today)
    options = []
    for meeting in meetings:
        label = format_date_id(meeting.meeting_date)
        if meeting.meeting_date == today:
            label = ctx.t("attendance.meeting_today", date=label)
        if meeting.recorded:
            label += ctx.t("attendance.recorded_marker")
        options.append(Option(option_value(Pick.MEETING, meeting.id), label))
    options.append(Option("new", ctx.t("attendance.meeting_other")))
    if _data(ctx).get("auto_group"):
        options.append(Option("groups", ctx.t("attendance.other_group")))
    return ctx.ask(Step.PICK_MEETING, ctx.t("attendance.pick_meeting", name=name), options)


async def pick_meeting(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """A listed meeting, "another date", or a date typed straight away."""
    if ctx.choice == "new":
        return ctx.ask(Step.ASK_DATE, ctx.t("attendance.ask_date"))
    if ctx.choice == "groups":
        _data(ctx).pop("auto_group", None)
        return _ask_group(ctx, await db.groups_for(ctx.session, ctx.staff, await local_today(ctx)))
    if (meeting_id := picked_id(ctx.choice, Pick.MEETING)) is not None:
        return await _meeting_chosen(ctx, meeting_id)
    if ctx.text:
        return await ask_date(message, ctx)
    return ctx.retry(ctx.t("attendance.pick_meeting_invalid"))


async def ask_date(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """A meeting date typed the Indonesian way ("hari ini", "kemarin", "12/11")."""
    today = await local_today(ctx)
    day = parse_date(ctx.text, today) if ctx.text else None
    if day is None:
        return ctx.retry(ctx.t("attendance.date_invalid"))
    if day > today:
        return ctx.retry(ctx.t("attendance.date_future", date=format_date_id(day)))
    existing = await db.meeting_on(ctx.session, _data(ctx)["kelompok_id"], day)
    if existing is not None:
        return await _meeting_chosen(ctx, existing.id)
    _data(ctx).update({"meeting_id": None, "meeting_date": day.isoformat()})
    planned = await db.planned_in_month(ctx.session, _data(ctx)["kelompok_id"], day)
    if planned is not None:  # held on another day than planned? Asked, not assumed.
        _data(ctx)["replaces"] = planned.id
        text = ctx.t(
            "attendance.replaces_planned",
            name=_data(ctx)["kelompok_name"],
            planned=format_date_id(planned.meeting_date),
            date=format_date_id(day),
        )
        options = [
            Option("instead", ctx.t("attendance.option_instead")),
            Option("extra", ctx.t("attendance.option_extra")),
        ]
        return ctx.ask(Step.REPLACES, text, options)
    return await _ask_sesi(ctx, None)


async def replaces(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """Held instead of the planned meeting (which then stops being "planned, not held" and
    has its reminders withdrawn), or an extra meeting besides it."""
    if ctx.choice == "instead":
        _data(ctx)["meeting_id"] = _data(ctx)["replaces"]
        return await _ask_sesi(ctx, None)
    if ctx.choice == "extra":
        _data(ctx).pop("replaces", None)
        return await _ask_sesi(ctx, None)
    return ctx.retry(ctx.t("attendance.replaces_invalid"))


async def _meeting_chosen(ctx: Ctx, meeting_id: int) -> StepResult:
    found = await db.meeting_with_marks(ctx.session, _data(ctx)["kelompok_id"], meeting_id)
    if found is None:
        return ctx.retry(ctx.t("attendance.pick_meeting_invalid"))
    meeting, saved = found
    day = meeting.meeting_date.isoformat()
    _data(ctx).update({"meeting_id": meeting.id, "meeting_date": day})
    _data(ctx)["facilitator"] = meeting.facilitator.value
    if meeting.recorded:
        _data(ctx)["absent"] = {str(k): v for k, v in saved.items() if v != "hadir"}
        _data(ctx)["editing"] = True
        ctx.notes.append(_note(ctx, "attendance.editing_saved"))
    return await _ask_sesi(ctx, meeting.sesi)


async def _ask_sesi(ctx: Ctx, current: int | None) -> StepResult:
    """The session recorded for this meeting is suggested, else the one after the
    group's last (read only then: one query less for a meeting recorded before)."""
    suggestion = current
    if suggestion is None:
        last = await db.last_sesi(ctx.session, _data(ctx)["kelompok_id"])
        suggestion = session_after(ctx.settings.sessions, last)
    options = [
        Option(
            option_value(Pick.SESI, s.number),
            ctx.t("attendance.sesi_label", number=s.number, title=s.title),
        )
        for s in ctx.settings.sessions
    ]
    return ctx.ask(Step.PICK_SESI, ctx.t("attendance.pick_sesi", suggestion=suggestion), options)


async def pick_sesi(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """The P2K2 session held at this meeting."""
    number = picked_id(ctx.choice, Pick.SESI)
    sesi = next((s for s in ctx.settings.sessions if s.number == number), None)
    if sesi is None:
        return ctx.retry(ctx.t("attendance.pick_sesi_invalid", count=len(ctx.settings.sessions)))
    _data(ctx).update({"sesi": sesi.number, "modul": sesi.modul, "page": 0})
    members = await db.members_of(ctx.session, _data(ctx)["kelompok_id"])
    if not members:
        return ctx.done(ctx.t("attendance.no_members", name=_data(ctx)["kelompok_name"]))
    _data(ctx)["members"] = [[kpm_id, name] for kpm_id, name in members]
    _data(ctx).setdefault("absent", {})
    return _show_marks(ctx)


def _show_marks(ctx: Ctx, *, edit: bool = False) -> StepResult:
    members = _data(ctx)["members"]
    absent: dict[str, str | None] = _data(ctx)["absent"]
    size = ctx.settings.page_size
    pages = max(1, -(-len(members) // size))
    page = min(max(_data(ctx).get("page", 0), 0), pages - 1)
    _data(ctx)["page"] = page
    toggles = []
    for number, (kpm_id, name) in enumerate(members, start=1):
        if not page * size < number <= (page + 1) * size:
            continue
        mark = absent.get(str(kpm_id), "hadir")
        suffix = "" if mark in ("hadir", None) else f" ({mark})"
        toggles.append(
            Toggle(
                option_value(Pick.MEMBER, kpm_id),
                f"{number}. {name}{suffix}",
                str(kpm_id) not in absent,
            )
        )
    options = [
        Option("done", ctx.t("attendance.option_done")),
        Option("all", ctx.t("attendance.option_all_present")),
    ]
    if page + 1 < pages:
        options.append(Option("next", ctx.t("attendance.option_next")))
    if page > 0:
        options.append(Option("prev", ctx.t("attendance.option_prev")))
    text = ctx.t(
        "attendance.mark_prompt",
        name=_data(ctx)["kelompok_name"],
        present=len(members) - len(absent),
        total=len(members),
        page=page + 1,
        pages=pages,
    )
    return ctx.ask(Step.MARK, text, options, toggles, numbered=False, edit_previous=edit)


async def mark(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """Taps on names, member numbers, or one typed line ("semua hadir kecuali 3, 7")."""
    members = _data(ctx)["members"]
    absent: dict[str, str | None] = _data(ctx)["absent"]
    by_number = {n: str(kpm_id) for n, (kpm_id, _) in enumerate(members, start=1)}
    if ctx.choice in ("next", "prev"):
        _data(ctx)["page"] = _data(ctx).get("page", 0) + (1 if ctx.choice == "next" else -1)
        return _show_marks(ctx, edit=True)
    if ctx.choice == "all":
        absent.clear()
        return await _after_marks(ctx)
    if (member := picked_key(ctx.choice, Pick.MEMBER)) is not None:
        _flip(absent, member)
        return _show_marks(ctx, edit=True)
    if ctx.choice == "done":
        return await _after_marks(ctx)
    line = held_by.take_from_line(ctx)  # "..., oleh ketua": who held it; the rest, marks
    if ctx.text and not line:
        return _show_marks(ctx)
    if _NUMBERS_ONLY.match(line):
        numbers = [int(n) for n in re.findall(r"\d+", line)]
        wrong = [n for n in numbers if n not in by_number]
        if wrong:
            return ctx.retry(
                ctx.t(
                    "attendance.numbers_out_of_range",
                    numbers=", ".join(map(str, wrong)),
                    total=len(members),
                )
            )
        for number in numbers:
            _flip(absent, by_number[number])
        return _show_marks(ctx)
    parsed = (
        parse_attendance_line(
            line, [Member(n, kpm_id, name) for n, (kpm_id, name) in enumerate(members, start=1)]
        )
        if line
        else None
    )
    if parsed is None:
        return ctx.retry(ctx.t("attendance.mark_invalid"))
    problems = []
    if parsed.out_of_range:
        problems.append(
            ctx.t(
                "attendance.numbers_out_of_range",
                total=len(members),
                numbers=", ".join(map(str, parsed.out_of_range)),
            )
        )
    problems.extend(ctx.t("attendance.name_unknown", name=name[:40]) for name in parsed.unknown)
    for ambiguous in parsed.ambiguous:
        candidates = ", ".join(f"{c.number}. {c.name}" for c in ambiguous.candidates)
        problems.append(
            ctx.t("attendance.name_ambiguous", name=ambiguous.written[:40], candidates=candidates)
        )
    if _data(ctx).get("editing") and not parsed.whole:
        # A correction ("tidak hadir: Atik"): only those named change; the others keep
        # the marks saved before.
        for kpm_id in parsed.named:
            absent.pop(str(kpm_id), None)
    else:
        absent.clear()
    absent.update({str(kpm_id): mark_ for kpm_id, mark_ in parsed.absent.items()})
    if problems:
        ctx.notes.append(
            _note(
                ctx, "attendance.partly_understood", problems="\n".join(f"• {p}" for p in problems)
            )
        )
        return _show_marks(ctx)
    return await _after_marks(ctx)


def _flip(absent: dict[str, str | None], kpm_key: str) -> None:
    if kpm_key in absent:
        del absent[kpm_key]
    else:
        absent[kpm_key] = None


async def _after_marks(ctx: Ctx) -> StepResult:
    missing = [key for key, mark_ in _data(ctx)["absent"].items() if mark_ not in MARKS]
    if missing:
        return _ask_reason(ctx, missing[0])
    return _ask_photo(ctx)


def _name_of(ctx: Ctx, kpm_key: str) -> str:
    return next(name for kpm_id, name in _data(ctx)["members"] if str(kpm_id) == kpm_key)


def _ask_reason(ctx: Ctx, kpm_key: str) -> StepResult:
    _data(ctx)["asking"] = kpm_key
    options = [Option(mark_, ctx.t(f"attendance.mark_{mark_}")) for mark_ in MARKS]
    text = ctx.t("attendance.ask_reason", name=_name_of(ctx, kpm_key))
    return ctx.ask(Step.REASON, text, options)


async def reason(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """Why one absent member was absent: izin, sakit or alpa."""
    if ctx.choice not in MARKS:
        return ctx.retry(ctx.t("attendance.reason_invalid"))
    _data(ctx)["absent"][_data(ctx).pop("asking")] = ctx.choice
    return await _after_marks(ctx)


def _ask_photo(ctx: Ctx) -> StepResult:
    return ctx.ask(
        Step.PHOTO,
        ctx.t("attendance.ask_photo"),
        [Option("skip", ctx.t("attendance.option_skip_photo"))],
    )


async def photo(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """A photo of the meeting as evidence, or "lewati"."""
    photos = [m for m in ctx.media if m.is_photo]
    if photos:
        _data(ctx)["photos"] = [[p.ref, p.content_type] for p in photos]
    elif ctx.choice != "skip":
        return ctx.retry(ctx.t("attendance.photo_invalid"))
    return _summary(ctx)


def _summary(ctx: Ctx) -> StepResult:
    absent = _data(ctx)["absent"]
    counts = {mark_: sum(1 for m in absent.values() if m == mark_) for mark_ in MARKS}
    lines = [f"• {_name_of(ctx, key)}: {m}" for key, m in absent.items()]
    text = ctx.t(
        "attendance.summary",
        name=_data(ctx)["kelompok_name"],
        date=format_date_id(date.fromisoformat(_data(ctx)["meeting_date"])),
        sesi=_data(ctx)["sesi"],
        hadir=len(_data(ctx)["members"]) - len(absent),
        izin=counts["izin"],
        sakit=counts["sakit"],
        alpa=counts["alpa"],
        photos=len(_data(ctx).get("photos", [])),
        facilitator=held_by.summary_line(ctx),
        absentees="\n".join(lines) or ctx.t("attendance.nobody_absent"),
    )
    options = [
        Option("save", ctx.t("attendance.option_save")),
        Option("edit", ctx.t("attendance.option_edit")),
        held_by.switch_option(ctx),
    ]
    return ctx.ask(Step.CONFIRM, text, options)


async def confirm(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """Save, go back to the marks, or switch who held the meeting."""
    if ctx.choice == "edit":
        return _show_marks(ctx)
    if held_by.switched(ctx):
        return _summary(ctx)
    if ctx.choice != "save":
        return ctx.retry(ctx.t("attendance.confirm_invalid"))
    absent = _data(ctx)["absent"]
    marks: dict[int, str] = {}
    for kpm_id, _ in _data(ctx)["members"]:
        given = absent.get(str(kpm_id), AttendanceMark.HADIR.value)
        if given is None:  # a reason still to be given: ask it before saving
            return await _after_marks(ctx)
        marks[int(kpm_id)] = given
    record = db.AttendanceRecord(
        kelompok_id=_data(ctx)["kelompok_id"],
        meeting_id=_data(ctx).get("meeting_id"),
        meeting_date=date.fromisoformat(_data(ctx)["meeting_date"]),
        modul=_data(ctx)["modul"],
        sesi=_data(ctx)["sesi"],
        marks=marks,
        photos=[(ref, kind) for ref, kind in _data(ctx).get("photos", [])],
        facilitator=held_by.facilitator_of(ctx),
    )
    meeting_id = await db.save_attendance(ctx.session, ctx.staff, record, now=ctx.now)
    if _data(ctx).get("replaces") == meeting_id:  # its reminders no longer apply
        await withdraw_waiting(ctx.session, meeting_id, now=ctx.now)
    key = "attendance.updated" if _data(ctx).get("editing") else "attendance.saved"
    name = _data(ctx)["kelompok_name"]
    return ctx.done(ctx.t(key, name=name, hadir=len(marks) - len(absent), total=len(marks)))


def _note(ctx: Ctx, key: str, **values: object) -> Reply:
    return Reply(ctx.t(key, **values))


FLOW = Flow(
    name="attendance",
    entry=entry,
    # Supervisors and coordinators correct a meeting of a kelompok in their scope.
    roles=frozenset({"pendamping", "supervisor", "koordinator", "admin"}),
    renamed=SHORT_KEYS_RENAMED,
    steps={
        Step.PICK_GROUP: pick_group,
        Step.PICK_MEETING: pick_meeting,
        Step.ASK_DATE: ask_date,
        Step.PICK_SESI: pick_sesi,
        Step.MARK: mark,
        Step.REASON: reason,
        Step.REPLACES: replaces,
        Step.PHOTO: photo,
        Step.CONFIRM: confirm,
    },
)
