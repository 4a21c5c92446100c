"""The ketua kelompok relays: before each meeting the ketua gets one message naming the
members no reminder reaches (no phone and no linked chat, or the last message to them
failed; never those who said stop: :func:`models.reach.unreachable_members`), with the
meeting and how to answer for them ("hadir semua", "Siti tidak bisa, sakit"), and one
ready-to-forward text for the kelompok's own WhatsApp group (Twilio cannot post into a
WhatsApp group): neutral, no NIK or phone, naming the meeting and whom to tell when a
member cannot come.

Timing: with the meeting's first reminder (its largest offset, as
:func:`scheduler.reminders.reminder_slots` places it, quiet hours and missed slots
included), decided once: who is unreachable is read when that slot is due, not days
before. Both go the way reminders do (their kind, priority and deadline), to the ketua's
own channel (:func:`scheduler.reminders.reach`), and only when the ketua can be reached
themselves. Dedupe keys ``ketua:{meeting id}:{version}:{ketua id}:list`` / ``:forward``
(:func:`models.ketua.ketua_prefix`): a second sweep adds nothing, a meeting moved gets
fresh ones from the next sweep (:func:`models.meeting_changes.withdraw_waiting` withdraws
the old version's), and a new ketua gets their own.

Set-based: a handful of statements per sweep, whatever the number of kelompok.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.db import READ_ONLY
from models.ketua import KetuaContact, ketua_of_meetings, ketua_prefix
from models.meeting_changes import meeting_version, reminder_values
from models.messaging.enqueue import Enqueue, Priority, enqueue
from models.messaging.reminder_changes import existing_keys
from models.messaging.sweeps import MeetingInfo, planned_meetings_between, planned_meetings_now
from models.reach import Unreachable, unreachable_members
from scheduler.reminders import reach, reminder_slots

log = logging.getLogger(__name__)
KIND = "meeting_reminder"  # the reminders' kind: paced, expired and counted as they are


@dataclass(frozen=True)
class KetuaReport:
    due: int  # meetings past their first reminder's time whose kelompok has a ketua
    lists: int  # lists of unreachable members enqueued by this run
    forwards: int  # texts to forward enqueued by this run
    listed: int  # members named in those lists
    ketua_unreachable: int  # meetings skipped: their ketua cannot be reached either
    changed_meanwhile: int = 0  # left out: their meeting moved while the sweep ran


async def enqueue_ketua_relays(
    sessions: async_sessionmaker[AsyncSession],
    *,
    now: datetime,
    offsets_days: Sequence[int],
    reminder_time: time,
    quiet_start: time,
    quiet_end: time,
    lookahead_days: int = 8,
) -> KetuaReport:
    """Enqueue the ketua's list and text to forward of every planned meeting whose first
    reminder is due and for which they were not enqueued yet."""
    horizon = timedelta(days=max(lookahead_days, max(offsets_days, default=0) + 1))
    counts: Counter[str] = Counter()
    async with sessions() as session:
        await session.connection(execution_options=READ_ONLY)
        messages, versions = await _read_due(
            session, now=now, until=now + horizon, offsets=offsets_days,
            reminder_time=reminder_time, quiet=(quiet_start, quiet_end), counts=counts,
        )
    added = stale = 0
    if messages:
        async with sessions.begin() as session:
            current = await planned_meetings_now(
                session, {message.payload["meeting_id"] for message in messages}
            )
            fresh = [
                message for message in messages
                if (now_at := current.get(message.payload["meeting_id"])) is not None
                and meeting_version(*now_at) == versions[message.payload["meeting_id"]]
            ]
            stale = len(messages) - len(fresh)
            added = await enqueue(session, fresh, now=now)
    report = KetuaReport(
        due=counts["due"], lists=counts["lists"], forwards=counts["forwards"],
        listed=counts["listed"], ketua_unreachable=counts["ketua_unreachable"],
        changed_meanwhile=stale,
    )
    log.info(
        "ketua relays: %d meetings due, %d lists (%d members), %d texts to forward, "
        "%d enqueued, %d ketua unreachable",
        report.due, report.lists, report.listed, report.forwards, added,
        report.ketua_unreachable,
    )
    return report


async def _read_due(
    session: AsyncSession,
    *,
    now: datetime,
    until: datetime,
    offsets: Sequence[int],
    reminder_time: time,
    quiet: tuple[time, time],
    counts: Counter[str],
) -> tuple[list[Enqueue], dict[int, str]]:
    """The messages due, and the version each meeting's were made for."""
    due: dict[int, tuple[MeetingInfo, datetime]] = {}
    for meeting in await planned_meetings_between(session, now, until):
        slots, _ = reminder_slots(
            meeting, offsets, now=now, reminder_time=reminder_time,
            quiet_start=quiet[0], quiet_end=quiet[1],
        )
        first = min((slot.send_at for slot in slots), default=None)
        if first is not None and first <= now:
            due[meeting.meeting_id] = (meeting, first)
    ketua = await ketua_of_meetings(session, due)
    counts["due"] = len(ketua)
    versions = {
        meeting_id: meeting_version(due[meeting_id][0].starts_at, due[meeting_id][0].place)
        for meeting_id in ketua
    }
    keys = {
        meeting_id: f"{ketua_prefix(meeting_id, versions[meeting_id])}{who.kpm_id}:"
        for meeting_id, who in ketua.items()
    }
    done = await existing_keys(session, [f"{key}forward" for key in keys.values()])
    todo = [meeting_id for meeting_id, key in keys.items() if f"{key}forward" not in done]
    unreachable = await unreachable_members(session, todo)
    messages: list[Enqueue] = []
    for meeting_id in todo:
        meeting, send_at = due[meeting_id]
        who = ketua[meeting_id]
        missing = unreachable.get(meeting_id, [])
        where = reach(who.preferred, who.phone, who.linked)
        if where is None or any(member.kpm_id == who.kpm_id for member in missing):
            counts["ketua_unreachable"] += 1
            continue
        listed = [member for member in missing if member.kpm_id != who.kpm_id]
        channel, address = where
        for part, payload in _payloads(meeting, who, listed):
            messages.append(Enqueue(
                channel, address, KIND, payload, Priority.REMINDER,
                dedupe_key=f"{keys[meeting_id]}{part}", not_before=send_at,
                deadline_at=meeting.starts_at, region=meeting.region,
            ))
            counts["lists" if part == "list" else "forwards"] += 1
        counts["listed"] += len(listed)
    return messages, versions


def _payloads(
    meeting: MeetingInfo, ketua: KetuaContact, listed: Sequence[Unreachable]
) -> list[tuple[str, dict[str, Any]]]:
    """The list (when anyone is unreachable), then the text to forward."""
    values = reminder_values(meeting)
    common = {"meeting_id": meeting.meeting_id, "zone": meeting.zone, "rsvp": False}
    found: list[tuple[str, dict[str, Any]]] = []
    if listed:
        found.append(("list", {
            **common,
            "key": "ketua.list",
            "values": {
                "penerima": ketua.addressed, **values, "count": len(listed),
                "members": ", ".join(member.name for member in listed),
                "contoh": listed[0].name.split()[0],
            },
        }))
    forward = {
        "kelompok": values["kelompok"], "date": values["date"], "time": values["time"],
        "place": values["place"], "ketua": ketua.addressed, "pendamping": values["pendamping"],
    }
    found.append(("forward", {**common, "key": "ketua.forward", "values": forward}))
    return found
