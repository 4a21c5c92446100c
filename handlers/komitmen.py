"""Commitment checks (/komitmen): a kelompok (or one KPM by name), what is due this period,
a verdict per member and commitment, reasons, an optional photo of the evidence, save.

Every due item starts as saved before (re-running edits) or "belum diverifikasi"; a tap
moves it on (belum -> memenuhi -> tidak memenuhi -> belum), and one typed line sets many
("semua memenuhi kecuali 3, 7", "tidak 3 (sakit)", "belum 5"). Saving writes every verdict
in one transaction; "belum" withdraws a result saved before.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any, TypedDict, cast

from handlers import kpm_lookup
from handlers.flow import Ctx, Flow, Pick, StepResult, option_value, picked_id, picked_key
from handlers.local_time import local_today
from handlers.messages import IncomingMessage, Option, Reply, Toggle
from handlers.parsing.commitment_line import CommitmentLine, parse_commitment_line
from models import attendance as groups_db
from models.commitments import NotDue, Verdict, commitment_counts, due_items, save_checks
from models.enums import CommitmentResult, StaffRole
from models.kpm import kpm_in_scope
from models.rules.commitments import Period
from models.scope import kelompok_scope

MET, NOT_MET, UNVERIFIED = "memenuhi", "tidak_memenuhi", "belum"
NEXT_STATE = {UNVERIFIED: MET, MET: NOT_MET, NOT_MET: UNVERIFIED}


class Step(StrEnum):
    """The steps of this flow, as kept in conversation state."""

    PICK_GROUP = "pick_group"
    MARK = "mark"
    REASON = "reason"
    PHOTO = "photo"
    CONFIRM = "confirm"


class KomitmenData(TypedDict, total=False):
    """What the flow keeps between steps (conversation state, stored as JSON)."""

    kelompok_id: int  # a kelompok's list, or
    kpm_id: int  # one KPM's
    title: str  # the kelompok's or the KPM's name
    period: str  # the period's first day (ISO)
    items: list[list[Any]]  # [komponen id, commitment, kpm id, kpm name, komponen type]
    states: list[str]  # per item: memenuhi, tidak_memenuhi or belum
    reasons: dict[str, str]  # item number -> reason key (for tidak_memenuhi)
    page: int
    editing: bool  # results of this period were saved before
    asking: int  # the item number whose reason is asked
    photo: list[str]  # [media ref, content type]


def _data(ctx: Ctx) -> KomitmenData:
    return cast(KomitmenData, ctx.data)


def _period(ctx: Ctx) -> Period:
    return ctx.settings.commitments.period_of(date.fromisoformat(_data(ctx)["period"]))


async def entry(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """Start: the kelompok or KPM named in the command, the only kelompok, or a choice."""
    today = await local_today(ctx)
    period = ctx.settings.commitments.period_of(today)
    _data(ctx)["period"] = period.start.isoformat()
    groups = await groups_db.groups_for(ctx.session, ctx.staff, today)
    if not groups:
        return ctx.done(ctx.t("komitmen.no_groups"))
    if ctx.text:
        named = [g for g in groups if ctx.text.casefold() in g.name.casefold()]
        if len(named) == 1:
            return await _load(ctx, named[0].name, kelompok_id=named[0].id)
        return await _find_kpm(ctx, ctx.text)
    if len(groups) == 1:
        return await _load(ctx, groups[0].name, kelompok_id=groups[0].id)
    if ctx.staff.role is not StaffRole.PENDAMPING and len(groups) > ctx.settings.page_size:
        return ctx.ask(Step.PICK_GROUP, ctx.t("komitmen.ask_name"))
    counts = await commitment_counts(
        ctx.session, ctx.settings.commitments, period, kelompok_scope(ctx.staff)
    )
    options = []
    for group in groups:
        count = counts.get(group.id)
        open_ = count.due - count.done if count else 0
        suffix = ctx.t("komitmen.group_open", count=open_) if open_ else ""
        options.append(Option(option_value(Pick.KELOMPOK, group.id), group.name + suffix))
    text = ctx.t("komitmen.pick_group", period=period.label(ctx.settings.locale))
    return ctx.ask(Step.PICK_GROUP, text, options)


async def _find_kpm(ctx: Ctx, query: str) -> StepResult:
    return await kpm_lookup.find(
        ctx, query, _kpm_chosen, pick_step=kpm_lookup.KpmStep.PICK, ask_step=kpm_lookup.KpmStep.FIND
    )


async def pick_group(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """A kelompok tapped or named, or a KPM's name typed."""
    kelompok_id = picked_id(ctx.choice, Pick.KELOMPOK)
    if kelompok_id is not None:
        kelompok = await groups_db.group_in_scope(ctx.session, ctx.staff, kelompok_id)
        return await _load(ctx, kelompok.name, kelompok_id=kelompok.id)
    if not ctx.text or ctx.text.isdecimal():
        return ctx.retry(ctx.t("komitmen.pick_group_invalid"))
    groups = await groups_db.groups_for(ctx.session, ctx.staff, await local_today(ctx))
    named = [g for g in groups if ctx.text.casefold() in g.name.casefold()]
    if len(named) == 1:
        return await _load(ctx, named[0].name, kelompok_id=named[0].id)
    return await _find_kpm(ctx, ctx.text)


async def _kpm_chosen(ctx: Ctx, kpm_id: int, name: str) -> StepResult:
    kpm = await kpm_in_scope(ctx.session, ctx.staff, kpm_id)
    return await _load(ctx, kpm.nama_pengurus, kpm_id=kpm.id)


async def _load(
    ctx: Ctx, title: str, *, kelompok_id: int | None = None, kpm_id: int | None = None
) -> StepResult:
    """What is due in the period, with the results saved before."""
    data = _data(ctx)
    data.pop("kelompok_id", None)
    data.pop("kpm_id", None)
    if kelompok_id is not None:
        data["kelompok_id"] = kelompok_id
    if kpm_id is not None:
        data["kpm_id"] = kpm_id
    period = _period(ctx)
    items = await due_items(
        ctx.session, ctx.settings.commitments, period, kelompok_id=kelompok_id, kpm_id=kpm_id
    )
    data.update({"title": title, "page": 0, "reasons": {}})
    if not items:
        return ctx.done(
            ctx.t("komitmen.nothing_due", name=title, period=period.label(ctx.settings.locale))
        )
    data["items"] = [
        [item.komponen_id, item.commitment, item.kpm_id, item.kpm_name, item.komponen_type]
        for item in items
    ]
    data["states"] = [item.result.value if item.result else UNVERIFIED for item in items]
    data["reasons"] = {
        str(number): item.reason
        for number, item in enumerate(items, start=1)
        if item.result is CommitmentResult.TIDAK_MEMENUHI and item.reason
    }
    data["editing"] = any(item.result is not None for item in items)
    if data["editing"]:
        ctx.notes.append(Reply(ctx.t("komitmen.editing_saved")))
    return _show(ctx)


def _item_text(ctx: Ctx, number: int, *, with_reason: bool = True) -> str:
    """An item as the pendamping reads it: "Siti · Anak SD: Hadir di sekolah (min. 85%)"
    (without the KPM's name in one KPM's list), with the reason when not met."""
    _, commitment, _, kpm_name, komponen_type = _data(ctx)["items"][number - 1]
    parts = [] if "kpm_id" in _data(ctx) else [kpm_name]
    parts.append(ctx.settings.catalog.label(komponen_type))
    text = f"{' · '.join(parts)}: {ctx.settings.commitments.label(commitment, title=True)}"
    if with_reason and _data(ctx)["states"][number - 1] == NOT_MET:
        reason = _data(ctx)["reasons"].get(str(number))
        label = ctx.settings.commitments.reason_label(reason) if reason else None
        text += f" ({label or ctx.t('komitmen.no_reason')})"
    return text


def _show(ctx: Ctx, *, edit: bool = False) -> StepResult:
    data = _data(ctx)
    states = data["states"]
    size = ctx.settings.page_size
    pages = max(1, -(-len(states) // size))
    page = min(max(data.get("page", 0), 0), pages - 1)
    data["page"] = page
    on = {MET: True, NOT_MET: False, UNVERIFIED: None}
    toggles = [
        Toggle(
            option_value(Pick.MEMBER, number),
            f"{number}. {_item_text(ctx, number)}",
            on[states[number - 1]],
        )
        for number in range(page * size + 1, min((page + 1) * size, len(states)) + 1)
    ]
    options = [
        Option("done", ctx.t("komitmen.option_done")),
        Option("all", ctx.t("komitmen.option_all_met")),
    ]
    if page + 1 < pages:
        options.append(Option("next", ctx.t("attendance.option_next")))
    if page > 0:
        options.append(Option("prev", ctx.t("attendance.option_prev")))
    text = ctx.t(
        "komitmen.mark_prompt",
        name=data["title"],
        period=_period(ctx).label(ctx.settings.locale),
        met=states.count(MET),
        not_met=states.count(NOT_MET),
        unverified=states.count(UNVERIFIED),
        page=page + 1,
        pages=pages,
    )
    return ctx.ask(Step.MARK, text, options, toggles, numbered=False, edit_previous=edit)


async def mark(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """Taps on items, or one typed line ("semua memenuhi kecuali 3, 7")."""
    data = _data(ctx)
    states = data["states"]
    if ctx.choice in ("next", "prev"):
        data["page"] = data.get("page", 0) + (1 if ctx.choice == "next" else -1)
        return _show(ctx, edit=True)
    if ctx.choice == "all":
        states[:] = [MET] * len(states)
        data["reasons"] = {}
        return _after_marks(ctx)
    if ctx.choice == "done":
        return _after_marks(ctx)
    if (key := picked_key(ctx.choice, Pick.MEMBER)) is not None:
        number = int(key) if key.isdecimal() else 0
        if not 1 <= number <= len(states):
            return ctx.retry(ctx.t("komitmen.mark_invalid"))
        _set(ctx, number, NEXT_STATE[states[number - 1]])
        return _show(ctx, edit=True)
    line = (
        parse_commitment_line(ctx.text, len(states), ctx.settings.commitments.reasons)
        if ctx.text
        else None
    )
    if line is None:
        return ctx.retry(ctx.t("komitmen.mark_invalid"))
    _apply(ctx, line)
    problems = []
    if line.out_of_range:
        problems.append(
            ctx.t(
                "attendance.numbers_out_of_range",
                numbers=", ".join(map(str, line.out_of_range)),
                total=len(states),
            )
        )
    if line.unknown_reasons:
        reasons = ", ".join(label for _, label in ctx.settings.commitments.reasons)
        problems.extend(
            ctx.t("komitmen.reason_unknown", reason=written, reasons=reasons)
            for written in line.unknown_reasons
        )
    if problems:
        ctx.notes.append(
            Reply(
                ctx.t(
                    "attendance.partly_understood",
                    problems="\n".join(f"• {problem}" for problem in problems),
                )
            )
        )
        return _show(ctx)
    return _after_marks(ctx) if line.all_met else _show(ctx)


def _set(ctx: Ctx, number: int, state: str) -> None:
    _data(ctx)["states"][number - 1] = state
    if state != NOT_MET:
        _data(ctx)["reasons"].pop(str(number), None)


def _apply(ctx: Ctx, line: CommitmentLine) -> None:
    states = _data(ctx)["states"]
    if line.all_met:
        for number in range(1, len(states) + 1):
            _set(ctx, number, MET)
    for numbers, state in (
        (line.met, MET),
        (line.not_met, NOT_MET),
        (line.unverified, UNVERIFIED),
    ):
        for number in numbers:
            _set(ctx, number, state)
    for number in line.cycled:
        _set(ctx, number, NEXT_STATE[states[number - 1]])
    for number, reason in line.reasons.items():
        if states[number - 1] == NOT_MET:
            _data(ctx)["reasons"][str(number)] = reason


def _after_marks(ctx: Ctx) -> StepResult:
    data = _data(ctx)
    for number, state in enumerate(data["states"], start=1):
        if state == NOT_MET and str(number) not in data["reasons"]:
            return _ask_reason(ctx, number)
    if not any(state != UNVERIFIED for state in data["states"]) and not data.get("editing"):
        return ctx.retry(ctx.t("komitmen.nothing_marked"))
    return ctx.ask(
        Step.PHOTO,
        ctx.t("komitmen.ask_photo"),
        [Option("skip", ctx.t("attendance.option_skip_photo"))],
    )


def _ask_reason(ctx: Ctx, number: int) -> StepResult:
    _data(ctx)["asking"] = number
    options = [
        Option(option_value(Pick.REASON, key), label)
        for key, label in ctx.settings.commitments.reasons
    ]
    item = _item_text(ctx, number, with_reason=False)
    return ctx.ask(Step.REASON, ctx.t("komitmen.ask_reason", item=item), options)


async def reason(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """Why one member did not meet one commitment."""
    key = picked_key(ctx.choice, Pick.REASON)
    if key is None or key not in dict(ctx.settings.commitments.reasons):
        labels = ", ".join(label for _, label in ctx.settings.commitments.reasons)
        return ctx.retry(ctx.t("komitmen.reason_invalid", reasons=labels))
    _data(ctx)["reasons"][str(_data(ctx).pop("asking"))] = key
    return _after_marks(ctx)


async def photo(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """A photo of the evidence (buku KIA, school recap), or "lewati"."""
    photos = [m for m in ctx.media if m.is_photo]
    if photos:
        _data(ctx)["photo"] = [photos[0].ref, photos[0].content_type]
        if len(photos) > 1:
            ctx.notes.append(Reply(ctx.t("komitmen.one_photo_kept", count=len(photos))))
    elif ctx.choice != "skip":
        return ctx.retry(ctx.t("komitmen.photo_invalid"))
    else:
        _data(ctx).pop("photo", None)
    return _summary(ctx)


def _summary(ctx: Ctx) -> StepResult:
    data = _data(ctx)
    states = data["states"]
    not_met = [
        f"• {_item_text(ctx, number)}"
        for number, state in enumerate(states, start=1)
        if state == NOT_MET
    ]
    text = ctx.t(
        "komitmen.summary",
        name=data["title"],
        period=_period(ctx).label(ctx.settings.locale),
        met=states.count(MET),
        not_met=states.count(NOT_MET),
        unverified=states.count(UNVERIFIED),
        photo=1 if data.get("photo") else 0,
        lines="\n".join(not_met) or ctx.t("attendance.nobody_absent"),
    )
    options = [
        Option("save", ctx.t("attendance.option_save")),
        Option("edit", ctx.t("attendance.option_edit")),
    ]
    return ctx.ask(Step.CONFIRM, text, options)


async def confirm(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """Save every verdict at once, or go back to the list."""
    if ctx.choice == "edit":
        return _show(ctx)
    if ctx.choice != "save":
        return ctx.retry(ctx.t("attendance.confirm_invalid"))
    data = _data(ctx)
    item_kpm = {int(kpm_id) for _, _, kpm_id, _, _ in data["items"]}
    if "kpm_id" in data:
        await kpm_in_scope(ctx.session, ctx.staff, data["kpm_id"])
        scope = item_kpm & {data["kpm_id"]}
    else:
        await groups_db.group_in_scope(ctx.session, ctx.staff, data["kelompok_id"])
        members = await groups_db.members_of(ctx.session, data["kelompok_id"])
        scope = item_kpm & {kpm_id for kpm_id, _ in members}
    verdicts = {}
    for number, (komponen_id, commitment, *_) in enumerate(data["items"], start=1):
        state = data["states"][number - 1]
        result = None if state == UNVERIFIED else CommitmentResult(state)
        verdicts[(int(komponen_id), commitment)] = Verdict(result, data["reasons"].get(str(number)))
    evidence = data.get("photo")
    try:
        saved = await save_checks(
            ctx.session,
            ctx.staff,
            ctx.settings.commitments,
            _period(ctx),
            verdicts,
            scope_kpm_ids=scope,
            evidence_ref=evidence[0] if evidence else None,
            now=ctx.now,
        )
    except NotDue:
        return ctx.done(ctx.t("komitmen.changed_meanwhile", name=data["title"]))
    key = "komitmen.updated" if data.get("editing") else "komitmen.saved"
    return ctx.done(
        ctx.t(
            key,
            name=data["title"],
            period=_period(ctx).label(ctx.settings.locale),
            met=saved.memenuhi,
            not_met=saved.tidak_memenuhi,
            unverified=saved.belum,
        )
    )


FLOW = Flow(
    name="commitment",
    entry=entry,
    # Staff over a pendamping verify in their scope too (the scope checks are the same).
    roles=frozenset({"pendamping", "supervisor", "koordinator", "admin"}),
    steps={
        Step.PICK_GROUP: pick_group,
        Step.MARK: mark,
        Step.REASON: reason,
        Step.PHOTO: photo,
        Step.CONFIRM: confirm,
        **kpm_lookup.steps(_kpm_chosen),
    },
)
