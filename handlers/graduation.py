"""Graduation assessment (/graduasi NAMA): tick the readiness indicators, record the
family's complementary programmes (bansos komplementer), see the score, what is missing and
the stage, save both at once; a family who becomes siap (the threshold reached, every gate
met, no programme needed) raises one alert to their pendamping and coordinator.

/graduasi without a name first shows the advocacy list: the families in scope still
needing a complementary programme."""

from __future__ import annotations

import re
from datetime import UTC
from enum import StrEnum
from typing import TypedDict, cast

from handlers import graduation_bansos, kpm_lookup
from handlers.flow import Ctx, Flow, Pick, StepResult, option_value, picked_key
from handlers.local_time import local_now
from handlers.messages import IncomingMessage, Option, Reply, Toggle
from models.bansos import programme_statuses, save_programmes
from models.cases import escalation_addresses
from models.enums import Channel, KpmStatus
from models.graduation import NewAssessment, latest_assessment, save_assessment, subject_in_scope
from models.messaging.enqueue import Enqueue, Priority, enqueue
from models.messaging.sweeps import staff_addresses
from models.rules.calendar import after_quiet_hours
from models.rules.graduation import AttendanceTally, Score, score_assessment
from reporting.graduation import attendance_tallies


class Step(StrEnum):
    """The steps of this flow, as kept in conversation state."""

    CONFIRM = "confirm"
    INDICATORS = "indicators"
    PROGRAMMES = "programmes"


class GraduationData(TypedDict, total=False):
    """What the flow keeps between steps (conversation state, stored as JSON)."""

    kpm_id: int
    kpm_name: str
    kelompok_name: str
    checked: list[str]  # the indicator keys ticked
    attendance: list[int]  # [meetings present, meetings recorded]
    page: int
    programmes: dict[str, str]  # complementary programme key -> status (recorded only)


RENAMED = {"kpm": "kpm_id", "kelompok": "kelompok_name", "on": "checked", "att": "attendance"}
"""The data's keys before they were named in full (conversations under way at an upgrade)."""


def _data(ctx: Ctx) -> GraduationData:
    return cast(GraduationData, ctx.data)



_NUMBERS_ONLY = re.compile(r"^\d+(?:\s*(?:,|;|\s|dan)\s*\d+)*$", re.I | re.ASCII)


async def entry(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """Start: find the KPM named in the command, or ask for one."""
    if not ctx.settings.graduation.indicators:
        return ctx.done(ctx.t("graduation.no_indicators"))
    if not ctx.text and (note := await graduation_bansos.advocacy_note(ctx)) is not None:
        ctx.notes.append(note)
    return await kpm_lookup.start(ctx, _kpm_chosen)


async def _kpm_chosen(ctx: Ctx, kpm_id: int, name: str) -> StepResult:
    subject = await subject_in_scope(ctx.session, ctx.staff, kpm_id)
    if subject.status is not KpmStatus.AKTIF:
        status = ctx.t(f"kpm.status.{subject.status.value}")
        return ctx.done(ctx.t("graduation.not_active", name=subject.name, status=status))
    latest = await latest_assessment(ctx.session, kpm_id)
    tally = (await attendance_tallies(ctx.session, [kpm_id])).get(kpm_id, AttendanceTally())
    keys = set(ctx.settings.graduation.keys)
    _data(ctx).update(
        {
            "kpm_id": kpm_id,
            "kpm_name": subject.name,
            "kelompok_name": subject.kelompok,
            "checked": sorted(latest.checked & keys) if latest else [],
            "attendance": [tally.present, tally.recorded],
            "page": 0,
            "programmes": {
                key: status.value
                for key, status in (await programme_statuses(ctx.session, kpm_id)).items()
                if key in ctx.settings.graduation.programme_keys
            },
        }
    )
    if latest is not None:
        ctx.notes.append(_note(ctx, "graduation.preset_from_latest"))
    return _show_indicators(ctx)


def _show_indicators(ctx: Ctx, *, edit: bool = False) -> StepResult:
    indicators = ctx.settings.graduation.indicators
    on = set(_data(ctx)["checked"])
    size = ctx.settings.page_size
    pages = max(1, -(-len(indicators) // size))
    page = min(max(_data(ctx).get("page", 0), 0), pages - 1)
    _data(ctx)["page"] = page
    toggles = [
        Toggle(
            option_value(Pick.INDICATOR, indicator.key),
            f"{number}. {indicator.label}",
            indicator.key in on,
        )
        for number, indicator in enumerate(indicators, start=1)
        if page * size < number <= (page + 1) * size
    ]
    options = [Option("done", ctx.t("graduation.option_done"))]
    if page + 1 < pages:
        options.append(Option("next", ctx.t("graduation.option_next")))
    if page > 0:
        options.append(Option("prev", ctx.t("graduation.option_prev")))
    text = ctx.t(
        "graduation.indicators_prompt",
        name=_data(ctx)["kpm_name"],
        page=page + 1,
        pages=pages,
        attendance=_attendance_text(ctx),
    )
    return ctx.ask(Step.INDICATORS, text, options, toggles, numbered=False, edit_previous=edit)


async def indicators(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """Taps on indicators, their numbers ("1 3") or a label typed; then Selesai."""
    configured = ctx.settings.graduation.indicators
    on: list[str] = _data(ctx)["checked"]
    if ctx.choice in ("next", "prev"):
        _data(ctx)["page"] = _data(ctx).get("page", 0) + (1 if ctx.choice == "next" else -1)
        return _show_indicators(ctx, edit=True)
    if ctx.choice == "done":
        if ctx.settings.graduation.programmes:
            return graduation_bansos.show(ctx, Step.PROGRAMMES)
        return _summary(ctx)
    if (indicator := picked_key(ctx.choice, Pick.INDICATOR)) is not None:
        _flip(on, indicator)
        return _show_indicators(ctx, edit=True)
    if ctx.text and _NUMBERS_ONLY.match(ctx.text):
        numbers = [int(n) for n in re.findall(r"\d+", ctx.text)]
        wrong = [n for n in numbers if not 1 <= n <= len(configured)]
        if wrong:
            return ctx.retry(
                ctx.t(
                    "graduation.numbers_out_of_range",
                    numbers=", ".join(map(str, wrong)),
                    total=len(configured),
                )
            )
        for number in numbers:
            _flip(on, configured[number - 1].key)
        return _show_indicators(ctx)
    typed = ctx.text.strip().rstrip(".").casefold()
    by_label = [i.key for i in configured if typed and i.label.casefold() == typed]
    if by_label:
        _flip(on, by_label[0])
        return _show_indicators(ctx)
    return ctx.retry(ctx.t("graduation.indicators_invalid"))


def _flip(on: list[str], key: str) -> None:
    if key in on:
        on.remove(key)
    else:
        on.append(key)


async def programmes(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """The family's complementary programmes; then Selesai."""
    return await graduation_bansos.answer(ctx, Step.PROGRAMMES, _summary)


def _score(ctx: Ctx) -> Score:
    present, recorded = _data(ctx)["attendance"]
    return score_assessment(
        _data(ctx)["checked"],
        ctx.settings.graduation,
        AttendanceTally(present, recorded),
        attendance_reason=ctx.t("graduation.reason_attendance"),
        programmes=graduation_bansos.statuses(ctx),
    )


def _verdict(ctx: Ctx, score: Score) -> str:
    """Siap, or what is missing: points to the threshold, gates, programmes needed."""
    missing = graduation_bansos.missing_text(ctx, score.missing_gates, score.needed)
    if score.ready:
        return ctx.t("graduation.verdict_ready")
    if score.reached:
        return ctx.t("graduation.verdict_blocked", missing=missing)
    verdict = ctx.t("graduation.verdict_not_ready", missing=_number(score.threshold - score.score))
    return f"{verdict}\n{ctx.t('graduation.also_missing', missing=missing)}" if missing else verdict


def _stage(ctx: Ctx, score: Score) -> str:
    stage = ctx.settings.graduation.stage(
        score=score.score,
        threshold=score.threshold,
        gates_met=score.gates_met,
        needs=bool(score.needed),
    )
    return stage.label if stage is not None else "-"


def _summary(ctx: Ctx) -> StepResult:
    score = _score(ctx)
    text = ctx.t(
        "graduation.summary",
        name=_data(ctx)["kpm_name"],
        score=_number(score.score),
        threshold=_number(score.threshold),
        verdict=_verdict(ctx, score),
        reasons="\n".join(f"• {reason}" for reason in score.reasons)
        or ctx.t("graduation.no_reasons"),
        attendance=_attendance_text(ctx),
        attendance_points=_number(score.attendance_points),
        programmes=graduation_bansos.programmes_text(ctx, graduation_bansos.statuses(ctx)),
        stage=_stage(ctx, score),
    )
    options = [
        Option("save", ctx.t("graduation.option_save")),
        Option("edit", ctx.t("graduation.option_edit")),
    ]
    return ctx.ask(Step.CONFIRM, text, options)


async def confirm(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """Save, or go back to the indicators."""
    if ctx.choice == "edit":
        return _show_indicators(ctx)
    if ctx.choice != "save":
        return ctx.retry(ctx.t("graduation.confirm_invalid"))
    score = _score(ctx)
    present, recorded = _data(ctx)["attendance"]
    rules = ctx.settings.graduation
    new = NewAssessment(
        kpm_id=_data(ctx)["kpm_id"],
        checked=frozenset(key for key in _data(ctx)["checked"] if key in rules.keys),
        keys=rules.keys,
        present=present,
        recorded=recorded,
        score=score.score,
        threshold=score.threshold,
        gates_met=score.gates_met,
        needed=rules.needed(graduation_bansos.statuses(ctx)),
    )
    # The programmes and the assessment in the step's one transaction: both or neither.
    await save_programmes(
        ctx.session, ctx.staff, new.kpm_id, graduation_bansos.statuses(ctx), now=ctx.now
    )
    saved = await save_assessment(ctx.session, ctx.staff, new, now=ctx.now)
    values = {
        "name": _data(ctx)["kpm_name"],
        "score": _number(score.score),
        "threshold": _number(score.threshold),
    }
    if not saved.alert:
        key = "graduation.saved_ready" if score.ready else "graduation.saved"
        return ctx.done(ctx.t(key, **values))
    await _alert(ctx, saved.id, score)
    return ctx.done(ctx.t("graduation.saved_alerted", **values))


async def _alert(ctx: Ctx, assessment_id: int, score: Score) -> None:
    """The "ready for graduasi mandiri" alert to the KPM's pendamping and coordinators,
    held until the end of quiet hours local to the assessor."""
    kpm_id = _data(ctx)["kpm_id"]
    subject = await subject_in_scope(ctx.session, ctx.staff, kpm_id)
    targets: dict[str, Channel] = {}
    pendamping = await staff_addresses(ctx.session, [subject.pendamping_id])
    for channel, address in pendamping.values():
        targets.setdefault(address, channel)
    for _, channel, address in await escalation_addresses(ctx.session, kpm_id):
        targets.setdefault(address, channel)
    values = {
        "kpm": subject.name,
        "kelompok": subject.kelompok,
        "score": _number(score.score),
        "threshold": _number(score.threshold),
        "reasons": "; ".join(score.reasons) or ctx.t("graduation.no_reasons"),
        "assessor": ctx.staff.name,
    }
    not_before = after_quiet_hours(await local_now(ctx), *ctx.settings.quiet_hours)
    await enqueue(
        ctx.session,
        [
            Enqueue(
                channel=channel,
                address=address,
                kind="alert",
                priority=Priority.ALERT,
                payload={
                    "key": "alert.graduation_ready",
                    "values": values,
                    "kpm_id": kpm_id,
                },
                dedupe_key=f"grad-ready:{assessment_id}:{address}",
                not_before=not_before.astimezone(UTC),
            )
            for address, channel in targets.items()
        ],
        now=ctx.now,
    )


def _attendance_text(ctx: Ctx) -> str:
    present, recorded = _data(ctx)["attendance"]
    if not recorded:
        return ctx.t("graduation.attendance_none")
    return ctx.t("graduation.reason_attendance", present=present, recorded=recorded)


def _number(value: float) -> str:
    """A score the Indonesian way: 7, 6,7."""
    return format(round(value, 1), "g").replace(".", ",")


def _note(ctx: Ctx, key: str) -> Reply:
    return Reply(ctx.t(key))


FLOW = Flow(
    name="graduation",
    entry=entry,
    renamed=RENAMED,
    steps={
        **kpm_lookup.steps(_kpm_chosen),
        Step.INDICATORS: indicators,
        Step.PROGRAMMES: programmes,
        Step.CONFIRM: confirm,
    },
    roles=frozenset({"pendamping", "supervisor", "koordinator", "admin"}),
)
