"""When each reminder goes, given each channel's rate: the capacity check of the reminder
sweep (:mod:`scheduler.reminders`), worked out from the sizes of the batches alone.

The sweep reads what is due a part of the meetings at a time (a province's day is two
million reminders: all of them in memory at once took gigabytes). The sizes of every
batch are counted first (:class:`BatchSizes`); from them :func:`fit_capacity` or
:func:`spread_over_window` decide where each batch's new messages go, and
:meth:`Placement.place` then sets the times of each part's messages as it is written, in
the order the parts were counted.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from models.enums import Channel
from models.rules.calendar import zone

BatchKey = tuple[Channel, datetime, datetime, datetime, str]
"""channel, send at, send by, earliest, and the sender ("" the channel's own; else a
regional sender's name, ``[[twilio.senders]]``): each sender is a lane of its own."""
Lane = tuple[Channel, str]  # a channel and a sender of it ("": the channel's own)
Rates = Mapping[Any, float]
"""Messages per second: by channel, of its own sender; by lane (:data:`Lane`), of each
regional sender."""
SenderOf = Callable[[Channel, str | None], tuple[str, float]]
"""A message's sender from its channel and its recipient's region (a Kemendagri code):
its name ("" for the channel's own) and its rate."""


def lane_name(channel: Channel, sender: str) -> str:
    """How a shortfall names a lane: "whatsapp", "whatsapp/jateng"."""
    return channel.value if not sender else f"{channel.value}/{sender}"


def _rate(rates: Rates, channel: Channel, sender: str) -> float | None:
    return rates.get((channel, sender)) if sender else rates.get(channel)


@dataclass
class BatchSizes:
    """Per batch: its new messages, those earlier runs enqueued (they take the channel's
    time too), its time zone and its new messages per deadline (the meeting's start),
    in the order first seen."""

    new: Counter[BatchKey] = field(default_factory=Counter)
    already: Counter[BatchKey] = field(default_factory=Counter)
    zones: dict[BatchKey, str | None] = field(default_factory=dict)
    deadlines: dict[BatchKey, Counter[datetime | None]] = field(default_factory=dict)

    def add(self, key: BatchKey, zone_name: str | None, already: int,
            deadlines: Sequence[datetime | None]) -> None:
        self.new[key] += len(deadlines)
        self.already[key] += already
        self.zones[key] = zone_name
        self.deadlines.setdefault(key, Counter()).update(deadlines)

    def __len__(self) -> int:
        return len(self.zones)


@dataclass
class Placement:
    """Where the new messages of each batch go: from ``starts[key]`` one every ``1 /
    rate`` seconds after those enqueued before (:func:`fit_capacity`), or at their
    position in their day's window (:func:`spread_over_window`)."""

    shortfall: dict[str, int]
    starts: dict[BatchKey, tuple[datetime, float]] = field(default_factory=dict)
    already: Mapping[BatchKey, int] = field(default_factory=dict)
    gaps: dict[BatchKey, tuple[datetime, float]] = field(default_factory=dict)  # window
    positions: dict[tuple[BatchKey, datetime | None], int] = field(default_factory=dict)
    moved: int = 0
    _placed: Counter[BatchKey] = field(default_factory=Counter)
    _at_deadline: Counter[tuple[BatchKey, datetime | None]] = field(default_factory=Counter)

    def place(self, key: BatchKey, not_before: list[datetime | None],
              deadlines: Sequence[datetime | None]) -> None:
        """Set the times of a batch's next messages (changed in place), those of the
        parts before having been placed already."""
        if key in self.starts:
            start, rate = self.starts[key]
            first = self.already.get(key, 0) + self._placed[key]
            for index, at_least in enumerate(not_before):
                at = start + timedelta(seconds=(first + index) / rate)
                if at_least is None or at < at_least:
                    not_before[index] = at
                    self.moved += 1
        elif key in self.gaps:
            start, gap = self.gaps[key]
            seen = self._at_deadline
            for index, deadline in enumerate(deadlines):
                position = self.positions[(key, deadline)] + seen[(key, deadline)]
                seen[(key, deadline)] += 1
                at = start + timedelta(seconds=position * gap)
                if not_before[index] != at:
                    not_before[index] = at
                    self.moved += 1
        self._placed[key] += len(not_before)


def fit_capacity(sizes: BatchSizes, rates: Rates) -> Placement:
    """Start batches early enough for each sender's rate; and, per sender (a channel's
    own, or a regional one: :func:`lane_name`), how many messages cannot make their
    deadline even so.

    Per sender, batches are laid out backwards from the latest deadline (each ends by its
    ``send_by`` and before the next one starts); a batch that would have to start before its
    time is spread from that earlier start, one message every ``1 / rate`` seconds (after the
    ones earlier runs enqueued), but never before its ``earliest``."""
    placement = Placement(shortfall={}, already=sizes.already)
    shortfall: Counter[str] = Counter()
    for channel, sender in {(key[0], key[4]) for key in sizes.zones}:
        rate = _rate(rates, channel, sender)
        if not rate or rate <= 0:
            continue
        keys = sorted((key for key in sizes.zones if key[0] == channel and key[4] == sender),
                      key=lambda key: (key[2], key[1]), reverse=True)
        free_until: datetime | None = None
        for key in keys:
            _, send_at, send_by, earliest, _ = key
            count = sizes.new[key] + sizes.already[key]
            end = send_by if free_until is None else min(free_until, send_by)
            start = end - timedelta(seconds=count / rate)
            free_until = start
            if start >= send_at:
                continue
            if start < earliest:
                late = math.ceil((earliest - start).total_seconds() * rate - 1e-9)
                shortfall[lane_name(channel, sender)] += min(count, late)
                start = earliest
            placement.starts[key] = (start, rate)
    placement.shortfall = dict(shortfall)
    return placement


def spread_over_window(
    sizes: BatchSizes, window_end: time, rates: Rates, *, now: datetime
) -> Placement:
    """Spread each sender's reminders of one local day over that day's sending window:
    from the batches' time (the window's start, or now when that has passed) to the
    window's end (or the meeting start or quiet hours, when sooner), the messages of the
    soonest meetings first, evenly, but never closer than the sender's rate allows; and,
    per sender, how many cannot go out before the window's end at the rate."""
    Group = tuple[Channel, str, str | None, date]
    groups: dict[Group, list[BatchKey]] = defaultdict(list)
    bounds: dict[Group, tuple[datetime, datetime]] = {}
    for key, zone_name in sizes.zones.items():
        channel, send_at, send_by, _, sender = key
        tz = zone(zone_name)
        day = send_at.astimezone(tz).date()
        group = (channel, sender, zone_name, day)
        groups[group].append(key)
        opens = max(send_at, now)
        closes = min(datetime.combine(day, window_end, tz).astimezone(UTC), send_by)
        start, end = bounds.get(group, (opens, closes))
        bounds[group] = (min(start, opens), max(end, closes))
    placement = Placement(shortfall={})
    shortfall: Counter[str] = Counter()
    for group, keys in groups.items():
        channel, sender = group[0], group[1]
        start, end = bounds[group]
        total = sum(sizes.new[key] for key in keys)
        if not total:
            continue
        rate = _rate(rates, channel, sender)
        gap = (end - start).total_seconds() / total if end > start else 0.0
        if rate and rate > 0:
            if total / rate > (end - start).total_seconds():
                shortfall[lane_name(channel, sender)] += total - int(
                    max((end - start).total_seconds(), 0) * rate)
            gap = max(gap, 1.0 / rate)
        # the soonest meetings first; of one deadline, batch by batch, in the order read
        order = sorted(((deadline or end, rank, key, deadline, count)
                        for rank, key in enumerate(keys)
                        for deadline, count in sizes.deadlines[key].items()),
                       key=lambda item: item[:2])
        position = 0
        for _, _, key, deadline, count in order:
            placement.positions[(key, deadline)] = position
            position += count
        for key in keys:
            placement.gaps[key] = (start, gap)
    placement.shortfall = dict(shortfall)
    return placement
