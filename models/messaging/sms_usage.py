"""SMS costs money: the segments sent in a month, in all, per kabupaten and in a staff
member's scope (an SMS is a KPM's by its number: ``sms:`` + ``kpm.phone``, and the KPM's
kelompok's desa is under a kabupaten).

Every SMS sent carries its segments (``outbox.segments``, set by the dispatcher); the
month is a calendar month in the deployment's time zone. The queries read the SMS sent in
the month by the partial index on ``sent_at``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from models.enums import Channel
from models.messaging.tables import Outbox
from models.rules.calendar import zone
from models.tables import Kelompok, Kpm, Region

SMS_BUDGET_SPENT = "SMS budget for the month spent"
"""The error of an SMS the business starts that the monthly budget stopped."""


def month_bounds(now: datetime, zone_name: str | None) -> tuple[datetime, datetime]:
    """The calendar month of ``now`` in the zone, as UTC times ``[start, end)``."""
    tz = zone(zone_name)
    local = now.astimezone(tz)
    first = local.date().replace(day=1)
    following = first.replace(year=first.year + first.month // 12, month=first.month % 12 + 1)
    return (
        datetime.combine(first, time(0), tz).astimezone(UTC),
        datetime.combine(following, time(0), tz).astimezone(UTC),
    )


def _sent_between(start: datetime, end: datetime) -> ColumnElement[bool]:
    return (
        Outbox.segments.is_not(None)
        & (Outbox.sent_at >= start)
        & (Outbox.sent_at < end)
        & (Outbox.channel == Channel.SMS)
    )


def _of_kpm() -> ColumnElement[bool]:
    # The KPM found by their phone's index: matched on "sms:" + phone alone, the
    # planner looped over every KPM of the scope for each SMS of the month (a
    # coordinator's digest at a million KPM ran for minutes: bench/scale.py).
    return (Kpm.phone == func.substr(Outbox.address, 5)) & (
        Outbox.address == literal("sms:") + Kpm.phone
    )


@dataclass(frozen=True)
class SmsUsage:
    messages: int
    segments: int


async def sms_sent(session: AsyncSession, start: datetime, end: datetime) -> SmsUsage:
    """SMS sent in ``[start, end)`` and their segments."""
    count, total = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(Outbox.segments), 0)).where(
                _sent_between(start, end)
            )
        )
    ).one()
    return SmsUsage(int(count), int(total))


@dataclass(frozen=True)
class KabupatenSms:
    kabupaten: str | None  # None: SMS to no KPM's number (staff, a number since changed)
    messages: int
    segments: int


async def sms_by_kabupaten(
    session: AsyncSession, start: datetime, end: datetime
) -> list[KabupatenSms]:
    """SMS sent in ``[start, end)`` per kabupaten of the KPM they went to, most segments
    first; the SMS to no KPM's number last (an SMS to a phone shared by KPM of two
    kabupaten counts in both)."""
    desa, kec, kab = (aliased(Region) for _ in range(3))
    pairs = (
        select(Outbox.id, Outbox.segments, kab.id.label("kab_id"), kab.name.label("kab_name"))
        .distinct()
        .join(Kpm, _of_kpm())
        .join(Kelompok, Kelompok.id == Kpm.kelompok_id)
        .outerjoin(desa, desa.id == Kelompok.desa_id)
        .outerjoin(kec, kec.id == desa.parent_id)
        .outerjoin(kab, kab.id == kec.parent_id)
        .where(_sent_between(start, end))
        .subquery()
    )
    rows = await session.execute(
        select(pairs.c.kab_name, func.count(), func.sum(pairs.c.segments))
        .group_by(pairs.c.kab_id, pairs.c.kab_name)
        .order_by(func.sum(pairs.c.segments).desc(), pairs.c.kab_name)
    )
    found = [KabupatenSms(name, int(count), int(total or 0)) for name, count, total in rows]
    unmatched = await session.execute(
        select(func.count(), func.coalesce(func.sum(Outbox.segments), 0)).where(
            _sent_between(start, end), ~exists().where(_of_kpm())
        )
    )
    count, total = unmatched.one()
    if count:
        found.append(KabupatenSms(None, int(count), int(total)))
    return found


async def sms_in_scope(
    session: AsyncSession, kelompok_ids: Select[Any], start: datetime, end: datetime
) -> SmsUsage:
    """SMS sent in ``[start, end)`` to KPM of the kelompok ``kelompok_ids``."""
    count, total = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(Outbox.segments), 0)).where(
                _sent_between(start, end),
                exists().where(_of_kpm(), Kpm.kelompok_id.in_(kelompok_ids)),
            )
        )
    ).one()
    return SmsUsage(int(count), int(total))
