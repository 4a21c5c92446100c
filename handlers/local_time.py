"""A staff member's local date and time, from the province of their region."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from handlers.flow import Ctx
from models.regions import timezone_of_region


async def staff_zone(ctx: Ctx) -> ZoneInfo:
    name = ctx.data.get("_tz")
    if name is None:
        name = (
            await timezone_of_region(ctx.session, ctx.staff.region_id)
            or ctx.settings.default_timezone
        )
        ctx.data["_tz"] = name
    return ZoneInfo(name)


async def local_now(ctx: Ctx) -> datetime:
    return ctx.now.astimezone(await staff_zone(ctx))


async def local_today(ctx: Ctx) -> date:
    return (await local_now(ctx)).date()
