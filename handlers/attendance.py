"""Attendance (/hadir, "absen"): group, meeting, P2K2 session, marks, reasons, photo, save."""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum

from handlers.flow import Ctx, Flow, Pick, StepResult, option_value, picked_id, picked_key
from handlers.local_time import local_today
from handlers.messages import IncomingMessage, Option, Reply, Toggle
from handlers.parsing.attendance_line import Member, parse_attendance_line
from handlers.parsing.dates import format_date_id, parse_date
from models import attendance as db
from models.enums import AttendanceMark


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


MARKS = ("izin", "sakit", "alpa")
_NUMBERS_ONLY = re.compile(r"^\d+(?:\s*(?:,|;|\s|dan)\s*\d+)*$", re.I | re.ASCII)


async def entry(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """Start: pick the group, unless the command named it or only one fits."""
    today = await local_today(ctx)
    groups = await db.groups_for(ctx.session, ctx.staff, today)
    if not groups:
        return ctx.done(ctx.t("attendance.no_groups"))
    chosen = [g for g in groups if ctx.text and ctx.text.casefold() in g.name.casefold()]
    meeting_today = [g for g in groups if g.meeting_today_id is not None]
    if len(chosen) == 1:
        return await _group_chosen(ctx, chosen[0].id, chosen[0].name, today)
    if len(groups) == 1 or (len(meeting_today) == 1 and not ctx.text):
        only = groups[0] if len(groups) == 1 else meeting_today[0]
        ctx.notes.append(_note(ctx, "attendance.group_auto", name=only.name))
        ctx.data["auto_group"] = len(groups) > 1
        return await _group_chosen(ctx, only.id, only.name, today)
    return _ask_group(ctx, groups)


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
    if kelompok_id is None:
        return ctx.retry(ctx.t("attendance.pick_group_invalid"))
    kelompok = await db.group_in_scope(ctx.session, ctx.staff, kelompok_id)
    return await _group_chosen(ctx, kelompok.id, kelompok.name, await local_today(ctx))


async def _group_chosen(ctx: Ctx, kelompok_id: int, name: str, today: date) -> StepResult:
    ctx.data.update(k=kelompok_id, kname=name)
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
    if ctx.data.get("auto_group"):
        options.append(Option("groups", ctx.t("attendance.other_group")))
    return ctx.ask(Step.PICK_MEETING, ctx.t("attendance.pick_meeting", name=name), options)


async def pick_meeting(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """A listed meeting, "another date", or a date typed straight away."""
    if ctx.choice == "new":
        return ctx.ask(Step.ASK_DATE, ctx.t("attendance.ask_date"))
    if ctx.choice == "groups":
        ctx.data.pop("auto_group", None)
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
    existing = await db.meeting_on(ctx.session, ctx.data["k"], day)
    if existing is not None:
        return await _meeting_chosen(ctx, existing.id)
    ctx.data.update(m=None, d=day.isoformat())
    return await _ask_sesi(ctx, None)


async def _meeting_chosen(ctx: Ctx, meeting_id: int) -> StepResult:
    found = await db.meeting_with_marks(ctx.session, ctx.data["k"], meeting_id)
    if found is None:
        return ctx.retry(ctx.t("attendance.pick_meeting_invalid"))
    meeting, saved = found
    ctx.data.update(m=meeting.id, d=meeting.meeting_date.isoformat())
    if meeting.recorded:
        ctx.data["absent"] = {str(k): v for k, v in saved.items() if v != "hadir"}
        ctx.data["editing"] = True
        ctx.notes.append(_note(ctx, "attendance.editing_saved"))
    return await _ask_sesi(ctx, meeting.sesi)


async def _ask_sesi(ctx: Ctx, current: int | None) -> StepResult:
    """The session recorded for this meeting is suggested, else the one after the
    group's last (read only then: one query less for a meeting recorded before)."""
    suggestion = current
    if suggestion is None:
        last = await db.last_sesi(ctx.session, ctx.data["k"])
        suggestion = last % len(ctx.settings.sessions) + 1 if last else 1
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
    ctx.data.update(sesi=sesi.number, modul=sesi.modul, page=0)
    members = await db.members_of(ctx.session, ctx.data["k"])
    if not members:
        return ctx.done(ctx.t("attendance.no_members", name=ctx.data["kname"]))
    ctx.data["members"] = [[kpm_id, name] for kpm_id, name in members]
    ctx.data.setdefault("absent", {})
    return _show_marks(ctx)


def _show_marks(ctx: Ctx, *, edit: bool = False) -> StepResult:
    members = ctx.data["members"]
    absent: dict[str, str | None] = ctx.data["absent"]
    size = ctx.settings.page_size
    pages = max(1, -(-len(members) // size))
    page = min(max(ctx.data.get("page", 0), 0), pages - 1)
    ctx.data["page"] = page
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
        name=ctx.data["kname"],
        present=len(members) - len(absent),
        total=len(members),
        page=page + 1,
        pages=pages,
    )
    return ctx.ask(Step.MARK, text, options, toggles, numbered=False, edit_previous=edit)


async def mark(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """Taps on names, member numbers, or one typed line ("semua hadir kecuali 3, 7")."""
    members = ctx.data["members"]
    absent: dict[str, str | None] = ctx.data["absent"]
    by_number = {n: str(kpm_id) for n, (kpm_id, _) in enumerate(members, start=1)}
    if ctx.choice in ("next", "prev"):
        ctx.data["page"] = ctx.data.get("page", 0) + (1 if ctx.choice == "next" else -1)
        return _show_marks(ctx, edit=True)
    if ctx.choice == "all":
        absent.clear()
        return await _after_marks(ctx)
    if (member := picked_key(ctx.choice, Pick.MEMBER)) is not None:
        _flip(absent, member)
        return _show_marks(ctx, edit=True)
    if ctx.choice == "done":
        return await _after_marks(ctx)
    if ctx.text and _NUMBERS_ONLY.match(ctx.text):
        numbers = [int(n) for n in re.findall(r"\d+", ctx.text)]
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
            ctx.text, [Member(n, kpm_id, name) for n, (kpm_id, name) in enumerate(members, start=1)]
        )
        if ctx.text
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
    missing = [key for key, mark_ in ctx.data["absent"].items() if mark_ not in MARKS]
    if missing:
        return _ask_reason(ctx, missing[0])
    return _ask_photo(ctx)


def _name_of(ctx: Ctx, kpm_key: str) -> str:
    return next(name for kpm_id, name in ctx.data["members"] if str(kpm_id) == kpm_key)


def _ask_reason(ctx: Ctx, kpm_key: str) -> StepResult:
    ctx.data["asking"] = kpm_key
    options = [Option(mark_, ctx.t(f"attendance.mark_{mark_}")) for mark_ in MARKS]
    text = ctx.t("attendance.ask_reason", name=_name_of(ctx, kpm_key))
    return ctx.ask(Step.REASON, text, options)


async def reason(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """Why one absent member was absent: izin, sakit or alpa."""
    if ctx.choice not in MARKS:
        return ctx.retry(ctx.t("attendance.reason_invalid"))
    ctx.data["absent"][ctx.data.pop("asking")] = ctx.choice
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
        ctx.data["photos"] = [[p.ref, p.content_type] for p in photos]
    elif ctx.choice != "skip":
        return ctx.retry(ctx.t("attendance.photo_invalid"))
    return _summary(ctx)


def _summary(ctx: Ctx) -> StepResult:
    absent = ctx.data["absent"]
    counts = {mark_: sum(1 for m in absent.values() if m == mark_) for mark_ in MARKS}
    lines = [f"• {_name_of(ctx, key)}: {m}" for key, m in absent.items()]
    text = ctx.t(
        "attendance.summary",
        name=ctx.data["kname"],
        date=format_date_id(date.fromisoformat(ctx.data["d"])),
        sesi=ctx.data["sesi"],
        hadir=len(ctx.data["members"]) - len(absent),
        izin=counts["izin"],
        sakit=counts["sakit"],
        alpa=counts["alpa"],
        photos=len(ctx.data.get("photos", [])),
        absentees="\n".join(lines) or ctx.t("attendance.nobody_absent"),
    )
    options = [
        Option("save", ctx.t("attendance.option_save")),
        Option("edit", ctx.t("attendance.option_edit")),
    ]
    return ctx.ask(Step.CONFIRM, text, options)


async def confirm(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """Save, or go back to the marks."""
    if ctx.choice == "edit":
        return _show_marks(ctx)
    if ctx.choice != "save":
        return ctx.retry(ctx.t("attendance.confirm_invalid"))
    absent = ctx.data["absent"]
    marks = {
        kpm_id: absent.get(str(kpm_id), AttendanceMark.HADIR.value)
        for kpm_id, _ in ctx.data["members"]
    }
    record = db.AttendanceRecord(
        kelompok_id=ctx.data["k"],
        meeting_id=ctx.data.get("m"),
        meeting_date=date.fromisoformat(ctx.data["d"]),
        modul=ctx.data["modul"],
        sesi=ctx.data["sesi"],
        marks=marks,
        photos=[(ref, kind) for ref, kind in ctx.data.get("photos", [])],
    )
    await db.save_attendance(ctx.session, ctx.staff, record, now=ctx.now)
    key = "attendance.updated" if ctx.data.get("editing") else "attendance.saved"
    return ctx.done(
        ctx.t(key, name=ctx.data["kname"], hadir=len(marks) - len(absent), total=len(marks))
    )


def _note(ctx: Ctx, key: str, **values: object) -> Reply:
    return Reply(ctx.t(key, **values))


FLOW = Flow(
    name="attendance",
    entry=entry,
    steps={
        Step.PICK_GROUP: pick_group,
        Step.PICK_MEETING: pick_meeting,
        Step.ASK_DATE: ask_date,
        Step.PICK_SESI: pick_sesi,
        Step.MARK: mark,
        Step.REASON: reason,
        Step.PHOTO: photo,
        Step.CONFIRM: confirm,
    },
)
