"""/hapus_data NAMA: a coordinator erases a family's personal data on its request (UU PDP
27/2022), for a family in their region only, after saying why and confirming what goes.
Pendamping cannot: the request goes through their coordinator."""

from __future__ import annotations

from enum import StrEnum
from typing import TypedDict, cast

from handlers import kpm_lookup
from handlers.flow import Ctx, Flow, StepResult
from handlers.messages import IncomingMessage, Option
from models.erasure import ErasureError, erase, preview
from models.kpm import kpm_in_scope

ERASE, CANCEL = "erase", "cancel"
MIN_REASON = 3


class Step(StrEnum):
    REASON = "reason"  # why, in a few words
    CONFIRM = "confirm"  # "Ya, hapus data" erases


class ErasureData(TypedDict, total=False):
    kpm_id: int
    reason: str


def _data(ctx: Ctx) -> ErasureData:
    return cast(ErasureData, ctx.data)


async def entry(message: IncomingMessage, ctx: Ctx) -> StepResult:
    return await kpm_lookup.start(ctx, _chosen)


async def _chosen(ctx: Ctx, kpm_id: int, name: str) -> StepResult:
    kpm = await kpm_in_scope(ctx.session, ctx.staff, kpm_id)
    if kpm.erased_at is not None:
        return ctx.done(
            ctx.t("erasure.already_erased", id_pkh=kpm.id_pkh, date=f"{kpm.erased_at:%d/%m/%Y}")
        )
    _data(ctx)["kpm_id"] = kpm.id
    return ctx.ask(
        Step.REASON, ctx.t("erasure.ask_reason", name=kpm.nama_pengurus, id_pkh=kpm.id_pkh)
    )


async def reason(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """Why, typed: "permintaan KPM", "keluar PKH, minta dihapus"."""
    if len(ctx.text) < MIN_REASON:
        return ctx.retry(ctx.t("erasure.reason_invalid"))
    data = _data(ctx)
    data["reason"] = ctx.text[:200]
    kpm = await kpm_in_scope(ctx.session, ctx.staff, data["kpm_id"])
    try:
        shown = await preview(ctx.session, kpm)
    except ErasureError:
        return ctx.done(ctx.t("erasure.already_erased", id_pkh=kpm.id_pkh, date="-"))
    text = ctx.t(
        "erasure.confirm", name=kpm.nama_pengurus, id_pkh=kpm.id_pkh,
        addresses=shown.addresses, messages=shown.messages, cases=shown.cases,
        photos=shown.photos, waiting=shown.waiting,
    )
    options = [
        Option(ERASE, ctx.t("erasure.option_erase")),
        Option(CANCEL, ctx.t("erasure.option_cancel")),
    ]
    return ctx.ask(Step.CONFIRM, text, options)


async def confirm(message: IncomingMessage, ctx: Ctx) -> StepResult:
    if ctx.choice == CANCEL:
        return ctx.done(ctx.t("erasure.cancelled"))
    if ctx.choice != ERASE:
        return ctx.retry(ctx.t("erasure.confirm_invalid"))
    data = _data(ctx)
    kpm = await kpm_in_scope(ctx.session, ctx.staff, data["kpm_id"])
    try:
        done = await erase(ctx.session, kpm, data["reason"], by=ctx.staff, now=ctx.now)
    except ErasureError as error:
        return ctx.done(ctx.t("erasure.already_erased", id_pkh=kpm.id_pkh,
                              date=str(error.values.get("date", "-"))))
    # The family's name is gone from here on: the answer names the pseudonym only.
    return ctx.done(
        ctx.t("erasure.done", id_pkh=done.id_pkh, pseudonym=done.pseudonym,
              withdrawn=done.withdrawn)
    )


FLOW = Flow(
    name="erasure",
    entry=entry,
    steps={**kpm_lookup.steps(_chosen), Step.REASON: reason, Step.CONFIRM: confirm},
    roles=frozenset({"koordinator", "admin"}),
)
