"""Staff members, their one-time invite codes and the chat addresses they link."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from models.audit import actor_of, audit
from models.enums import Channel, StaffRole
from models.rules.text import clean_name, name_key
from models.tables import ChannelIdentity, Invite, Kelompok, Kpm, Region, Staff

# Codes are typed by hand from a printed sheet or a chat: no 0/O, 1/I/L.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8


def hash_code(code: str) -> str:
    normalized = "".join(code.split()).upper().replace("-", "")
    return hashlib.sha256(normalized.encode("ascii", "ignore")).hexdigest()


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


def channel_of(address: str) -> Channel:
    """The channel an address names: ``telegram:123`` is Telegram."""
    prefix, _, rest = address.partition(":")
    if not rest:
        raise ValueError(f"address without a channel prefix: {prefix[:12]!r}...")
    return Channel(prefix)


async def get_or_create_staff(
    session: AsyncSession,
    *,
    role: StaffRole,
    name: str,
    region_id: int | None = None,
    supervisor_id: int | None = None,
) -> tuple[Staff, bool]:
    """Find a staff member by role and name (case and spacing ignored) or create one."""
    key = name_key(name)
    staff = await session.scalar(select(Staff).where(Staff.role == role, Staff.name_key == key))
    if staff is not None:
        if region_id is not None:
            staff.region_id = region_id
        if supervisor_id is not None:
            staff.supervisor_id = supervisor_id
        return staff, False
    staff = Staff(
        role=role,
        name=clean_name(name),
        name_key=key,
        region_id=region_id,
        supervisor_id=supervisor_id,
        active=True,
    )
    session.add(staff)
    await session.flush()
    await audit(session, actor="cli", action="staff.create", entity="staff", entity_id=staff.id)
    return staff, True


async def create_invite(
    session: AsyncSession, staff: Staff, *, now: datetime, valid_days: int,
    by: Staff | None = None,
) -> str:
    """Make a one-time code for ``staff``; only its hash is stored. Returns the code.
    ``by``: the operator who made it in the web console (None: the command line)."""
    code = new_code()
    invite = Invite(
        staff_id=staff.id,
        code_hash=hash_code(code),
        created_at=now,
        expires_at=now + timedelta(days=valid_days),
    )
    session.add(invite)
    await session.flush()
    await audit(
        session,
        **actor_of(by),
        action="invite.create",
        entity="invite",
        entity_id=invite.id,
        detail={"staff_id": staff.id},
    )
    return code


class RedeemProblem(StrEnum):
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"


@dataclass(frozen=True)
class Redeemed:
    staff: Staff | None
    problem: RedeemProblem | None = None


async def redeem_invite(
    session: AsyncSession, code: str, address: str, *, now: datetime
) -> Redeemed:
    """Link ``address`` to the staff member the code was made for, once."""
    invite = await session.scalar(
        select(Invite).where(Invite.code_hash == hash_code(code)).with_for_update()
    )
    if invite is None:
        return Redeemed(None, RedeemProblem.UNKNOWN)
    if invite.used_at is not None:
        return Redeemed(None, RedeemProblem.USED)
    if invite.expires_at <= now:
        return Redeemed(None, RedeemProblem.EXPIRED)
    staff = await session.get(Staff, invite.staff_id)
    assert staff is not None
    identity = await session.scalar(
        select(ChannelIdentity).where(ChannelIdentity.address == address)
    )
    if identity is None:
        identity = ChannelIdentity(address=address, channel=channel_of(address), linked_at=now)
        session.add(identity)
    identity.staff_id, identity.kpm_id, identity.linked_at = staff.id, None, now
    await session.flush()
    invite.used_at, invite.used_by_identity_id = now, identity.id
    await audit(
        session,
        actor="staff",
        actor_staff_id=staff.id,
        action="invite.redeem",
        entity="channel_identity",
        entity_id=identity.id,
    )
    return Redeemed(staff)


@dataclass(frozen=True)
class StaffRow:
    id: int
    role: str
    name: str
    region: str | None
    supervisor: str | None
    kelompok: int
    kpm: int
    addresses: int
    open_invites: int
    active: bool = True


async def list_staff(session: AsyncSession, *, now: datetime) -> list[StaffRow]:
    """Every staff member with what they carry, in a few set-based queries."""
    kelompok_counts = dict(
        (
            await session.execute(
                select(Kelompok.pendamping_id, func.count()).group_by(Kelompok.pendamping_id)
            )
        )
        .tuples()
        .all()
    )
    kpm_counts = dict(
        (
            await session.execute(
                select(Kelompok.pendamping_id, func.count(Kpm.id))
                .join(Kpm, Kpm.kelompok_id == Kelompok.id)
                .group_by(Kelompok.pendamping_id)
            )
        )
        .tuples()
        .all()
    )
    address_counts = dict(
        (
            await session.execute(
                select(ChannelIdentity.staff_id, func.count()).group_by(ChannelIdentity.staff_id)
            )
        )
        .tuples()
        .all()
    )
    invite_counts = dict(
        (
            await session.execute(
                select(Invite.staff_id, func.count())
                .where(Invite.used_at.is_(None), Invite.expires_at > now)
                .group_by(Invite.staff_id)
            )
        )
        .tuples()
        .all()
    )
    supervisor = select(Staff.id, Staff.name).subquery()
    rows = await session.execute(
        select(Staff.id, Staff.role, Staff.name, Region.name, supervisor.c.name, Staff.active)
        .outerjoin(Region, Region.id == Staff.region_id)
        .outerjoin(supervisor, supervisor.c.id == Staff.supervisor_id)
        .order_by(Staff.role, Staff.name_key)
    )
    return [
        StaffRow(
            id=staff_id,
            role=str(role),
            name=name,
            region=region,
            supervisor=supervisor_name,
            kelompok=kelompok_counts.get(staff_id, 0),
            kpm=kpm_counts.get(staff_id, 0),
            addresses=address_counts.get(staff_id, 0),
            open_invites=invite_counts.get(staff_id, 0),
            active=bool(active),
        )
        for staff_id, role, name, region, supervisor_name, active in rows
    ]


async def link_address(
    session: AsyncSession, staff: Staff, address: str, *, now: datetime
) -> ChannelIdentity:
    """Link an address to a staff member directly (the operator's own terminal)."""
    identity = await session.scalar(
        select(ChannelIdentity).where(ChannelIdentity.address == address)
    )
    if identity is None:
        identity = ChannelIdentity(address=address, channel=channel_of(address), linked_at=now)
        session.add(identity)
    identity.staff_id, identity.kpm_id = staff.id, None
    await session.flush()
    await audit(
        session,
        actor="cli",
        action="identity.link",
        entity="channel_identity",
        entity_id=identity.id,
        detail={"staff_id": staff.id},
    )
    return identity


async def find_staff(session: AsyncSession, written: str) -> list[Staff]:
    """Staff whose name contains what was written (case and spacing ignored)."""
    key = name_key(written)
    exact = list(await session.scalars(select(Staff).where(Staff.name_key == key)))
    if exact:
        return exact
    return list(
        await session.scalars(
            select(Staff).where(Staff.name_key.contains(key)).order_by(Staff.role, Staff.name_key)
        )
    )


async def regions_without_coordinator(session: AsyncSession) -> list[str]:
    """The kabupaten/kota with kelompok that no active coordinator with a linked chat
    oversees (over the desa, kecamatan, kabupaten or province): an urgent case there
    reaches nobody but a supervisor. One statement."""
    desa, kec, kab = aliased(Region), aliased(Region), aliased(Region)
    linked = select(ChannelIdentity.staff_id).where(ChannelIdentity.opted_out_at.is_(None))
    overseen = (
        select(Staff.id)
        .where(
            Staff.active,
            Staff.role == StaffRole.KOORDINATOR,
            Staff.region_id.in_([desa.id, kec.id, kab.id, kab.parent_id]),
            Staff.id.in_(linked),
        )
        .exists()
    )
    rows = await session.scalars(
        select(kab.name)
        .select_from(Kelompok)
        .join(desa, desa.id == Kelompok.desa_id)
        .join(kec, kec.id == desa.parent_id)
        .join(kab, kab.id == kec.parent_id)
        .where(~overseen)
        .distinct()
        .order_by(kab.name)
    )
    return list(rows)
