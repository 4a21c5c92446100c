"""A meeting moved or cancelled: withdraw its pending reminders of the old time and tell
the KPM (and the group chat) that already got or were due one. Called in the transaction
that changes the meeting (the /jadwal flow); the next reminder sweep enqueues the reminders
for the new time, whose dedupe keys carry the meeting's new version."""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from models.enums import Channel, MeetingStatus
from models.households import joined_names, kpm_ids_of
from models.ketua import ketua_prefix, restore_withdrawn_ketua
from models.messaging.enqueue import Enqueue, Priority, enqueue
from models.messaging.reminder_changes import (
    reminders_sent_or_due,
    restore_withdrawn,
    withdraw_pending,
)
from models.messaging.sweeps import (
    MeetingInfo,
    addressed_kpm,
    group_readers,
    meeting_info,
    opted_out_kpm,
)
from models.messaging.template_checks import READER_LIMIT
from models.rules.calendar import after_quiet_hours, day_text, zone, zone_time_text

log = logging.getLogger(__name__)
CHANGED_KIND = "meeting_changed"
QUIET = (time(21, 0), time(6, 0))
MAX_OFFSET_DAYS = 30  # the largest reminder offset the settings allow


def meeting_version(starts_at: datetime, place: str | None) -> str:
    """What a reminder says that can change: the start (UTC minute) and the place."""
    start = starts_at.astimezone(UTC)
    return f"{start:%Y%m%d%H%M}-{zlib.crc32((place or '').encode()):08x}"


def reminder_prefix(meeting_id: int, version: str | None = None) -> str:
    return f"reminder:{meeting_id}:{version}:" if version else f"reminder:{meeting_id}:"


def reminder_values(meeting: MeetingInfo) -> dict[str, Any]:
    """A reminder's values: the day and date, the time with its zone, the place and the
    pendamping who signs it, as people say them."""
    local = meeting.starts_at.astimezone(zone(meeting.zone))
    return {
        "kelompok": meeting.kelompok,
        "date": day_text(local.date()),
        "time": zone_time_text(local.time(), meeting.zone),
        "place": meeting.place,
        "pendamping": meeting.pendamping,
    }


@dataclass(frozen=True)
class ChangeReport:
    withdrawn: int  # pending reminders (and today's nudge) of the old time withdrawn
    restored: int  # reminders of this very time withdrawn by an earlier change, put back
    notices: int  # change notices enqueued


async def withdraw_waiting(
    session: AsyncSession, meeting_id: int, *, now: datetime, keep_version: str | None = None
) -> int:
    """Withdraw the meeting's reminders, the messages to its ketua and its morning nudge
    still waiting to be sent, except those of ``keep_version`` (the meeting's time and
    place now); returns how many."""
    prefix, nudge = reminder_prefix(meeting_id), f"nudge-today:{meeting_id}:"
    keep = reminder_prefix(meeting_id, keep_version) if keep_version else None
    withdrawn = await withdraw_pending(session, prefix, now=now, except_prefix=keep)
    withdrawn += await withdraw_pending(  # the ketua's list and text to forward
        session, ketua_prefix(meeting_id), now=now,
        except_prefix=ketua_prefix(meeting_id, keep_version) if keep_version else None,
    )
    return withdrawn + await withdraw_pending(
        session, nudge, now=now, except_prefix=f"{nudge}{keep_version}:" if keep_version else None
    )


async def meeting_changed(
    session: AsyncSession,
    meeting_id: int,
    *,
    now: datetime,
    cancelled: bool,
    quiet_start: time = QUIET[0],
    quiet_end: time = QUIET[1],
) -> ChangeReport:
    """After a meeting was moved (date, time or place) or cancelled, in the caller's
    transaction: withdraw its pending reminders of the old time and tell the KPM (and the
    group chat) that already got or were due one. The next sweep enqueues the reminders for
    the new time."""
    meeting = await meeting_info(session, meeting_id)
    if meeting is None:
        return ChangeReport(0, 0, 0)
    cancelled = cancelled or meeting.status is MeetingStatus.CANCELLED
    version = meeting_version(meeting.starts_at, meeting.place)
    prefix = reminder_prefix(meeting_id)
    keep = None if cancelled else reminder_prefix(meeting_id, version)
    since = now - timedelta(days=MAX_OFFSET_DAYS + 2)
    told = await reminders_sent_or_due(session, prefix, now=now, since=since, except_prefix=keep)
    withdrawn = await withdraw_waiting(
        session, meeting_id, now=now, keep_version=None if cancelled else version
    )
    restored = 0 if keep is None else await restore_withdrawn(session, keep, now=now)
    if keep is not None:
        restored += await restore_withdrawn_ketua(session, meeting_id, version, now=now)
    if now >= meeting.starts_at or not told:
        return ChangeReport(withdrawn, restored, 0)
    recipients: dict[str, tuple[Channel, str]] = {}
    for row in told:
        recipients.setdefault(row.dedupe_key.rsplit(":", 1)[1], (row.channel, row.address))
    # who: a KPM id, the ids of KPM on one phone ("12+15"), or "group"
    told_kpm = {who: kpm_ids_of(who) for who in recipients if who != "group"}
    everyone = [kpm_id for ids in told_kpm.values() for kpm_id in ids]
    gone = await opted_out_kpm(session, everyone)
    told_kpm = {who: [i for i in ids if i not in gone] for who, ids in told_kpm.items()}
    local_now = now.astimezone(zone(meeting.zone))
    not_before = after_quiet_hours(local_now, quiet_start, quiet_end).astimezone(UTC)
    values = reminder_values(meeting)
    key = "reminder.cancelled" if cancelled else "reminder.changed"
    names = await addressed_kpm(session, everyone)
    readers = {
        who: joined_names([names.get(i, "-") for i in told_kpm[who]], READER_LIMIT)
        if who in told_kpm else group_readers(meeting.kelompok)
        for who in recipients
    }
    stamp = f"{'cancelled' if cancelled else version}:{meeting.updated_at:%Y%m%d%H%M%S}"
    notices = [
        Enqueue(
            channel=channel,
            address=address,
            kind=CHANGED_KIND,
            payload={
                "key": key,
                "values": {**values, "penerima": readers[who]},
                "meeting_id": meeting_id,
            },
            priority=Priority.NUDGE,
            dedupe_key=f"changed:{meeting_id}:{stamp}:{who}",
            not_before=not_before,
            deadline_at=meeting.starts_at,
            region=meeting.region,  # the reminders' sender: the kelompok's region's
        )
        for who, (channel, address) in recipients.items()
        if who not in told_kpm or told_kpm[who]  # not if all on the address opted out
    ]
    added = await enqueue(session, notices, now=now) if not_before < meeting.starts_at else 0
    log.info(
        "meeting %s %s: %d reminders withdrawn, %d restored, %d notices",
        meeting_id,
        "cancelled" if cancelled else "changed",
        withdrawn,
        restored,
        added,
    )
    return ChangeReport(withdrawn, restored, added)
