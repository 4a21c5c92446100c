"""Meeting evidence (/dokumentasi): a kelompok's latest meetings with photos, each meeting's
planned day, time and place beside what its photos say: when they were taken (the
camera's clock) and where (their GPS position, with a map link), and whether we have
fetched and kept them yet. For the pendamping and for the coordinators over the group."""

from __future__ import annotations

from enum import StrEnum

from handlers.flow import Ctx, Flow, StepResult
from handlers.group_choice import GroupStep, choose_group, group_picked
from handlers.local_time import staff_zone
from handlers.messages import IncomingMessage
from handlers.parsing.dates import format_date_id
from models.attendance import group_in_scope
from models.enums import MediaStatus
from models.media_views import MediaView, meeting_evidence

SHOWN_MEETINGS = 3
MAP_LINK = "https://www.openstreetmap.org/?mlat={lat:.6f}&mlon={lon:.6f}#map=17/{lat:.6f}/{lon:.6f}"


class Step(StrEnum):
    PICK_GROUP = GroupStep.PICK_GROUP.value


async def entry(message: IncomingMessage, ctx: Ctx) -> StepResult:
    return await choose_group(ctx, _show, prompt_key="dokumentasi.pick_group")


async def pick_group(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """The group whose meeting photos to see."""
    return await group_picked(ctx, _show)


async def _show(ctx: Ctx, kelompok_id: int, name: str) -> StepResult:
    await group_in_scope(ctx.session, ctx.staff, kelompok_id)  # else OutOfScope
    meetings = await meeting_evidence(ctx.session, kelompok_id, limit=SHOWN_MEETINGS)
    if not meetings:
        return ctx.done(ctx.t("dokumentasi.none", name=name))
    zone = await staff_zone(ctx)
    parts = [ctx.t("dokumentasi.title", name=name)]
    for meeting in meetings:
        parts.append(
            ctx.t(
                "dokumentasi.meeting",
                date=format_date_id(meeting.meeting_date),
                time=meeting.starts_at.astimezone(zone).strftime("%H:%M"),
                place=meeting.place or "-",
            )
        )
        parts.extend(_photo_line(ctx, n, view) for n, view in enumerate(meeting.photos, 1))
    return ctx.done("\n".join(parts))


def _photo_line(ctx: Ctx, number: int, view: MediaView) -> str:
    if view.status is None:
        return ctx.t("dokumentasi.photo_old", n=number)
    if view.status is MediaStatus.PENDING:
        return ctx.t("dokumentasi.photo_pending", n=number)
    if view.status is MediaStatus.REFUSED:
        return ctx.t("dokumentasi.photo_refused", n=number)
    if view.status is MediaStatus.FAILED:
        return ctx.t("dokumentasi.photo_failed", n=number)
    taken = (
        ctx.t("dokumentasi.taken", when=view.taken_at.strftime("%d/%m/%Y %H:%M"))
        if view.taken_at is not None
        else ctx.t("dokumentasi.taken_unknown")
    )
    if view.latitude is not None and view.longitude is not None:
        link = MAP_LINK.format(lat=view.latitude, lon=view.longitude)
        where = ctx.t(
            "dokumentasi.location",
            lat=f"{view.latitude:.5f}",
            lon=f"{view.longitude:.5f}",
            link=link,
        )
    else:
        where = ctx.t("dokumentasi.no_location")
    size = f"{(view.size_bytes or 0) / 1_000_000:.1f} MB"
    return ctx.t("dokumentasi.photo", n=number, taken=taken, where=where, size=size)


FLOW = Flow(
    name="dokumentasi",
    entry=entry,
    steps={Step.PICK_GROUP: pick_group},
    roles=frozenset({"pendamping", "supervisor", "koordinator", "admin"}),
)
