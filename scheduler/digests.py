"""The weekly coordinator digest: built and enqueued once per coordinator and week.

Each coordinator's digest is due at the configured weekday and time in their own time
zone. A sweep that runs after that moment in the same week (the process was down at
7:00) sends it late, once; the dedupe keys (coordinator, ISO week, part) make a second
run, or a second process, enqueue nothing. A week that has passed entirely is not sent
any more: its news is stale and the new week's digest follows.

The figures of a week's digest run up to the day before its due day, so a digest sent
late carries the same figures as one sent on time. The text, the chart and the workbook
are three outbox rows, enqueued together with the stored files in one transaction.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.db import READ_ONLY
from models.db.sql import is_postgres
from models.enums import Channel
from models.messaging.enqueue import Enqueue, Priority, enqueue
from models.messaging.report_files import purge_expired, store_file
from models.messaging.sweeps import staff_addresses, staff_regions
from models.messaging.tables import Outbox
from models.rules.calendar import after_quiet_hours
from models.tables import Staff
from reporting.digest import (
    LANES,
    Digest,
    DigestOptions,
    build_digest,
    coordinators,
    iso_week,
    staff_timezone,
)
from reporting.export_files import XLSX_CONTENT_TYPE

log = logging.getLogger(__name__)
KIND = "weekly_digest"
FILE_KIND = "digest_file"
PARTS = ("text", "chart", "workbook")
FILE_TTL = timedelta(days=7)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class DigestReport:
    due: int  # coordinators whose digest of this week is due
    sent: int  # digests built and enqueued by this run
    unreachable: int  # due, but the coordinator has no linked chat
    failed: int = 0  # could not be built (logged; tried again at the next run)


def parse_week(text: str) -> date:
    """The Monday of an ISO week written ``YYYY-Www`` (e.g. 2026-W47)."""
    try:
        year, week = text.strip().upper().split("-W")
        return date.fromisocalendar(int(year), int(week), 1)
    except ValueError:
        raise ValueError(f"week {text!r} is not an ISO week such as 2026-W47") from None


def due_moment(monday: date, weekday: str, at: time, zone: ZoneInfo) -> datetime:
    """When the digest of the week beginning ``monday`` is due, in ``zone``."""
    return datetime.combine(monday + timedelta(days=WEEKDAYS.index(weekday)), at, zone)


def figures_as_of(due: datetime) -> datetime:
    """The figures of a week's digest run up to the end of the day before it is due."""
    return datetime.combine(due.date(), time(0), due.tzinfo) - timedelta(microseconds=1)


def dedupe_key(staff_id: int, week: str, part: str) -> str:
    return f"digest:{staff_id}:{week}:{part}"


async def enqueue_digests(
    sessions: async_sessionmaker[AsyncSession],
    *,
    now: datetime,
    weekday: str,
    at: time,
    options: DigestOptions,
    translate: Callable[..., str],
    quiet: tuple[time, time] | None = None,
    read_sessions: async_sessionmaker[AsyncSession] | None = None,
) -> DigestReport:
    """Build and enqueue every coordinator's digest that is due this week and not yet
    enqueued. Digests are built in read-only transactions (SQLite's write lock is taken
    only to store the files and enqueue); one coordinator's failure does not stop the
    others'. A digest due (or caught up) in ``quiet`` hours waits for their end.
    ``read_sessions`` (a replica) build the digests, when given."""
    reader = read_sessions or sessions
    async with reader() as session:
        await session.connection(execution_options=READ_ONLY)
        staff = await coordinators(session)
        due: list[tuple[Staff, str, datetime, ZoneInfo]] = []
        for member in staff:
            zone = await staff_timezone(session, member, options.default_timezone)
            local = now.astimezone(zone)
            monday = local.date() - timedelta(days=local.weekday())
            moment = due_moment(monday, weekday, at, zone)
            if local >= moment:
                due.append((member, iso_week(monday), moment, zone))
        keys = [dedupe_key(m.id, week, "text") for m, week, _, _ in due]
        done = set(
            await session.scalars(select(Outbox.dedupe_key).where(Outbox.dedupe_key.in_(keys)))
        )
        addresses = await staff_addresses(session, [m.id for m, _, _, _ in due])
        lanes = LANES if is_postgres(session) else 1
    free = asyncio.Semaphore(lanes)

    async def one(member: Staff, week: str, moment: datetime, zone: ZoneInfo) -> str:
        """One coordinator's digest: "sent", "unreachable", "failed" or "" (nothing new)."""
        if dedupe_key(member.id, week, "text") in done:
            return ""
        if member.id not in addresses:
            return "unreachable"
        try:
            async with free, reader() as session:
                await session.connection(execution_options=READ_ONLY)
                digest = await build_digest(
                    session,
                    member,
                    as_of=figures_as_of(moment),
                    options=options,
                    translate=translate,
                    week=week,
                )
            channel, address = addresses[member.id]
            added = await enqueue_digest(
                sessions,
                digest,
                (channel, address),
                now=now,
                zone=zone,
                quiet=quiet,
                options=options,
            )
            return "sent" if added > 0 else ""
        except Exception:  # the others' digests still go; this one is tried next run
            log.exception("digest of coordinator %s failed", member.id)
            return "failed"

    # On PostgreSQL two at a time (reporting.digest.LANES): the database works on one's
    # figures while the other's chart and workbook are drawn.
    outcomes = Counter(await asyncio.gather(*(one(*item) for item in due)))
    sent, unreachable, failed = outcomes["sent"], outcomes["unreachable"], outcomes["failed"]
    if due:
        async with sessions.begin() as session:
            await purge_expired(session, now=now)
    report = DigestReport(due=len(due), sent=sent, unreachable=unreachable, failed=failed)
    if unreachable:
        log.warning("%s coordinators have no linked chat for their digest", unreachable)
    return report


async def enqueue_digest(
    sessions: async_sessionmaker[AsyncSession],
    digest: Digest,
    to: tuple[Channel, str],
    *,
    now: datetime,
    zone: ZoneInfo,
    quiet: tuple[time, time] | None,
    options: DigestOptions,
) -> int:
    """Store a built digest's files and enqueue its three parts in one short write
    transaction, out of the recipient's quiet hours. Returns how many rows were added
    (none when this week's digest was enqueued already)."""
    not_before = now
    if quiet is not None:
        not_before = after_quiet_hours(now.astimezone(zone), *quiet).astimezone(UTC)
    async with sessions.begin() as session:
        messages = await digest_messages(
            session,
            digest,
            digest.week,
            channel=to[0],
            address=to[1],
            now=now,
            options=options,
            not_before=not_before,
            zone=str(zone),
        )
        region = (await staff_regions(session, [digest.staff_id])).get(digest.staff_id)
        messages = [message._replace(region=region) for message in messages]
        return await enqueue(session, messages, now=now)


async def digest_messages(
    session: AsyncSession,
    digest: Digest,
    week: str,
    *,
    channel: Channel,
    address: str,
    now: datetime,
    options: DigestOptions,
    not_before: datetime | None = None,
    zone: str | None = None,
) -> list[Enqueue]:
    """The three outbox rows of one digest (text, chart, workbook) for one address, under
    the week's dedupe keys, the files stored alongside."""
    chart = await store_file(
        session,
        filename=digest.chart_filename,
        content_type="image/png",
        content=digest.chart_png,
        now=now,
        staff_id=digest.staff_id,
        ttl=FILE_TTL,
    )
    workbook = await store_file(
        session,
        filename=digest.workbook_filename,
        content_type=XLSX_CONTENT_TYPE,
        content=digest.workbook,
        now=now,
        staff_id=digest.staff_id,
        ttl=FILE_TTL,
    )
    # Outside WhatsApp's 24-hour window the text goes as the template digest.summary.
    text = {"text": digest.text, "key": "digest.summary", "values": digest.summary}
    payloads: dict[str, tuple[str, dict[str, Any]]] = {
        "text": (KIND, text),
        "chart": (FILE_KIND, {"key": "digest.chart_caption", "file_id": chart}),
        "workbook": (FILE_KIND, {"key": "digest.workbook_caption", "file_id": workbook}),
    }
    if zone:  # for the dispatcher: a retry waits out the coordinator's quiet hours
        for _, payload in payloads.values():
            payload["zone"] = zone
    prefix = f"digest:{digest.staff_id}:{week}"
    return [
        Enqueue(
            channel=channel,
            address=address,
            kind=kind,
            payload=payload,
            priority=Priority.DIGEST,
            dedupe_key=f"{prefix}:{part}",
            not_before=not_before,
        )
        for part, (kind, payload) in payloads.items()
    ]
