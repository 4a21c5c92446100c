"""Case notes: /kasus opens one, /kasus_saya lists open ones and moves them along."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from functools import cache
from typing import TypedDict, cast

from handlers import kpm_changes, kpm_lookup, referrals
from handlers.flow import Ctx, Flow, Pick, StepResult, option_value, picked_id
from handlers.local_time import local_today
from handlers.messages import IncomingMessage, Option
from handlers.parsing.dates import format_date_id, parse_date
from models.cases import (
    NewCase,
    escalation_addresses,
    mark_escalated,
    open_case,
    open_cases,
    update_case,
)
from models.enums import CaseSeverity, CaseStatus, KpmMessageStatus, KpmStatus
from models.kpm_messages import close_message
from models.messaging.enqueue import Enqueue, Priority, enqueue
from models.rules.case_categories import EXIT_CATEGORY, CaseRules
from models.rules.case_suggest import Matcher, normalise
from models.tables import Kelompok, Kpm


class Step(StrEnum):
    """The steps of this flow, as kept in conversation state."""

    CATEGORY = "category"
    DESCRIPTION = "description"
    FOLLOW_UP = "follow_up"
    NEW_STATUS = "new_status"
    PICK_CASE = "pick_case"
    RECORD_EXIT = "record_exit"
    SEVERITY = "severity"
    STATUS_NOTE = "status_note"


class CaseData(TypedDict, total=False):
    """What the two case flows keep between steps (conversation state, stored as JSON)."""

    kpm_id: int
    kpm_name: str
    category: str
    photos: list[list[str]]  # [media ref, content type]
    description: str
    follow_up: str | None  # ISO date
    severity: str
    case_id: int  # the case being updated
    status: str  # its new status
    pesan_id: int  # the pesan KPM the case is opened from (closed when it is saved)
    pesan_text: str  # ... and its text, offered as the description


RENAMED = {"kpm": "kpm_id", "case": "case_id"}
"""The data's keys before they were named in full (conversations under way at an upgrade)."""


def _data(ctx: Ctx) -> CaseData:
    return cast(CaseData, ctx.data)


def _label(ctx: Ctx, key: str) -> str:
    """A category's name: configured, else the catalog's."""
    return ctx.settings.case_rules.label(ctx.t, key)


MIN_DESCRIPTION = 5
MAX_DESCRIPTION = 1000
MIN_NOTE_WORDS = 2
"""A text typed instead of a kind of case is kept as the case's description from this many
words (a single word, "ktp", only looks for the kind)."""


async def entry(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """Start: find the KPM named in the command, or ask for one."""
    return await kpm_lookup.start(ctx, _kpm_chosen)


async def _kpm_chosen(ctx: Ctx, kpm_id: int, name: str) -> StepResult:
    _data(ctx).update({"kpm_id": kpm_id, "kpm_name": name})
    return ctx.ask(Step.CATEGORY, ctx.t("case.ask_category", name=name), _categories(ctx))


def _categories(ctx: Ctx, suggested: str | None = None) -> list[Option]:
    """The kinds of case, the suggested one first and marked as such."""
    keys = list(ctx.settings.case_categories)
    if suggested in keys:
        keys.remove(suggested)
        keys.insert(0, suggested)
    return [
        Option(
            key,
            ctx.t("case.category_suggested", category=_label(ctx, key))
            if key == suggested
            else _label(ctx, key),
        )
        for key in keys
    ]


def open_from_message(
    ctx: Ctx, kpm_id: int, name: str, message_id: int, text: str
) -> StepResult:
    """The case flow, handed a pesan KPM: the KPM known, the category its words suggest
    offered first, its text offered as the description."""
    ctx.data.clear()
    _data(ctx).update(
        {"kpm_id": kpm_id, "kpm_name": name, "pesan_id": message_id, "pesan_text": text}
    )
    suggestion = ctx.settings.case_rules.suggest(text)
    options = _categories(ctx, suggestion.category if suggestion.score else None)
    return ctx.ask(Step.CATEGORY, ctx.t("case.ask_category", name=name), options).handed_to(
        FLOW.name
    )


def suggest_category(
    text: str, keywords: tuple[tuple[str, tuple[str, ...]], ...]
) -> str | None:
    """The category ``keywords`` (category, its words and phrases) suggest for ``text``,
    matched as configured categories are (``models.rules.case_suggest``); None when no
    keyword occurs."""
    found = _matcher(keywords).match(text)
    return found.category if found.score else None


@cache
def _matcher(keywords: tuple[tuple[str, tuple[str, ...]], ...]) -> Matcher:
    return Matcher(keywords, (), fallback="")


async def category(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """The kind of case: chosen from the list, or suggested by a note typed instead."""
    if ctx.choice is None or ctx.choice not in ctx.settings.case_categories:
        return _note_instead_of_category(ctx)
    _data(ctx)["category"] = ctx.choice
    if _data(ctx).get("description"):  # the note typed at this step
        return _ask_follow_up(ctx)
    if _data(ctx).get("pesan_text"):
        use = Option("use_message", ctx.t("case.option_use_message"))
        return ctx.ask(Step.DESCRIPTION, ctx.t("case.ask_description_from_message"), [use])
    return ctx.ask(Step.DESCRIPTION, ctx.t("case.ask_description"))


async def description(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """What happened, in words; a photo may come along."""
    photos = [m for m in ctx.media if m.is_photo]
    if photos:
        kept = _data(ctx).get("photos", [])
        _data(ctx)["photos"] = kept + [[p.ref, p.content_type] for p in photos]
    text = ctx.text
    if ctx.choice == "use_message" and _data(ctx).get("pesan_text"):
        text = _data(ctx)["pesan_text"]
    if len(text) < MIN_DESCRIPTION:
        key = "case.description_photo_saved" if photos else "case.description_invalid"
        return ctx.retry(ctx.t(key, minimum=MIN_DESCRIPTION))
    _data(ctx)["description"] = text[:MAX_DESCRIPTION]
    return _ask_follow_up(ctx)


def _note_instead_of_category(ctx: Ctx) -> StepResult:
    """A case note written where the kind of case was asked: the kind its words suggest
    is offered first (one number to confirm it), and the note, from two words, is kept as
    the description. Words that suggest nothing: the list again."""
    rules: CaseRules = ctx.settings.case_rules
    suggestion = rules.suggest(ctx.text) if ctx.text else None
    if suggestion is None or not suggestion.score:
        return ctx.retry(ctx.t("case.category_invalid"))
    prompt = ctx.t("case.ask_category_suggested", category=_label(ctx, suggestion.category))
    if len(ctx.text) >= MIN_DESCRIPTION and len(normalise(ctx.text)) >= MIN_NOTE_WORDS:
        _data(ctx)["description"] = ctx.text[:MAX_DESCRIPTION]
        photos = [[m.ref, m.content_type] for m in ctx.media if m.is_photo]
        if photos:
            _data(ctx)["photos"] = _data(ctx).get("photos", []) + photos
        prompt = ctx.t("case.note_kept") + "\n" + prompt
    return ctx.ask(Step.CATEGORY, prompt, _categories(ctx, suggestion.category))


def _ask_follow_up(ctx: Ctx) -> StepResult:
    return ctx.ask(
        Step.FOLLOW_UP,
        ctx.t("case.ask_follow_up"),
        [Option("skip", ctx.t("case.option_no_follow_up"))],
    )


async def follow_up(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """A follow-up date, or none."""
    if ctx.choice == "skip":
        _data(ctx)["follow_up"] = None
    else:
        today = await local_today(ctx)
        day = parse_date(ctx.text, today) if ctx.text else None
        if day is None:
            return ctx.retry(ctx.t("case.follow_up_invalid"))
        if day < today:
            return ctx.retry(ctx.t("case.follow_up_past", date=format_date_id(day)))
        _data(ctx)["follow_up"] = day.isoformat()
    if _data(ctx)["category"] in ctx.settings.always_urgent:
        _data(ctx)["severity"] = CaseSeverity.MENDESAK.value
        return await _save(ctx, always_urgent=True)
    return _ask_severity(ctx)


def _ask_severity(ctx: Ctx) -> StepResult:
    """Biasa or mendesak; mendesak first and proposed when the description shows signs of
    violence, exploitation or a child at risk, or the category is usually mendesak."""
    rules: CaseRules = ctx.settings.case_rules
    key = _data(ctx)["category"]
    risk = rules.suggest(_data(ctx)["description"]).risk
    chosen = rules.by_key.get(key)
    usual = chosen is not None and chosen.severity == CaseSeverity.MENDESAK.value
    options = [Option(s.value, ctx.t(f"case.severity.{s.value}")) for s in CaseSeverity]
    if not (risk or usual):
        return ctx.ask(Step.SEVERITY, ctx.t("case.ask_severity"), options)
    urgent = CaseSeverity.MENDESAK.value
    label = ctx.t("case.severity_suggested", severity=ctx.t(f"case.severity.{urgent}"))
    options = [Option(urgent, label)] + [o for o in options if o.value != urgent]
    why = (
        ctx.t("case.severity_risk")
        if risk
        else ctx.t("case.severity_usual", category=_label(ctx, key))
    )
    return ctx.ask(Step.SEVERITY, why + "\n" + ctx.t("case.ask_severity"), options)


async def severity(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """Biasa or mendesak."""
    if ctx.choice is None or ctx.choice not in {s.value for s in CaseSeverity}:
        return ctx.retry(ctx.t("case.severity_invalid"))
    _data(ctx)["severity"] = ctx.choice
    return await _save(ctx, always_urgent=False)


async def _save(ctx: Ctx, *, always_urgent: bool) -> StepResult:
    follow = _data(ctx).get("follow_up")
    new = NewCase(
        kpm_id=_data(ctx)["kpm_id"],
        category=_data(ctx)["category"],
        description=_data(ctx)["description"],
        severity=CaseSeverity(_data(ctx)["severity"]),
        follow_up_date=date.fromisoformat(follow) if follow else None,
        photos=[(ref, kind) for ref, kind in _data(ctx).get("photos", [])],
    )
    case_id = await open_case(ctx.session, ctx.staff, new, now=ctx.now)
    key = "case.saved"
    chosen = ctx.settings.case_rules.by_key.get(new.category)
    if new.severity is CaseSeverity.MENDESAK:
        reached = await _escalate(ctx, case_id, new, urgent=True)
        # Only say a coordinator will hear of it when one has a chat to hear it on.
        key = "case.saved_urgent" if reached else "case.saved_urgent_unreachable"
    elif chosen is not None and chosen.escalate:  # pungli: the coordinator hears of it
        reached = await _escalate(ctx, case_id, new, urgent=False)
        key = "case.saved_escalated" if reached else "case.saved_escalated_unreachable"
    text = ctx.t(
        key,
        id=case_id,
        name=_data(ctx)["kpm_name"],
        category=_label(ctx, new.category),
        follow_up=format_date_id(new.follow_up_date)
        if new.follow_up_date
        else ctx.t("case.no_follow_up"),
    )
    if always_urgent:
        text = ctx.t("case.always_urgent_note") + "\n" + text
    text += await referrals.case_hint(ctx, new.kpm_id, new.category)  # the sistem sumber
    pesan_id = _data(ctx).get("pesan_id")
    if pesan_id is not None and await close_message(
        ctx.session, pesan_id, KpmMessageStatus.DONE, staff_id=ctx.staff.id, now=ctx.now
    ):
        text += "\n" + ctx.t("case.pesan_closed")
    if new.category == EXIT_CATEGORY:
        kpm = await ctx.session.get(Kpm, new.kpm_id)
        if kpm is not None and kpm.status is KpmStatus.AKTIF:
            name = _data(ctx)["kpm_name"]
            options = [
                Option("exit_now", ctx.t("case.option_record_exit")),
                Option("exit_later", ctx.t("case.option_exit_later")),
            ]
            ask = ctx.t("case.ask_record_exit", name=name)
            return ctx.ask(Step.RECORD_EXIT, text + "\n\n" + ask, options)
    return ctx.done(text)


async def record_exit(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """After an "usulan keluar" case: record the family's exit now (the /keluar_pkh flow,
    the family known), or later."""
    kpm_id, name = _data(ctx)["kpm_id"], _data(ctx)["kpm_name"]
    if ctx.choice == "exit_now":
        ctx.data.clear()
        return await kpm_changes.leave_for(ctx, kpm_id, name)
    if ctx.choice == "exit_later":
        return ctx.done(ctx.t("case.exit_later", name=name))
    return ctx.retry(ctx.t("case.record_exit_invalid"))


async def _escalate(ctx: Ctx, case_id: int, new: NewCase, *, urgent: bool) -> int:
    """An urgent case, or one of a category always escalated, goes to the coordinators
    over the KPM and the supervisor at once; returns how many chats it went to."""
    targets = await escalation_addresses(ctx.session, new.kpm_id)
    # Those told are in the KPM's scope (the coordinators over her region, the
    # pendamping's supervisor): the alert names her, and its button opens the case.
    kpm = await ctx.session.get(Kpm, new.kpm_id)
    kelompok = await ctx.session.get(Kelompok, kpm.kelompok_id) if kpm and kpm.kelompok_id else None
    values = {
        "id": case_id,
        "category": _label(ctx, new.category),
        "pendamping": ctx.staff.name,
        "kpm": kpm.nama_pengurus if kpm else "-",
        "kelompok": kelompok.name if kelompok else "-",
    }
    await enqueue(
        ctx.session,
        [
            Enqueue(
                channel=channel,
                address=address,
                kind="alert",
                priority=Priority.ALERT,
                payload={
                    "key": "alert.urgent_case" if urgent else "alert.escalated_case",
                    "values": values,
                    "options": [{"value": f"case:{case_id}", "label": ctx.t("case.open_alert")}],
                },
                dedupe_key=f"urgent-case:{case_id}:{address}",
            )
            for _, channel, address in targets
        ],
        now=ctx.now,
    )
    if targets:
        await mark_escalated(ctx.session, case_id, targets[0][0], now=ctx.now)
    return len(targets)


async def my_cases_entry(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """List open cases to pick one to move along."""
    cases = await open_cases(ctx.session, ctx.staff)
    if not cases:
        return ctx.done(ctx.t("case.none_open"))
    today = await local_today(ctx)
    options = []
    for case in cases:
        overdue = case.follow_up_date is not None and case.follow_up_date < today
        label = ctx.t(
            "case.list_item",
            id=case.id,
            name=case.kpm_name,
            category=_label(ctx, case.category),
            status=ctx.t(f"case.status.{case.status}"),
        )
        if case.severity == CaseSeverity.MENDESAK.value:
            label += ctx.t("case.urgent_marker")
        if overdue:
            label += ctx.t("case.overdue_marker")
        options.append(Option(option_value(Pick.CASE, case.id), label))
    return ctx.ask(Step.PICK_CASE, ctx.t("case.pick_open", count=len(cases)), options)


async def pick_case(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """The case to update."""
    case_id = picked_id(ctx.choice, Pick.CASE)
    if case_id is None:
        return ctx.retry(ctx.t("case.pick_invalid"))
    _data(ctx)["case_id"] = case_id
    options = [
        Option(CaseStatus.TINDAK_LANJUT.value, ctx.t("case.status.tindak_lanjut")),
        Option(CaseStatus.SELESAI.value, ctx.t("case.status.selesai")),
    ]
    return ctx.ask(Step.NEW_STATUS, ctx.t("case.ask_new_status", id=_data(ctx)["case_id"]), options)


async def new_status(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """Tindak lanjut or selesai."""
    if ctx.choice is None or ctx.choice not in (CaseStatus.TINDAK_LANJUT, CaseStatus.SELESAI):
        return ctx.retry(ctx.t("case.new_status_invalid"))
    _data(ctx)["status"] = ctx.choice
    skip = Option("skip", ctx.t("case.option_no_note"))
    return ctx.ask(Step.STATUS_NOTE, ctx.t("case.ask_status_note"), [skip])


async def status_note(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """A note on what was done, or none; a voice note is the note, kept with the case."""
    voice = [(m.ref, m.content_type) for m in ctx.media if m.content_type.startswith("audio/")]
    if ctx.choice != "skip" and not ctx.text and not voice:
        return ctx.retry(ctx.t("case.status_note_invalid"))
    note = None if ctx.choice == "skip" else ctx.text[:MAX_DESCRIPTION]
    if voice:
        note = ctx.t("case.voice_note", text=note or "-")
    status = CaseStatus(_data(ctx)["status"])
    await update_case(
        ctx.session, ctx.staff, _data(ctx)["case_id"], status, note, now=ctx.now, media=voice
    )
    return ctx.done(
        ctx.t("case.updated", id=_data(ctx)["case_id"], status=ctx.t(f"case.status.{status.value}"))
    )


FLOW = Flow(
    name="case",
    entry=entry,
    renamed=RENAMED,
    steps={
        **kpm_lookup.steps(_kpm_chosen),
        Step.CATEGORY: category,
        Step.DESCRIPTION: description,
        Step.FOLLOW_UP: follow_up,
        Step.SEVERITY: severity,
        Step.RECORD_EXIT: record_exit,
    },
)
MY_CASES = Flow(
    name="my_cases",
    entry=my_cases_entry,
    renamed=RENAMED,
    steps={"pick_case": pick_case, "new_status": new_status, "status_note": status_note},
    roles=frozenset({"pendamping", "supervisor", "koordinator"}),
)
