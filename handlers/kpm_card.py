"""The KPM card (/kpm NAMA): group, komponen, recent attendance, open cases, status; the
phone in full for the KPM's own pendamping only."""

from __future__ import annotations

from handlers import kpm_lookup
from handlers.flow import Ctx, Flow, StepResult
from handlers.messages import IncomingMessage
from handlers.parsing.dates import format_date_id
from models.kpm import kpm_card
from models.rules.text import mask_nik, mask_phone


async def entry(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """Start: find the KPM named in the command, or ask for one."""
    return await kpm_lookup.start(ctx, _show)


async def _show(ctx: Ctx, kpm_id: int, name: str) -> StepResult:
    card = await kpm_card(ctx.session, ctx.staff, kpm_id)
    own = card.pendamping_id == ctx.staff.id
    catalog = ctx.settings.catalog
    komponen = "\n".join(
        f"• {catalog.rules[kind].label if kind in catalog.rules else kind}"
        + (ctx.t("kpm.card_until", date=format_date_id(end)) if end else "")
        for kind, end in card.komponen
    ) or ctx.t("kpm.card_no_komponen")
    marks = " ".join(ctx.t(f"kpm.mark_short.{mark or 'none'}") for _, mark in card.last_meetings)
    cases = "\n".join(
        f"• #{case_id} {ctx.t(f'case.category.{category}')} ({ctx.t(f'case.status.{status}')})"
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
            cases=cases,
        )
    )


FLOW = Flow(
    name="kpm_card",
    entry=entry,
    steps=kpm_lookup.steps(_show),
    roles=frozenset({"pendamping", "supervisor", "koordinator", "admin"}),
)
