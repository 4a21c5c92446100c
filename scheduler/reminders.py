"""KPM reminders before each meeting, and withdrawing them when a meeting changes.

For every planned meeting starting within the lookahead and every offset (3 and 1 days
before, by default) the sweep enqueues one reminder per active, not opted-out KPM of the
kelompok on the KPM's channel, and one to the kelompok's group chat. What is due is read
from the database every time and the outbox skips dedupe keys it has, so a sweep may run
as often as wanted, and after a restart or downtime it enqueues what was missed.

Times, local to the kelompok:
- a reminder is due at ``reminder_time`` on the meeting date less the offset, moved out of
  quiet hours (earlier when possible: see :mod:`models.rules.calendar`); one that would come at or
  after the meeting start is not sent;
- a reminder whose time has passed (downtime) goes now, if the meeting stood at that time
  already (``updated_at``; a meeting planned or moved since gets the change notice and the
  later reminders instead), unless a later reminder goes the same day: so of several
  missed offsets only the last is sent;
- capacity: when a channel's rate cannot send a batch between its time and its deadline
  (the meeting start or the next quiet hours, whichever is first), the batch starts earlier,
  spread at the channel's rate; what cannot make it even so is logged and reported.

Dedupe keys carry the meeting's *version* (start and place): ``reminder:{meeting id}:
{version}:{offset}:{kpm id | group}``, so a meeting moved gets fresh reminders from the next
sweep while :func:`meeting_changed` withdraws the stale ones.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import pickle
import tempfile
from collections import Counter, defaultdict, deque
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Container,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from itertools import repeat
from types import MappingProxyType
from typing import Any, NamedTuple, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.db import READ_ONLY
from models.db.sql import is_postgres
from models.enums import Channel
from models.households import joined_names, key_of
from models.meeting_changes import (
    meeting_version,
    reminder_prefix,
)
from models.meeting_changes import reminder_values as _values
from models.messaging.enqueue import EnqueueColumns, Priority, enqueue
from models.messaging.reminder_changes import existing_keys
from models.messaging.sweeps import (
    MeetingInfo,
    Members,
    group_readers,
    members_to_remind,
    planned_meetings_between,
    planned_meetings_now,
)
from models.messaging.template_checks import READER_LIMIT, TemplateCheck
from models.reach_view import reach
from models.rules.calendar import (
    shift_out_of_quiet_hours,
    zone,
)
from scheduler.reminder_capacity import (
    BatchKey,
    BatchSizes,
    Placement,
    SenderOf,
    fit_capacity,
    spread_over_window,
)

log = logging.getLogger(__name__)
KIND = "meeting_reminder"
WRITE_CHUNK = 10_000  # messages per write transaction: SQLite's lock is held this long
WRITE_CHUNK_POSTGRESQL = 100_000
"""PostgreSQL holds no database-wide lock: a part's messages in one transaction (written
``WRITE_CHUNK`` at a time), so that each meeting's row is checked and held once (in
transactions of 10,000, each held most of the part's meetings: FOR SHARE on 200,000
meeting rows for a million KPM, 16 s of the sweep)."""
MEETINGS_PER_PART = 1000  # meetings read at a time: some 50,000 reminders


@dataclass(frozen=True)
class ReminderReport:
    meetings: int  # planned meetings within the lookahead
    messages: int  # reminders due by this run, whether enqueued now or before
    enqueued: int  # added to the outbox by this run
    group_messages: int  # of ``messages``, those to group chats
    unreachable: int  # member-meetings with no phone and no linked chat
    skipped_offsets: int  # (meeting, offset) not sent: too late, superseded, no quiet-free time
    moved_earlier: int  # messages started earlier to fit the channel's rate
    shortfall: dict[str, int]  # channel -> messages that cannot go out before their deadline
    changed_meanwhile: int = 0  # left out: their meeting moved while the sweep ran
    new_by_channel: dict[str, int] = field(default_factory=dict)  # channel -> new messages


@dataclass(frozen=True)
class Slot:
    """When the reminders of one offset of one meeting go, and the bounds to spread them."""

    offset: int
    send_at: datetime  # UTC
    send_by: datetime  # the meeting start or the next quiet hours, whichever is first
    earliest: datetime  # now or the end of the last quiet hours, whichever is later
    late: bool


def reminder_slots(
    meeting: MeetingInfo,
    offsets: Sequence[int],
    *,
    now: datetime,
    reminder_time: time,
    quiet_start: time,
    quiet_end: time,
) -> tuple[list[Slot], int]:
    """The slots of a meeting's reminders, and how many offsets were skipped."""
    tz = zone(meeting.zone)
    start = meeting.starts_at.astimezone(tz)
    now_local = now.astimezone(tz)
    slots: list[Slot] = []
    skipped = 0
    for offset in sorted(set(offsets), reverse=True):
        due = datetime.combine(start.date() - timedelta(days=offset), reminder_time, tz)
        late = due < now_local
        if due >= start or (late and due < meeting.updated_at):
            skipped += 1
            continue
        at = shift_out_of_quiet_hours(
            now_local if late else due, quiet_start, quiet_end, earliest=now_local, latest=start
        )
        if at is None or at >= start:
            skipped += 1
            continue
        send_by, earliest = start, now_local
        if quiet_start != quiet_end:
            quiet_begins = datetime.combine(at.date(), quiet_start, tz)
            quiet_begins += timedelta(days=int(quiet_begins <= at))
            quiet_ended = datetime.combine(at.date(), quiet_end, tz)
            quiet_ended -= timedelta(days=int(quiet_ended > at))
            send_by, earliest = min(start, quiet_begins), max(now_local, quiet_ended)
        slots.append(
            Slot(
                offset,
                at.astimezone(UTC),
                send_by.astimezone(UTC),
                earliest.astimezone(UTC),
                late=late,
            )
        )
    # A missed reminder is superseded by a later one sent the same local day or before.
    kept = [
        slot
        for index, slot in enumerate(slots)
        if not slot.late
        or all(_day(later.send_at, tz) > _day(slot.send_at, tz) for later in slots[index + 1 :])
    ]
    skipped += len(slots) - len(kept)
    return kept, skipped


def _day(moment: datetime, tz: tzinfo) -> date:
    return moment.astimezone(tz).date()


@dataclass
class Batch:
    """Reminders of one channel that go at one time: the new ones, column by column; and
    how many of the same batch earlier runs enqueued (they take the channel's time too)."""

    messages: EnqueueColumns = field(default_factory=EnqueueColumns)
    already: int = 0
    zone: str | None = None  # the kelompok's time zone (a batch is of one reminder time)

    def __len__(self) -> int:
        return len(self.messages) + self.already

    def add(
        self,
        channel: Channel,
        meeting: MeetingInfo,
        slot: Slot,
        payloads: Sequence[dict[str, Any]],
        addresses: Sequence[str],
        keys: Sequence[str],
        readers: Sequence[str | None] | None = None,
    ) -> None:
        """One offset's reminders of one meeting, to ``addresses`` with dedupe ``keys``,
        each its payload (the meeting's, shared) and its reader (the name the payload
        gets, :attr:`Enqueue.reader`; None: only counted): a list extension per column,
        whatever the number of members."""
        count, messages = len(keys), self.messages
        messages.channel += repeat(channel, count)
        messages.address += addresses
        messages.kind += repeat(KIND, count)
        messages.payload += payloads
        messages.reader += repeat(None, count) if readers is None else readers
        messages.priority += repeat(Priority.REMINDER, count)
        messages.dedupe_key += keys
        messages.not_before += repeat(slot.send_at, count)
        messages.deadline_at += repeat(meeting.starts_at, count)
        messages.region += repeat(meeting.region, count)


async def enqueue_reminders(
    sessions: async_sessionmaker[AsyncSession],
    *,
    now: datetime,
    offsets_days: Sequence[int],
    reminder_time: time,
    quiet_start: time,
    quiet_end: time,
    lookahead_days: int = 8,
    rates: Mapping[Channel, float] | None = None,
    window: tuple[time, time] | None = None,
    senders: SenderOf | None = None,
) -> ReminderReport:
    """Enqueue the reminders due for planned meetings starting within the lookahead (at
    least one day more than the largest offset). ``rates``: messages per second each
    channel can send, for the capacity check (none: no check). ``senders``: with regional
    senders, the sender of a channel's messages to a region and its rate: each sender's
    batches are planned at its own rate, apart from the others'.

    What is due is read ``MEETINGS_PER_PART`` meetings at a time, each part in a read-only
    transaction (on SQLite it does not take the write lock), and read once: its batches'
    sizes are counted (:mod:`scheduler.reminder_capacity`) and its messages kept aside
    (:class:`_Kept`) until every part is counted; then the messages are placed and
    written part after part, so memory stays flat whatever the number of KPM (a
    province's day: 1.76 million reminders in 274 MB, where all at once took gigabytes).
    What is missing is written in transactions of ``WRITE_CHUNK`` messages (on
    PostgreSQL, a part's at once), each of which first checks, holding them, that the
    meetings still stand as they were read.

    ``window`` (local start and end, e.g. 09:00-20:00): instead of all at ``reminder_time``,
    a day's reminders are spread over the day's sending window, the soonest meetings'
    first (:func:`spread_over_window`); ``reminder_time`` is then the window's start."""
    horizon = timedelta(days=max(lookahead_days, max(offsets_days, default=0) + 1))
    until = now + horizon
    async with sessions() as session:
        await session.connection(execution_options=READ_ONLY)
        meetings = await planned_meetings_between(session, now, until)
        in_flight = WRITES_IN_FLIGHT if is_postgres(session) else 1  # SQLite: one writer
    parts = [meetings[at : at + MEETINGS_PER_PART]
             for at in range(0, len(meetings), MEETINGS_PER_PART)] or [[]]

    lanes = _Lanes(senders, rates or {})

    async def read(meetings: list[MeetingInfo]) -> _Due:
        async with sessions() as session:
            await session.connection(execution_options=READ_ONLY)
            return await _read_due(
                session, now=now, until=until, offsets=offsets_days,
                reminder_time=window[0] if window else reminder_time,
                quiet=(quiet_start, quiet_end), meetings=meetings, lanes=lanes,
            )

    # Each part is read once, its batches' sizes counted (the capacity check needs them
    # all before any message can be placed) and its new messages kept aside (_Kept: in a
    # temporary file, when more than one part) until all are counted; then each is placed
    # and written. The next part is read while one is worked on (READ_AHEAD), so that the
    # database's work on it overlaps this process's.
    sizes, counts, versions = BatchSizes(), Counter[str](), 0
    with _Kept(spill=len(parts) > 1) as to_write:
        async for _, due in _read_ahead(parts, read):
            for key, batch in due.batches.items():
                sizes.add(key, batch.zone, batch.already, batch.messages.deadline_at)
            counts.update(due.counts)
            versions += len(due.versions)
            if any(batch.messages for batch in due.batches.values()):
                to_write.add(due)
            del due
        if window:
            placement = spread_over_window(sizes, window[1], lanes.rates, now=now)
        else:
            placement = fit_capacity(sizes, lanes.rates)
        enqueued, stale, new_by_channel = await _place_and_write(
            sessions, to_write, placement, now=now, in_flight=in_flight)
    moved, shortfall = placement.moved, placement.shortfall
    for channel, short in shortfall.items():
        log.warning(
            "reminders: %d %s messages cannot go out before their deadline at the channel's rate",
            short,
            channel,
        )
    report = ReminderReport(
        meetings=versions,
        messages=counts["due"],
        enqueued=enqueued,
        group_messages=counts["group"],
        unreachable=counts["unreachable"],
        skipped_offsets=counts["skipped"],
        moved_earlier=moved,
        shortfall=shortfall,
        changed_meanwhile=stale,
        new_by_channel={str(channel): n for channel, n in new_by_channel.items()},
    )
    log.info(
        "reminders: %d meetings, %d due, %d enqueued, %d unreachable, %d moved earlier",
        report.meetings,
        report.messages,
        report.enqueued,
        report.unreachable,
        report.moved_earlier,
    )
    return report


async def _place_and_write(
    sessions: async_sessionmaker[AsyncSession],
    to_write: Iterable[_Due],
    placement: Placement,
    *,
    now: datetime,
    in_flight: int,
) -> tuple[int, int, Counter[Channel]]:
    """Place each part's messages and write them, ``in_flight`` parts at once; returns how
    many were enqueued, how many left out (their meeting moved meanwhile) and the new ones
    per channel."""
    enqueued = stale = 0
    new_by_channel: Counter[Channel] = Counter()
    # Parts are written ``in_flight`` at a time, each in its own transaction, while the
    # next is loaded and placed: the database's work on a write (COPY, its indexes, the
    # commit) overlaps this process's on the others.
    written = 0
    writing: deque[asyncio.Task[tuple[int, int]]] = deque()
    try:
        for due in to_write:
            for key, batch in due.batches.items():
                placement.place(key, batch.messages.not_before, batch.messages.deadline_at)
            messages = _messages(due.batches)
            new_by_channel.update(messages.channel)
            while len(writing) >= in_flight:
                done, left_out = await writing.popleft()
                enqueued, stale = enqueued + done, stale + left_out
            writing.append(asyncio.ensure_future(
                _write(sessions, messages, due.versions, now=now)))
            del due, messages
            # The parts' sessions and results leave reference cycles, which the services'
            # collector (bot.process: full passes rarely) would keep for many parts: at
            # 100,000 KPM the peak went from 253 to 187 MB with a collection per part. A
            # collection walks every object alive, the parts in writing included: one every
            # COLLECT_EVERY parts (at a million KPM, one per part was 7% of the sweep's time;
            # young generations only, 518 MB instead of 274).
            written += 1
            if written % COLLECT_EVERY == 0:
                gc.collect()
        while writing:
            done, left_out = await writing.popleft()
            enqueued, stale = enqueued + done, stale + left_out
    finally:
        for task in writing:  # the sweep failed meanwhile
            task.cancel()
        if writing:
            await asyncio.gather(*writing, return_exceptions=True)
    return enqueued, stale, new_by_channel


async def planned_reminders(
    session: AsyncSession,
    *,
    now: datetime,
    until: datetime,
    offsets_days: Sequence[int],
    reminder_time: time,
    quiet_start: time,
    quiet_end: time,
) -> list[tuple[Channel, datetime, str | None, int]]:
    """The reminders not yet in the outbox that a sweep at ``now`` would enqueue for the
    meetings starting in ``(now, until]``, per batch and region (the kelompok's code: its
    regional sender), as ``(channel, send at, region, count)``; nothing is written (for
    `pendamping capacity`). Counted ``MEETINGS_PER_PART`` meetings at a time, without the
    messages' payloads, as the sweep counts its batches: memory stays flat."""
    meetings = await planned_meetings_between(session, now, until)
    found: Counter[tuple[Channel, datetime, str | None]] = Counter()
    for at in range(0, len(meetings), MEETINGS_PER_PART):
        due = await _read_due(
            session,
            now=now,
            until=until,
            offsets=offsets_days,
            reminder_time=reminder_time,
            quiet=(quiet_start, quiet_end),
            meetings=meetings[at : at + MEETINGS_PER_PART],
            sizes_only=True,
        )
        for key, batch in due.batches.items():
            for region, count in Counter(batch.messages.region).items():
                found[(key[0], key[1], region)] += count
    return [(channel, send_at, region, count)
            for (channel, send_at, region), count in found.items()]


class _Lanes:
    """The sender of each channel and region (memoised: a sweep asks once per meeting),
    and the rates of the channels and of the regional senders seen."""

    def __init__(self, senders: SenderOf | None, rates: Mapping[Channel, float]) -> None:
        self._senders = senders
        self._known: dict[tuple[Channel, str | None], str] = {}
        self.rates: dict[Any, float] = dict(rates)

    def sender(self, channel: Channel, region: str | None) -> str:
        if self._senders is None:
            return ""
        name = self._known.get((channel, region))
        if name is None:
            name, rate = self._senders(channel, region)
            self._known[(channel, region)] = name
            if name:
                self.rates[(channel, name)] = rate
        return name


@dataclass
class _Due:
    versions: dict[int, str]  # meeting id -> the version the messages were made for
    batches: dict[BatchKey, Batch]
    counts: Counter[str]


class _Kept:
    """A sweep's parts read and waiting until all are counted, in order: in memory when
    there is one, else pickled one after another into a temporary file (unlinked at once:
    only this process can read it), so that memory stays flat. A province's day is 1.76
    million messages, some 300 MB in memory; the sweep used to read every part from the
    database twice instead, first to count, then for its messages: a third of its time."""

    def __init__(self, *, spill: bool) -> None:
        self._file = (tempfile.TemporaryFile(prefix="pendamping-reminders-")  # noqa: SIM115
                      if spill else None)  # closed by __exit__
        self._held: deque[_Due] = deque()

    def __enter__(self) -> _Kept:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._file is not None:
            self._file.close()

    def add(self, due: _Due) -> None:
        if self._file is None:
            self._held.append(due)
        else:
            pickle.dump(due, self._file, protocol=pickle.HIGHEST_PROTOCOL)

    def __iter__(self) -> Iterator[_Due]:
        """Each part kept, once, in the order added."""
        if self._file is None:
            while self._held:
                yield self._held.popleft()
            return
        self._file.seek(0)
        while True:
            try:
                yield pickle.load(self._file)  # written by this sweep, just now
            except EOFError:
                return


READ_AHEAD = 2
"""Parts read at once: while this process works on one, the database works on the next."""
COLLECT_EVERY = 2
"""Parts written between two garbage collections (see :func:`_place_and_write`)."""
WRITES_IN_FLIGHT = 2
"""Parts written at once on PostgreSQL, each in its own transaction (one: 114 s of the
sweep at a million KPM; two: 93 s; three: 92 s, with 40 MB more). SQLite has one writer."""
_P = TypeVar("_P")


async def _read_ahead(
    parts: Sequence[_P], read: Callable[[_P], Awaitable[_Due]]
) -> AsyncIterator[tuple[_P, _Due]]:
    """Each part with what ``read`` found for it, in order, the next ``READ_AHEAD - 1``
    parts being read meanwhile (each in its own session)."""
    pending: deque[asyncio.Task[_Due]] = deque()
    try:
        for index, part in enumerate(parts):
            while len(pending) < READ_AHEAD and index + len(pending) < len(parts):
                pending.append(asyncio.ensure_future(read(parts[index + len(pending)])))
            yield part, await pending.popleft()
    finally:
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)


async def _read_due(
    session: AsyncSession,
    *,
    now: datetime,
    until: datetime,
    offsets: Sequence[int],
    reminder_time: time,
    quiet: tuple[time, time],
    meetings: list[MeetingInfo] | None = None,
    sizes_only: bool = False,
    lanes: _Lanes | None = None,
) -> _Due:
    """The reminders due for the meetings starting in ``(now, until]`` (or for
    ``meetings``, some of them) not yet enqueued, in batches; and counts. ``sizes_only``:
    the batches' messages without their payloads, for their sizes and deadlines.

    A sweep makes one message per KPM and reminder (a hundred thousand and more), so the
    work is done per meeting where it can be: recipients grouped by channel once, one
    dedupe-key prefix and one payload per meeting and offset, and the messages of a meeting,
    offset and channel added to their batch a column at a time (no object per message)."""
    if meetings is None:
        meetings = await planned_meetings_between(session, now, until)
        members, linked, stopped = await members_to_remind(session, now, until)
    else:
        members, linked, stopped = await members_to_remind(
            session, now, until, meeting_ids=[meeting.meeting_id for meeting in meetings],
            names=not sizes_only,
        )
    counts: Counter[str] = Counter()
    versions = {m.meeting_id: meeting_version(m.starts_at, m.place) for m in meetings}
    groups: list[tuple[MeetingInfo, Slot, _Reached, list[str]]] = []
    keys: list[str] = []
    for meeting in meetings:
        slots, skipped = reminder_slots(
            meeting,
            offsets,
            now=now,
            reminder_time=reminder_time,
            quiet_start=quiet[0],
            quiet_end=quiet[1],
        )
        counts["skipped"] += skipped
        reached = _recipients(meeting, members, linked, stopped, counts)
        prefix = reminder_prefix(meeting.meeting_id, versions[meeting.meeting_id])
        for slot in slots:
            offset_prefix = f"{prefix}{slot.offset}:"
            for group in reached:
                group_keys = list(map(offset_prefix.__add__, group.whos))
                keys += group_keys
                groups.append((meeting, slot, group, group_keys))
    existing = await existing_keys(session, keys)
    batches: dict[BatchKey, Batch] = defaultdict(Batch)
    payloads: dict[int, dict[str, Any]] = {}
    sender_of = (lanes or _Lanes(None, {})).sender
    for meeting, slot, group, group_keys in groups:
        channel = group.channel
        sender = sender_of(channel, meeting.region)
        batch = batches[(channel, slot.send_at, slot.send_by, slot.earliest, sender)]
        batch.zone = meeting.zone
        addresses: Sequence[str] = group.addresses
        readers: Sequence[str] = group.readers
        shared: Sequence[bool] | None = group.shared
        if existing:
            new = [index for index, key in enumerate(group_keys) if key not in existing]
            if not slot.late:  # of a missed batch, some may have gone already
                batch.already += len(group_keys) - len(new)
            if not new:
                continue
            if len(new) < len(group_keys):
                addresses = [addresses[index] for index in new]
                group_keys = [group_keys[index] for index in new]
                readers = [readers[index] for index in new]
                if shared is not None:
                    shared = [shared[index] for index in new]
        payload = payloads.get(meeting.meeting_id)
        if payload is None:
            payload = payloads[meeting.meeting_id] = _payload(meeting)
        if group.chat:
            payload = _group(payload)
        if sizes_only:
            batch.add(channel, meeting, slot, [payload] * len(group_keys), addresses,
                      group_keys)
        else:
            batch.add(channel, meeting, slot, _payloads(payload, shared, len(group_keys)),
                      addresses, group_keys, readers)
    counts["due"] = len(keys)
    counts["group"] = sum(len(group_keys) for _, _, group, group_keys in groups if group.chat)
    return _Due(versions, batches, counts)


async def _write(
    sessions: async_sessionmaker[AsyncSession],
    messages: EnqueueColumns,
    versions: Mapping[int, str],
    *,
    now: datetime,
) -> tuple[int, int]:
    """Enqueue in chunks, leaving out the messages of meetings moved or cancelled since
    they were read (their change withdrew the old reminders already, or will, after this
    transaction: it holds the meeting rows). Returns (enqueued, left out)."""
    enqueued = stale = start = 0
    while start < len(messages):
        async with sessions.begin() as session:
            assert session.bind is not None
            postgresql = session.bind.dialect.name == "postgresql"
            size = WRITE_CHUNK_POSTGRESQL if postgresql else WRITE_CHUNK
            chunk = messages[start : start + size]
            start += size
            chunk_meetings = [payload["meeting_id"] for payload in chunk.payload]
            wanted = set(chunk_meetings)
            current = await planned_meetings_now(session, wanted)
            still = {
                meeting_id
                for meeting_id, (starts_at, place) in current.items()
                if meeting_version(starts_at, place) == versions[meeting_id]
            }
            fresh = chunk
            if len(still) < len(wanted):
                fresh = chunk.compress([meeting_id in still for meeting_id in chunk_meetings])
            stale += len(chunk) - len(fresh)
            # converted for the driver WRITE_CHUNK rows at a time (a part's rows at once
            # took 100 MB more at a million KPM), checked against their templates as one
            check = TemplateCheck()
            for at in range(0, len(fresh), WRITE_CHUNK):
                enqueued += await enqueue(session, fresh[at : at + WRITE_CHUNK], now=now,
                                          check=check)
    return enqueued, stale


def _messages(batches: Mapping[BatchKey, Batch]) -> EnqueueColumns:
    """The messages of all batches, batch after batch."""
    messages = EnqueueColumns()
    for batch in batches.values():
        messages.extend(batch.messages)
    return messages


class _Reached(NamedTuple):
    """The recipients of a meeting's reminders on one channel, in roster order: members
    (``whos`` their KPM ids, ``12+15`` for a phone they share), or the kelompok's group
    chat (``chat``, who is "group")."""

    channel: Channel
    whos: list[str]
    addresses: list[str]
    readers: list[str]  # how each is addressed: "Ibu Siti Aminah", "anggota Kelompok Melati"
    chat: bool = False
    shared: list[bool] | None = None  # per recipient, a phone of several KPM (None: none is)


_NO_LINKS: Mapping[Channel, str] = MappingProxyType({})


def _recipients(
    meeting: MeetingInfo,
    members: Members,
    linked: Mapping[int, Mapping[Channel, str]],
    stopped: Container[int],
    counts: Counter[str],
) -> list[_Reached]:
    """A meeting's recipients: its members (but those who said stop) by channel (channels
    in the order their first member comes), one message per address however many members
    share it, then the group chat."""
    by_channel: dict[Channel, _Reached] = {}
    on_address: dict[str, tuple[list[int], list[str]]] = {}  # address -> ids, readers
    unreachable, any_shared = 0, False
    for kpm_id, phone, preferred, addressed in members.of(meeting.meeting_id):
        if kpm_id in stopped:
            continue
        where = reach(preferred, phone, linked.get(kpm_id, _NO_LINKS))
        if where is None:
            unreachable += 1
            continue
        channel, address = where
        sharing = on_address.get(address)
        if sharing is not None:  # a phone shared with a member before: one message
            sharing[0].append(kpm_id)
            sharing[1].append(addressed)
            any_shared = True
            continue
        on_address[address] = ([kpm_id], [addressed])
        group = by_channel.get(channel)
        if group is None:
            group = by_channel[channel] = _Reached(channel, [], [], [])
        group.whos.append(str(kpm_id))
        group.addresses.append(address)
        group.readers.append(addressed)
    counts["unreachable"] += unreachable
    found = list(by_channel.values())
    if any_shared:
        found = [_shared(group, on_address) for group in found]
    if meeting.group_chat_address:
        channel = Channel(meeting.group_chat_address.partition(":")[0])
        readers = [group_readers(meeting.kelompok)]
        found.append(
            _Reached(channel, ["group"], [meeting.group_chat_address], readers, chat=True)
        )
    return found


def _shared(group: _Reached, on_address: Mapping[str, tuple[list[int], list[str]]]) -> _Reached:
    """The group with each shared phone's recipients named together and keyed by all
    their ids."""
    whos, readers, shared = [], [], []
    for address, who, reader in zip(group.addresses, group.whos, group.readers, strict=True):
        ids, names = on_address[address]
        many = len(ids) > 1
        whos.append(key_of(ids) if many else who)
        readers.append(joined_names(names, READER_LIMIT) if many else reader)
        shared.append(many)
    return group._replace(whos=whos, readers=readers, shared=shared)


def _payload(meeting: MeetingInfo) -> dict[str, Any]:
    values = _values(meeting)
    return {
        "key": "reminder.kpm",
        "values": values,
        "meeting_id": meeting.meeting_id,
        "rsvp": True,
        "zone": meeting.zone,  # for the dispatcher: a retry waits out quiet hours here
    }


def _payloads(
    payload: dict[str, Any], shared: Sequence[bool] | None, count: int
) -> list[dict[str, Any]]:
    """The payload of each of a meeting's ``count`` messages, all one object (each
    message names its reader: :attr:`Enqueue.reader`, "Yth. Ibu Siti Aminah, ..."); to a
    phone several KPM share, one with the wording that says how to answer for one of
    them."""
    if shared is None:
        return [payload] * count
    for_shared = {**payload, "key": "reminder.kpm_shared"}
    return [for_shared if many else payload for many in shared]


def _group(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "key": "reminder.group", "rsvp": False}


# --- a meeting moved or cancelled --------------------------------------------------------------
