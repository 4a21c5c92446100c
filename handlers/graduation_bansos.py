"""The bansos komplementer step of /graduasi and the advocacy list.

After the indicators, the pendamping records for each configured complementary programme
whether the family has it (punya), needs it but lacks it (butuh) or does not need it
(tidak perlu): a tap or its number moves it on (belum dicatat -> punya -> butuh -> tidak
perlu -> punya), and one typed line sets several ("punya 1 2, butuh 3", "kis punya kip
butuh", "semua punya"). What was recorded before is shown first, so running /graduasi
again edits it; it is saved with the assessment, after the one confirmation.

/graduasi without a name first lists the families in scope still needing a programme:
the pendamping's advocacy list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import cast

from handlers.flow import Ctx, Pick, StepResult, option_value, picked_key
from handlers.messages import Option, Reply, Toggle
from handlers.parsing.programme_line import NEXT_STATUS, parse_programme_line
from models.bansos import advocacy_list
from models.enums import ProgrammeStatus
from models.rules.graduation import GraduationRules

ADVOCACY_LISTED = 15  # families named in the advocacy list; the rest are counted
_ON = {ProgrammeStatus.PUNYA: True, ProgrammeStatus.BUTUH: False}


def _statuses(ctx: Ctx) -> dict[str, str]:
    return cast(dict[str, str], ctx.data.setdefault("programmes", {}))


def statuses(ctx: Ctx) -> dict[str, ProgrammeStatus]:
    """The statuses recorded in this conversation (configured programmes only)."""
    keys = ctx.settings.graduation.programme_keys
    return {key: ProgrammeStatus(value) for key, value in _statuses(ctx).items() if key in keys}


def state_text(ctx: Ctx, status: ProgrammeStatus | str | None) -> str:
    return ctx.t(f"graduation.programme_state.{ProgrammeStatus(status) if status else 'none'}")


def programmes_text(ctx: Ctx, recorded: dict[str, ProgrammeStatus] | dict[str, str]) -> str:
    """Every configured programme with its status, on one line:
    "KIS/PBI-JKN punya; KIP/PIP butuh (belum punya); ..."."""
    rules = ctx.settings.graduation
    return "; ".join(
        f"{p.label} {state_text(ctx, recorded.get(p.key))}" for p in rules.programmes
    ) or ctx.t("graduation.programmes_none")


def missing_text(ctx: Ctx, gates: Iterable[str], programmes: Iterable[str]) -> str:
    """What keeps a family from siap besides the score, on one line: the gates' labels,
    then "KIS/PBI-JKN belum dimiliki" for each programme (label) needed."""
    needed = [ctx.t("graduation.missing_programme", programme=label) for label in programmes]
    return "; ".join([*gates, *needed])


def show(ctx: Ctx, step: StrEnum, *, edit: bool = False) -> StepResult:
    """The programmes as toggles: ✅ punya, ❌ butuh, ⬜ tidak perlu or not recorded (the
    label says which)."""
    recorded = _statuses(ctx)
    toggles = []
    for number, programme in enumerate(ctx.settings.graduation.programmes, start=1):
        status = recorded.get(programme.key)
        label = f"{number}. {programme.label}: {state_text(ctx, status)}"
        on = _ON.get(ProgrammeStatus(status)) if status else None
        toggles.append(Toggle(option_value(Pick.PROGRAMME, programme.key), label, on))
    text = ctx.t("graduation.programmes_prompt", name=ctx.data["kpm_name"])
    options = [Option("done", ctx.t("graduation.option_done"))]
    return ctx.ask(step, text, options, toggles, numbered=False, edit_previous=edit)


Then = Callable[[Ctx], StepResult]


async def answer(ctx: Ctx, step: StrEnum, done: Then) -> StepResult:
    """A tap, numbers, one typed line, or Selesai (then ``done``)."""
    rules = ctx.settings.graduation
    recorded = _statuses(ctx)
    if ctx.choice == "done":
        return done(ctx)
    key = picked_key(ctx.choice, Pick.PROGRAMME)
    if key is not None and key in rules.programme_keys:
        _cycle(recorded, key)
        return show(ctx, step, edit=True)
    line = parse_programme_line(ctx.text, rules.programmes) if ctx.text else None
    if line is None:
        return ctx.retry(ctx.t("graduation.programmes_invalid"))
    if line.unknown:
        words = ", ".join(dict.fromkeys(line.unknown))
        return ctx.retry(ctx.t("graduation.programmes_unknown", words=words))
    if line.out_of_range:
        numbers = ", ".join(map(str, dict.fromkeys(line.out_of_range)))
        return ctx.retry(
            ctx.t(
                "graduation.programme_numbers_out_of_range",
                numbers=numbers,
                total=len(rules.programmes),
            )
        )
    keys = rules.programme_keys
    for number in line.cycled:
        _cycle(recorded, keys[number - 1])
    for number, status in line.statuses:
        recorded[keys[number - 1]] = status.value
    return show(ctx, step)


def _cycle(recorded: dict[str, str], key: str) -> None:
    current = recorded.get(key)
    recorded[key] = NEXT_STATUS[ProgrammeStatus(current) if current else None].value


async def advocacy_note(ctx: Ctx) -> Reply | None:
    """The families in scope still needing a programme, or None when there are none."""
    rules: GraduationRules = ctx.settings.graduation
    found = await advocacy_list(
        ctx.session, ctx.staff, rules.programme_keys, limit=ADVOCACY_LISTED
    )
    if not found.families:
        return None
    lines = [
        ctx.t(
            "graduation.advocacy_line",
            name=family.name,
            kelompok=family.kelompok,
            programmes=", ".join(rules.label(key) for key in family.programmes),
        )
        for family in found.first
    ]
    if found.families > len(found.first):
        lines.append(ctx.t("graduation.advocacy_more", count=found.families - len(found.first)))
    return Reply(ctx.t("graduation.advocacy", count=found.families, lines="\n".join(lines)))

