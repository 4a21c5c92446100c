"""A KPM's phone number changes in chat: the pendamping writes "ganti nomor Rina 0813..."
(or /ganti_nomor), picks the KPM when the name is not enough, and confirms once; or the
KPM writes "GANTI NOMOR 0813..." from the old phone, which changes it at once (the old
phone is the KPM's own linked address) and tells their pendamping through the outbox."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from handlers import kpm_lookup
from handlers.flow import Ctx, Flow, StepResult
from handlers.i18n import Translator
from handlers.kpm_changes import CANCEL, SAVE
from handlers.messages import IncomingMessage, Option, Reply
from models.enums import KpmStatus
from models.kpm import addressee, kpm_in_scope
from models.kpm_messages import tell_pendamping
from models.phone_changes import PhoneChangeError, change_phone
from models.rules.phone import PhoneError, normalize_phone
from models.tables import Kpm

PHRASE = re.compile(r"^ganti\s+nomor\b\s*(?P<args>.*)$", re.I | re.S)
""""ganti nomor Rina 0813..." from staff, "GANTI NOMOR 0813..." from a KPM."""
_NAME_AND_PHONE = re.compile(r"^(?P<name>.*?)\s*(?P<phone>\+?\d[\d\s.\-()]{5,})$")


class Step(StrEnum):
    CONFIRM = "confirm"


def shown(phone: str | None) -> str:
    """A number as people write it, the middle hidden: ``0812••••890``."""
    if not phone:
        return "-"
    national = "0" + phone[3:] if phone.startswith("+62") else phone
    return f"{national[:4]}••••{national[-3:]}"


async def entry(message: IncomingMessage, ctx: Ctx) -> StepResult:
    match = _NAME_AND_PHONE.match(ctx.text.strip())
    if match is None or not match.group("name").strip():
        return ctx.done(ctx.t("phone_change.usage"))
    ctx.data["phone"] = match.group("phone").strip()
    ctx.text = match.group("name").strip()
    return await kpm_lookup.start(ctx, _chosen)


async def _chosen(ctx: Ctx, kpm_id: int, name: str) -> StepResult:
    kpm = await kpm_in_scope(ctx.session, ctx.staff, kpm_id)
    if kpm.status is not KpmStatus.AKTIF:
        return ctx.done(ctx.t("kpm_change.not_active", name=kpm.nama_pengurus))
    try:
        phone = normalize_phone(ctx.data["phone"])
    except PhoneError:
        return ctx.done(ctx.t("phone_change.invalid"))
    ctx.data["kpm_id"] = kpm.id
    to = await addressee(ctx.session, kpm.id)
    text = ctx.t("phone_change.confirm", **to, before=shown(kpm.phone), after=shown(phone))
    options = [
        Option(SAVE, ctx.t("phone_change.option_yes")),
        Option(CANCEL, ctx.t("kpm_change.option_cancel")),
    ]
    return ctx.ask(Step.CONFIRM, text, options)


async def confirm(message: IncomingMessage, ctx: Ctx) -> StepResult:
    if ctx.choice == CANCEL:
        return ctx.done(ctx.t("kpm_change.cancelled"))
    if ctx.choice != SAVE:
        return ctx.retry(ctx.t("kpm_change.confirm_invalid"))
    kpm = await kpm_in_scope(ctx.session, ctx.staff, ctx.data["kpm_id"])
    try:
        changed = await change_phone(
            ctx.session, kpm, ctx.data["phone"], by=ctx.staff, now=ctx.now, share=True
        )
    except PhoneChangeError as error:
        return ctx.done(ctx.t(f"phone_change.{error.key}"))
    to = await addressee(ctx.session, kpm.id)
    done = ctx.t(
        "phone_change.done", **to, before=shown(changed.before), after=shown(changed.after)
    )
    if changed.shared_with:  # a neighbour's or the ketua's phone: one reminder names all
        done += "\n" + ctx.t("phone_change.shared", count=changed.shared_with + 1)
    return ctx.done(done)


FLOW = Flow(
    name="kpm_phone",
    entry=entry,
    steps={**kpm_lookup.steps(_chosen), Step.CONFIRM: confirm},
)


async def kpm_changes_number(
    session: AsyncSession, kpm_id: int, written: str, *, now: datetime, t: Translator
) -> Reply:
    """"GANTI NOMOR 0813..." from the KPM's own (linked) phone: changed at once, and their
    pendamping is told."""
    to = await addressee(session, kpm_id)
    kpm = await session.get(Kpm, kpm_id)
    assert kpm is not None
    try:
        changed = await change_phone(session, kpm, written, by=None, now=now, actor="kpm")
    except PhoneChangeError as error:
        return Reply(t(f"phone_change.kpm_{error.key}", **to))
    values = {"before": shown(changed.before), "after": shown(changed.after)}
    await tell_pendamping(
        session,
        kpm_id,
        "alert",
        lambda who: {"key": "phone_change.notice", "values": {
            "name": who.kpm_name, "kelompok": who.kelompok_name, **values,
        }},
        dedupe_key=f"phone-change:{kpm_id}:{now:%Y%m%d%H%M%S%f}",
        now=now,
    )
    return Reply(t("phone_change.kpm_done", **to, after=shown(changed.after)))
