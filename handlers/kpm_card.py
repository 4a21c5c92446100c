"""The KPM card (/kpm NAMA): group, komponen, recent attendance, the commitments due this
period with their results and those of the periods before, open cases, status, the stage
of graduasi mandiri with what is still missing and the complementary programmes; the phone
in full for the KPM's own pendamping only."""

from __future__ import annotations

from handlers import kpm_lookup
from handlers.flow import Ctx, Flow, StepResult
from handlers.graduation_bansos import missing_text, programmes_text
from handlers.local_time import local_today
from handlers.messages import IncomingMessage
from handlers.parsing.dates import format_date_id
from models.commitments import DueItem
from models.enums import CommitmentResult, KpmStatus
from models.kpm import KpmCard, kpm_card
from models.rules.graduation import GraduationRules, Stage
from models.rules.text import mask_nik, mask_phone


async def entry(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """Start: find the KPM named in the command, or ask for one."""
    return await kpm_lookup.start(ctx, _show)


async def _show(ctx: Ctx, kpm_id: int, name: str) -> StepResult:
    rules = ctx.settings.commitments
    period = rules.period_of(await local_today(ctx))
    card = await kpm_card(ctx.session, ctx.staff, kpm_id, rules=rules, period=period)
    own = card.pendamping_id == ctx.staff.id
    komponen = "\n".join(
        f"• {ctx.settings.catalog.label(kind)}"
        + (ctx.t("kpm.card_until", date=format_date_id(end)) if end else "")
        for kind, end in card.komponen
    ) or ctx.t("kpm.card_no_komponen")
    marks = " ".join(ctx.t(f"kpm.mark_short.{mark or 'none'}") for _, mark in card.last_meetings)
    cases = "\n".join(
        f"• #{case_id} {ctx.settings.case_rules.label(ctx.t, category)}"
        f" ({ctx.t(f'case.status.{status}')})"
        for case_id, category, status in card.open_cases
    ) or ctx.t("kpm.card_no_cases")
    status = ctx.t(f"kpm.status.{card.status}")
    if card.left_on is not None and card.exit_reason is not None:
        status = ctx.t(
            "kpm.card_left",
            status=status,
            date=format_date_id(card.left_on),
            reason=ctx.t(f"kpm.exit_reason.{card.exit_reason}"),
        )
    return ctx.done(
        ctx.t(
            "kpm.card",
            name=card.name,
            id_pkh=card.id_pkh,
            nik=mask_nik(card.nik),
            # The KPM's own pendamping sees the number (they need to call); anyone else
            # in scope sees it masked.
            phone=(card.phone or "-") if own else mask_phone(card.phone),
            kelompok=card.kelompok or "-",
            status=status,
            komponen=komponen,
            attendance=marks or ctx.t("kpm.card_no_meetings"),
            period=period.label(ctx.settings.locale),
            commitments=_due_lines(ctx, card.commitments),
            recent=_recent_lines(ctx, card),
            cases=cases,
            graduation=_graduation(ctx, card),
        )
    )


def graduation_stage(rules: GraduationRules, card: KpmCard) -> tuple[Stage | None, list[str]]:
    """A family's stage of graduasi mandiri, from its latest assessment and the
    complementary programmes it still needs (returned too): the chat's card and the web
    console's say the same."""
    latest = card.assessment
    needed = rules.needed(card.programmes)
    stage = rules.stage(
        score=latest.score if latest else None,
        threshold=latest.threshold if latest else None,
        gates_met=latest.gates_met if latest else False,
        needs=bool(needed),
        graduated=card.status == KpmStatus.GRADUASI_MANDIRI,
    )
    return stage, list(needed)


def _graduation(ctx: Ctx, card: KpmCard) -> str:
    """The stage of graduasi mandiri (with the latest score), the programmes (when any are
    configured) and what keeps an assessed or needing active family from siap: the score,
    the gates not met, the programmes needed."""
    rules = ctx.settings.graduation
    latest = card.assessment
    stage, needed = graduation_stage(rules, card)
    active = card.status == KpmStatus.AKTIF
    graduated = card.status == KpmStatus.GRADUASI_MANDIRI
    if latest is None:
        assessed = ctx.t("kpm.card_graduation_unassessed")
    else:
        assessed = ctx.t(
            "kpm.card_graduation_score",
            score=_number(latest.score),
            threshold=_number(latest.threshold),
        )
    text = ctx.t(
        "kpm.card_graduation",
        stage=stage.label if stage is not None and (active or graduated) else "-",
        assessed=assessed if active else "",
    )
    if rules.programmes:
        listed = programmes_text(ctx, card.programmes)
        text += "\n" + ctx.t("kpm.card_programmes", programmes=listed)
    missing: list[str] = []
    if latest is not None and latest.score < latest.threshold:
        missing.append(ctx.t("kpm.card_missing_score"))
    if latest is not None and not latest.gates_met:
        missing += [rules.label(gate) for gate in rules.missing_gates(latest.checked)]
    if active and (line := missing_text(ctx, missing, [rules.label(k) for k in needed])):
        text += "\n" + ctx.t("kpm.card_graduation_missing", missing=line)
    return text


def _number(value: float) -> str:
    """A score the Indonesian way: 7, 6,7."""
    return format(round(value, 1), "g").replace(".", ",")


def _reason(ctx: Ctx, reason: str | None) -> str:
    label = ctx.settings.commitments.reason_label(reason) if reason else None
    return label or ctx.t("komitmen.no_reason")


def _due_lines(ctx: Ctx, items: list[DueItem]) -> str:
    """This period's commitments: memenuhi, tidak memenuhi (why) or belum diverifikasi."""
    lines = []
    for item in items:
        if item.result is CommitmentResult.MEMENUHI:
            status = ctx.t("kpm.card_commitment_met")
        elif item.result is CommitmentResult.TIDAK_MEMENUHI:
            status = ctx.t("kpm.card_commitment_not_met", reason=_reason(ctx, item.reason))
        else:
            status = ctx.t("kpm.card_commitment_unverified")
        lines.append(
            ctx.t(
                "kpm.card_commitment",
                komponen=ctx.settings.catalog.label(item.komponen_type),
                commitment=ctx.settings.commitments.label(item.commitment, title=True),
                status=status,
            )
        )
    return "\n".join(lines) or ctx.t("kpm.card_no_commitments")


def _recent_lines(ctx: Ctx, card: KpmCard) -> str:
    """The periods before, newest first: counts, and what was not met and why."""
    if not any(past.met or past.not_met for past in card.recent_commitments):
        return ctx.t("kpm.card_recent_empty")
    lines = []
    for past in card.recent_commitments:
        label = past.period.label(ctx.settings.locale)
        if not past.met and not past.not_met:
            lines.append(ctx.t("kpm.card_recent_none", period=label))
            continue
        lines.append(
            ctx.t("kpm.card_recent", period=label, met=past.met, not_met=len(past.not_met))
        )
        lines += [
            ctx.t(
                "kpm.card_recent_not_met",
                komponen=ctx.settings.catalog.label(kind),
                commitment=ctx.settings.commitments.label(commitment),
                reason=_reason(ctx, reason),
            )
            for kind, commitment, reason in past.not_met
        ]
    return "\n".join(lines)


FLOW = Flow(
    name="kpm_card",
    entry=entry,
    steps=kpm_lookup.steps(_show),
    roles=frozenset({"pendamping", "supervisor", "koordinator", "admin"}),
)
