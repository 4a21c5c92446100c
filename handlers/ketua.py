"""/ketua: the pendamping sets (or clears) a kelompok's ketua: the kelompok (named in the
command, the only one, or picked), then the member, by number or name. Audited; the
ketua then gets, before each meeting, the list of members no reminder reaches and a text
to forward to the kelompok's WhatsApp group (scheduler.ketua_relay)."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import exists, select

from handlers.flow import Ctx, Flow, Pick, StepResult, option_value, picked_id
from handlers.group_choice import GroupStep, choose_group, group_picked
from handlers.messages import IncomingMessage, Option
from handlers.parsing.attendance_line import Member, match_member_name
from models.attendance import group_in_scope, members_of
from models.ketua import KetuaError, set_ketua
from models.kpm import addressee
from models.tables import ChannelIdentity, Kpm

NOBODY = "none"


class Step(StrEnum):
    MEMBER = "member"  # who the ketua is


async def entry(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """Start: the kelompok, unless the command named it or there is only one."""
    return await choose_group(ctx, _kelompok_chosen, prompt_key="ketua.pick_group")


async def pick_group(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """The kelompok whose ketua to set."""
    return await group_picked(ctx, _kelompok_chosen)


async def _kelompok_chosen(ctx: Ctx, kelompok_id: int, name: str) -> StepResult:
    kelompok = await group_in_scope(ctx.session, ctx.staff, kelompok_id)
    members = await members_of(ctx.session, kelompok.id)
    if not members:
        return ctx.done(ctx.t("ketua.no_members", kelompok=name))
    ctx.data.update({"kelompok_id": kelompok.id, "kelompok_name": name})
    current = dict(members).get(kelompok.ketua_kpm_id or 0)
    options = [Option(option_value(Pick.KPM, kpm_id), member) for kpm_id, member in members]
    if current is not None:
        options.append(Option(NOBODY, ctx.t("ketua.option_nobody")))
    text = ctx.t(
        "ketua.ask_member", kelompok=name, current=current or ctx.t("ketua.nobody"),
        example=members[0][1].split()[0],
    )
    return ctx.ask(Step.MEMBER, text, options)


async def member(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """The member who leads the kelompok: a number, a name (or part of one), or nobody."""
    kelompok = await group_in_scope(ctx.session, ctx.staff, ctx.data["kelompok_id"])
    name = ctx.data["kelompok_name"]
    if ctx.choice == NOBODY:
        await set_ketua(ctx.session, kelompok, None, by=ctx.staff, now=ctx.now)
        return ctx.done(ctx.t("ketua.cleared", kelompok=name))
    kpm_id = picked_id(ctx.choice, Pick.KPM)
    members = await members_of(ctx.session, kelompok.id)
    if kpm_id is None and ctx.text and not ctx.text.isdecimal():  # a name, maybe misspelt
        found = match_member_name(
            ctx.text, [Member(n, member_id, m) for n, (member_id, m) in enumerate(members, 1)]
        )
        kpm_id = found.kpm_id if isinstance(found, Member) else None
    if kpm_id is None:
        return ctx.retry(ctx.t("ketua.member_invalid", example=members[0][1].split()[0]))
    before = kelompok.ketua_kpm_id
    try:
        await set_ketua(ctx.session, kelompok, kpm_id, by=ctx.staff, now=ctx.now)
    except KetuaError:
        return ctx.retry(ctx.t("ketua.member_invalid", example=members[0][1].split()[0]))
    to = await addressee(ctx.session, kpm_id)
    if before == kpm_id:
        return ctx.done(ctx.t("ketua.unchanged", **to, kelompok=name))
    text = ctx.t("ketua.set", **to, kelompok=name)
    if not await _reachable(ctx, kpm_id):
        text = f"{text}\n\n{ctx.t('ketua.set_no_contact', **to)}"
    return ctx.done(text)


async def _reachable(ctx: Ctx, kpm_id: int) -> bool:
    """Whether the ketua has a phone or a linked chat to get the lists on."""
    linked = exists().where(
        ChannelIdentity.kpm_id == Kpm.id, ChannelIdentity.opted_out_at.is_(None)
    )
    found = await ctx.session.scalar(
        select(Kpm.id).where(Kpm.id == kpm_id, (Kpm.phone.is_not(None)) | linked)
    )
    return found is not None


FLOW = Flow(
    name="ketua",
    entry=entry,
    steps={GroupStep.PICK_GROUP: pick_group, Step.MEMBER: member},
)
