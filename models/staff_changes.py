"""Staff who change: deactivated (their chats told access ended, their conversations and
messages waiting for them stopped), reactivated, given another role, a chat address
unlinked, and kelompok handed over from one pendamping to another with what goes with
them (open cases, nudges waiting to be sent; pesan KPM follow the kelompok by
themselves). Each change is one transaction in the caller's session, audited."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from models.audit import actor_of, audit
from models.db.sql import rowcount
from models.enums import CaseStatus, KpmMessageStatus, OutboxStatus, StaffRole
from models.messaging.enqueue import Enqueue, Priority, enqueue
from models.messaging.sweeps import staff_addresses
from models.messaging.tables import Conversation, Outbox
from models.rules.text import name_key
from models.scope import kelompok_scope
from models.staff import find_staff
from models.tables import CaseNote, ChannelIdentity, Kelompok, Kpm, KpmMessage, Region, Staff

STAFF_KINDS = ("pendamping_nudge", "pesan_kpm", "alert")
"""Outbox kinds addressed to a staff member that a handover carries to the new one."""
STOPPED = "staff member deactivated"


class StaffChangeError(ValueError):
    """A change that cannot be made: the text in English (for logs), and ``key`` and
    ``values`` naming the catalog message the command line says (``cli.staff_error.<key>``,
    in the configured locale)."""

    def __init__(self, key: str, text: str, **values: object) -> None:
        super().__init__(text)
        self.key = key
        self.values = values


@dataclass(frozen=True)
class Handover:
    kelompok: list[str]
    cases: int
    messages_moved: int
    open_pesan: int
    told: list[str] = field(default_factory=list)  # who was told in chat


async def pendamping_in_scope(session: AsyncSession, staff: Staff) -> list[Staff]:
    """The pendamping a supervisor or coordinator may hand kelompok between: those whose
    kelompok are in their scope, those they supervise, and (for a coordinator) those
    placed in a region under hers."""
    regional: list[Any] = []
    if staff.region_id is not None:
        desa, kec, kab = (aliased(Region) for _ in range(3))
        under = (
            select(desa.id)
            .outerjoin(kec, kec.id == desa.parent_id)
            .outerjoin(kab, kab.id == kec.parent_id)
            .where(
                or_(
                    desa.id == staff.region_id,
                    kec.id == staff.region_id,
                    kab.id == staff.region_id,
                    kab.parent_id == staff.region_id,
                )
            )
        )
        regional = [Staff.region_id.in_(under)]
    rows = await session.scalars(
        select(Staff)
        .where(
            Staff.role == StaffRole.PENDAMPING,
            or_(
                Staff.id.in_(
                    select(Kelompok.pendamping_id).where(Kelompok.id.in_(kelompok_scope(staff)))
                ),
                Staff.supervisor_id == staff.id,
                *regional,
            ),
        )
        .order_by(Staff.name_key)
    )
    return list(rows)


async def find_one(session: AsyncSession, written: str) -> Staff:
    """A staff member by id or by (part of) their name; exactly one or an error."""
    text = written.strip()
    if text.isdigit():
        staff = await session.get(Staff, int(text))
        if staff is None:
            raise StaffChangeError("unknown_id", f"no staff member with id {text}", id=text)
        return staff
    found = await find_staff(session, text)
    if not found:
        raise StaffChangeError(
            "unknown_name", f"no staff member named {written!r}", name=written
        )
    if len(found) > 1:
        names = ", ".join(f"{s.name} (id {s.id}, {s.role.value})" for s in found[:8])
        raise StaffChangeError(
            "ambiguous", f"{written!r} matches several staff members: {names}; use the id",
            name=written, matches=names,
        )
    return found[0]


async def deactivate(
    session: AsyncSession,
    staff: Staff,
    *,
    now: datetime,
    to: Staff | None = None,
    by: Staff | None = None,
) -> Handover | None:
    """End a staff member's access: their kelompok go to ``to`` first (a pendamping's
    kelompok cannot be left without one), their conversations end, and messages still
    waiting to be sent to them are stopped."""
    if not staff.active:
        raise StaffChangeError(
            "already_inactive", f"{staff.name} is already inactive", name=staff.name
        )
    kelompok = list(
        await session.scalars(select(Kelompok.name).where(Kelompok.pendamping_id == staff.id))
    )
    if kelompok and to is None:
        raise StaffChangeError(
            "still_has_kelompok",
            f"{staff.name} still has {len(kelompok)} kelompok: hand them over with --to NAME",
            name=staff.name, count=len(kelompok),
        )
    handover = await reassign(session, staff, to, now=now, tell=False, by=by) if to else None
    staff.active = False
    addresses = select(ChannelIdentity.address).where(ChannelIdentity.staff_id == staff.id)
    await session.execute(delete(Conversation).where(Conversation.address.in_(addresses)))
    stopped = await session.execute(
        update(Outbox)
        .where(Outbox.status == OutboxStatus.PENDING, Outbox.address.in_(addresses))
        .values(status=OutboxStatus.FAILED, error=STOPPED)
    )
    await audit(
        session, action="staff.deactivate", entity="staff", entity_id=staff.id,
        detail={"to": to.id if to is not None else None, "stopped": rowcount(stopped)},
        **actor_of(by), at=now,
    )
    if handover is None or to is None:
        return handover
    # Told after the messages waiting were stopped; the one deactivated has no chat any
    # more (what they write is answered "access ended"), so only the receiver is told.
    return await tell_both(session, staff, to, handover, now=now)


async def reactivate(session: AsyncSession, staff: Staff) -> None:
    if staff.active:
        raise StaffChangeError(
            "already_active", f"{staff.name} is already active", name=staff.name
        )
    staff.active = True
    await audit(session, actor="cli", action="staff.reactivate", entity="staff", entity_id=staff.id)


async def set_role(session: AsyncSession, staff: Staff, role: StaffRole) -> None:
    if staff.role is role:
        raise StaffChangeError(
            "already_role", f"{staff.name} is already {role.value}", name=staff.name,
            role=role.value,
        )
    if staff.role is StaffRole.PENDAMPING:
        kept = await session.scalar(
            select(Kelompok.id).where(Kelompok.pendamping_id == staff.id).limit(1)
        )
        if kept is not None:
            raise StaffChangeError(
                "hand_over_first",
                f"{staff.name} still has kelompok: hand them over first "
                "(pendamping kelompok reassign)",
                name=staff.name,
            )
    before = staff.role
    staff.role = role
    await audit(
        session, actor="cli", action="staff.role", entity="staff", entity_id=staff.id,
        detail={"before": before.value, "after": role.value},
    )


async def unlink(session: AsyncSession, staff: Staff, address: str) -> None:
    """Remove one chat address of a staff member (a lost phone, a number given up)."""
    identity = await session.scalar(
        select(ChannelIdentity).where(
            ChannelIdentity.address == address.strip(), ChannelIdentity.staff_id == staff.id
        )
    )
    if identity is None:
        raise StaffChangeError(
            "no_address", f"{staff.name} has no chat linked at that address", name=staff.name
        )
    await session.execute(delete(Conversation).where(Conversation.address == identity.address))
    await session.delete(identity)
    await audit(
        session, actor="cli", action="identity.unlink", entity="channel_identity",
        entity_id=identity.id, detail={"staff_id": staff.id},
    )


async def reassign(
    session: AsyncSession,
    source: Staff,
    target: Staff,
    *,
    now: datetime,
    kelompok: Sequence[str] = (),
    tell: bool = True,
    by: Staff | None = None,
) -> Handover:
    """Hand ``source``'s kelompok (all, or those named) to ``target`` with their open
    cases and the nudges, alerts and pesan KPM notices still waiting to be sent to
    ``source``; both are told in chat when they have a linked one."""
    if target.id == source.id:
        raise StaffChangeError(
            "same_pendamping", "the kelompok would go to the same pendamping",
            name=source.name,
        )
    if not target.active or target.role is not StaffRole.PENDAMPING:
        raise StaffChangeError(
            "not_pendamping", f"{target.name} is not an active pendamping", name=target.name
        )
    groups: list[tuple[int, str]] = [
        (group_id, name)
        for group_id, name in await session.execute(
            select(Kelompok.id, Kelompok.name).where(Kelompok.pendamping_id == source.id)
        )
    ]
    if kelompok:
        wanted = {name_key(name) for name in kelompok}
        chosen = [(i, n) for i, n in groups if name_key(n) in wanted]
        missing = wanted - {name_key(n) for _, n in chosen}
        if missing:
            raise StaffChangeError(
                "no_such_kelompok",
                f"{source.name} has no kelompok named {', '.join(sorted(missing))}",
                name=source.name, kelompok=", ".join(sorted(missing)),
            )
        groups = chosen
    if not groups:
        raise StaffChangeError(
            "no_kelompok", f"{source.name} has no kelompok to hand over", name=source.name
        )
    ids, names = [i for i, _ in groups], sorted(n for _, n in groups)
    await session.execute(
        update(Kelompok).where(Kelompok.id.in_(ids)).values(pendamping_id=target.id)
    )
    members = select(Kpm.id).where(Kpm.kelompok_id.in_(ids))
    cases = await session.execute(
        update(CaseNote)
        .where(
            CaseNote.kpm_id.in_(members),
            CaseNote.status != CaseStatus.SELESAI,
            CaseNote.staff_id == source.id,
        )
        .values(staff_id=target.id)
    )
    moved = await _move_waiting(session, source, target, names, now=now)
    open_pesan = int(
        await session.scalar(
            select(func.count())
            .select_from(KpmMessage)
            .where(KpmMessage.kpm_id.in_(members), KpmMessage.status == KpmMessageStatus.OPEN)
        )
        or 0
    )
    handover = Handover(names, rowcount(cases), moved, open_pesan)
    await audit(
        session, action="kelompok.reassign", entity="staff", entity_id=source.id,
        detail={"to": target.id, "kelompok": ids, "cases": handover.cases, "moved": moved},
        **actor_of(by), at=now,
    )
    if not tell:
        return handover
    return await tell_both(session, source, target, handover, now=now)


async def _move_waiting(
    session: AsyncSession, source: Staff, target: Staff, names: list[str], *, now: datetime
) -> int:
    """Messages still waiting for ``source`` about the moved kelompok go to ``target``'s
    chat (none when ``target`` has no linked chat: they wait, visible in the outbox)."""
    reach = (await staff_addresses(session, [target.id])).get(target.id)
    addresses = select(ChannelIdentity.address).where(ChannelIdentity.staff_id == source.id)
    rows = await session.execute(
        select(Outbox.id, Outbox.payload).where(
            Outbox.status == OutboxStatus.PENDING,
            Outbox.kind.in_(STAFF_KINDS),
            Outbox.address.in_(addresses),
        )
    )
    moving = [
        row_id for row_id, payload in rows
        if (payload.get("values") or {}).get("kelompok") in names or "case_id" in payload
    ]
    if not moving or reach is None:
        return 0
    channel, address = reach
    result = await session.execute(
        update(Outbox)
        .where(Outbox.id.in_(moving))
        .values(channel=channel, address=address)
    )
    return rowcount(result)


async def tell_both(
    session: AsyncSession, source: Staff, target: Staff, handover: Handover, *, now: datetime
) -> Handover:
    """Tell both pendamping in chat (those with a linked chat) what was handed over."""
    reach = await staff_addresses(session, [source.id, target.id])
    names = ", ".join(handover.kelompok)
    told, messages = [], []
    pairs = ((source, "staff.handed_over", target), (target, "staff.received", source))
    for staff, key, other in pairs:
        if staff.id not in reach:
            continue
        channel, address = reach[staff.id]
        values = {"kelompok": names, "other": other.name, "count": len(handover.kelompok)}
        messages.append(
            Enqueue(
                channel, address, "alert",
                {"key": key, "values": values},
                Priority.ALERT,
            )
        )
        told.append(staff.name)
    await enqueue(session, messages, now=now)
    return Handover(
        handover.kelompok, handover.cases, handover.messages_moved, handover.open_pesan, told
    )
