"""Families who change: a KPM moved to another kelompok, or leaving the programme (died,
moved away, withdrew, no longer eligible, graduated), from chat or the command line.

Each change is made in the caller's transaction with its audit row (before and after,
ids and codes only). A KPM who leaves gets no more reminders: the sweeps read only active
KPM, and what is already waiting in the outbox for them (reminders, meeting changes) and
about them (graduation and absence alerts) is withdrawn. Their history (attendance,
cases, messages) stays where it happened."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.audit import actor_of, audit
from models.db.sql import rowcount
from models.enums import CaseStatus, ExitReason, KpmStatus, OutboxStatus
from models.households import key_patterns
from models.messaging.tables import Outbox
from models.tables import CaseNote, Kelompok, Kpm, Staff

LEFT = "withdrawn: the KPM left the programme"
MOVED = "withdrawn: the KPM moved to another kelompok"


class KpmChangeError(ValueError):
    """A change that cannot be made; ``key`` names the catalog message that says why
    (``kpm_change.<key>`` in chat, ``cli.kpm_error.<key>`` with ``values`` at the command
    line), and the text is the same in English (for logs)."""

    def __init__(self, key: str, text: str, **values: object) -> None:
        super().__init__(text)
        self.key = key
        self.values = values


async def _audit(
    session: AsyncSession,
    action: str,
    kpm: Kpm,
    before: dict[str, Any],
    after: dict[str, Any],
    *,
    by: Staff | None,
    now: datetime,
    **counts: int,
) -> None:
    """The audit row of a change to ``kpm`` (by a staff member, or at the command line):
    before, after, counts."""
    await audit(
        session,
        action=action,
        entity="kpm",
        entity_id=kpm.id,
        detail={"before": before, "after": after, **counts},
        at=now,
        **actor_of(by),
    )


@dataclass(frozen=True)
class Moved:
    kpm_id: int
    from_kelompok: str | None
    to_kelompok: str
    withdrawn: int  # reminders waiting for the old kelompok's meetings
    cases_moved: int  # open cases handed to the new kelompok's pendamping


@dataclass(frozen=True)
class Left:
    kpm_id: int
    reason: ExitReason
    on: date
    withdrawn: int  # messages waiting for or about the KPM


def _keyed_to(kpm_id: int, *, left: bool) -> list[ColumnElement[bool]]:
    """Conditions on outbox rows keyed to this KPM: reminders and meeting changes for them
    (``reminder:...:{id}``, ``changed:...:{id}``, also ``...:{id}+{other}`` to a shared
    phone: withdrawn whole, the next sweep names the others again) and, once they left,
    the alerts about them (``grad-...:{id}:...``, ``absence:{id}:...``)."""
    patterns = [*key_patterns("reminder:", kpm_id), *key_patterns("changed:", kpm_id)]
    if left:
        patterns += [f"grad-%:{kpm_id}:%", f"absence:{kpm_id}:%"]
    return [Outbox.dedupe_key.like(pattern) for pattern in patterns]


async def withdraw_waiting(
    session: AsyncSession, kpm_ids: Sequence[int], *, left: bool, now: datetime
) -> int:
    """Withdraw what waits in the outbox for (and, ``left``, about) these KPM; a
    statement per 100 of them (the keys' ends are not indexed; pending rows are)."""
    withdrawn = 0
    for start in range(0, len(kpm_ids), 100):
        conditions = [
            condition
            for kpm_id in kpm_ids[start : start + 100]
            for condition in _keyed_to(kpm_id, left=left)
        ]
        result = await session.execute(
            update(Outbox)
            .where(Outbox.status == OutboxStatus.PENDING, or_(*conditions))
            .values(status=OutboxStatus.CANCELLED, error=LEFT if left else MOVED, updated_at=now)
        )
        withdrawn += rowcount(result)
    return withdrawn


async def move(
    session: AsyncSession, kpm: Kpm, kelompok: Kelompok, *, by: Staff | None, now: datetime
) -> Moved:
    """Move ``kpm`` to ``kelompok``: reminders waiting for the old kelompok's meetings are
    withdrawn (the next sweep plans the new kelompok's), and open cases go with the KPM to
    the new kelompok's pendamping."""
    if kpm.status is not KpmStatus.AKTIF:
        raise KpmChangeError(
            "not_active", f"{kpm.id_pkh} has left the programme ({kpm.status})",
            id_pkh=kpm.id_pkh, status=kpm.status.value,
        )
    if kpm.kelompok_id == kelompok.id:
        raise KpmChangeError(
            "same_kelompok", f"{kpm.id_pkh} is already in {kelompok.name}",
            id_pkh=kpm.id_pkh, kelompok=kelompok.name,
        )
    before = kpm.kelompok_id
    old_name = (
        await session.scalar(select(Kelompok.name).where(Kelompok.id == before))
        if before is not None
        else None
    )
    kpm.kelompok_id = kelompok.id
    kpm.updated_at = now
    withdrawn = await withdraw_waiting(session, [kpm.id], left=False, now=now)
    cases = await session.execute(
        update(CaseNote)
        .where(
            CaseNote.kpm_id == kpm.id,
            CaseNote.status != CaseStatus.SELESAI,
            CaseNote.staff_id != kelompok.pendamping_id,
        )
        .values(staff_id=kelompok.pendamping_id)
    )
    await _audit(
        session,
        "kpm.move",
        kpm,
        {"kelompok_id": before},
        {"kelompok_id": kelompok.id},
        by=by,
        now=now,
        withdrawn=withdrawn,
        cases_moved=rowcount(cases),
    )
    return Moved(kpm.id, old_name, kelompok.name, withdrawn, rowcount(cases))


async def leave(
    session: AsyncSession,
    kpm: Kpm,
    reason: ExitReason,
    on: date,
    *,
    today: date,
    by: Staff | None,
    now: datetime,
) -> Left:
    """Record that ``kpm`` left the programme on ``on`` for ``reason``."""
    if kpm.status is not KpmStatus.AKTIF:
        raise KpmChangeError(
            "not_active", f"{kpm.id_pkh} has already left ({kpm.status})",
            id_pkh=kpm.id_pkh, status=kpm.status.value,
        )
    if on > today:
        raise KpmChangeError(
            "future_date", f"the date {on:%Y-%m-%d} is in the future: give the day it happened",
            date=f"{on:%Y-%m-%d}",
        )
    before = kpm.status
    kpm.status = reason.status
    kpm.exit_reason = reason
    kpm.left_on = on
    if reason.status is not KpmStatus.KELUAR:
        kpm.graduated_on = on
    kpm.updated_at = now
    withdrawn = await withdraw_waiting(session, [kpm.id], left=True, now=now)
    after = {"status": kpm.status.value, "exit_reason": reason.value, "on": on.isoformat()}
    await _audit(
        session, "kpm.leave", kpm, {"status": before.value}, after, by=by, now=now,
        withdrawn=withdrawn,
    )
    return Left(kpm.id, reason, on, withdrawn)


async def find_kpm(session: AsyncSession, written: str) -> Kpm:
    """A KPM by ID PKH (exact) or database id, for the command line."""
    text = written.strip()
    kpm = await session.scalar(select(Kpm).where(Kpm.id_pkh == text))
    if kpm is None and text.isdigit():
        kpm = await session.get(Kpm, int(text))
    if kpm is None:
        raise KpmChangeError("unknown_kpm", f"no KPM with ID PKH {text!r}", id_pkh=text)
    return kpm
