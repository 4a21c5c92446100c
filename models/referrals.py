"""The sistem sumber in chat: which referral contacts a staff member may see (their area)
and change (a coordinator's region), the contacts that serve a case category near a
KPM, and the writes a coordinator makes (audited with ids only, never a name or number).

A staff member's *area* is the kecamatan and kabupaten of the kelompok in their scope,
and those of the region they are placed in: the region itself, the kecamatan and
kabupaten above it and the ones below it (a coordinator of a kabupaten sees its
kecamatan). Contacts are listed kecamatan first, then kabupaten.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rapidfuzz import fuzz, process, utils
from sqlalchemy import Select, case, delete, insert, or_, select, union, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.audit import actor_of, audit
from models.base import table_of
from models.enums import RegionLevel
from models.referral_tables import ReferralContact, ReferralService
from models.rules.referrals import REFERRAL_KINDS
from models.rules.text import clean_name, name_key
from models.scope import OutOfScope, kelompok_scope
from models.tables import CaseNote, Kelompok, Kpm, Region, Staff

CONTACT, SERVICE = table_of(ReferralContact), table_of(ReferralService)
REGION, KELOMPOK = table_of(Region), table_of(Kelompok)
AREA_LEVELS = (RegionLevel.KECAMATAN, RegionLevel.KABUPATEN)
MIN_SCORE = 70


@dataclass(frozen=True)
class ContactRow:
    id: int
    name: str
    kind: str
    phone: str | None
    address: str | None
    notes: str | None
    region: str
    level: RegionLevel
    active: bool
    region_id: int
    categories: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AreaRegion:
    id: int
    name: str
    level: RegionLevel


@dataclass(frozen=True)
class ContactFields:
    """What a contact says, checked: ``name`` tidied, ``phone`` in E.164."""

    region_id: int
    name: str
    kind: str
    categories: Sequence[str]
    phone: str | None = None
    address: str | None = None
    notes: str | None = None
    active: bool = True


def regions_around(region_id: int) -> Select[tuple[int]]:
    """The kecamatan and kabupaten at, above or below ``region_id``."""
    r, parent = REGION.alias("r"), REGION.alias("parent")
    own, own_parent = REGION.alias("own"), REGION.alias("own_parent")
    above = select(own.c.parent_id).where(own.c.id == region_id)
    above_two = (
        select(own_parent.c.parent_id)
        .join(own, own.c.parent_id == own_parent.c.id)
        .where(own.c.id == region_id)
    )
    return (
        select(r.c.id)
        .outerjoin(parent, parent.c.id == r.c.parent_id)
        .where(
            r.c.level.in_(AREA_LEVELS),
            or_(
                r.c.id == region_id,
                r.c.parent_id == region_id,
                parent.c.parent_id == region_id,
                r.c.id.in_(above),
                r.c.id.in_(above_two),
            ),
        )
    )


def area_regions(staff: Staff) -> Select[tuple[int]]:
    """The ids of the kecamatan and kabupaten whose contacts ``staff`` may see."""
    desa, kec = REGION.alias("desa"), REGION.alias("kec")
    in_scope = KELOMPOK.c.id.in_(kelompok_scope(staff))
    of_kelompok = select(desa.c.parent_id).select_from(
        KELOMPOK.join(desa, desa.c.id == KELOMPOK.c.desa_id)
    ).where(in_scope)
    above_kelompok = select(kec.c.parent_id).select_from(
        KELOMPOK.join(desa, desa.c.id == KELOMPOK.c.desa_id).join(
            kec, kec.c.id == desa.c.parent_id
        )
    ).where(in_scope)
    parts: list[Select[tuple[int]]] = [of_kelompok, above_kelompok]
    if staff.region_id is not None:
        parts.append(regions_around(staff.region_id))
    area = union(*parts).subquery()
    return select(area.c[0])


def _ordered(statement: Select[Any]) -> Select[Any]:
    """Kecamatan first, then kabupaten; by kind (in the order of the kinds), then name."""
    kinds = {kind: position for position, kind in enumerate(REFERRAL_KINDS)}
    return statement.order_by(
        case((REGION.c.level == RegionLevel.KECAMATAN, 0), else_=1),
        REGION.c.name,
        case(kinds, value=CONTACT.c.kind, else_=len(kinds)),
        CONTACT.c.name_key,
    )


def _rows() -> Select[Any]:
    c = CONTACT.c
    return select(
        c.id, c.name, c.kind, c.phone, c.address, c.notes, REGION.c.name, REGION.c.level,
        c.active, c.region_id,
    ).join(REGION, REGION.c.id == c.region_id)


async def _with_categories(session: AsyncSession, rows: Iterable[Any]) -> list[ContactRow]:
    found: list[tuple[Any, ...]] = [tuple(row) for row in rows]
    ids = [row[0] for row in found]
    served: dict[int, list[str]] = {}
    if ids:
        services = await session.execute(
            select(SERVICE.c.contact_id, SERVICE.c.category)
            .where(SERVICE.c.contact_id.in_(ids))
            .order_by(SERVICE.c.contact_id, SERVICE.c.category)
        )
        for contact_id, category in services:
            served.setdefault(contact_id, []).append(category)
    return [
        ContactRow(
            id=contact_id, name=name, kind=kind, phone=phone, address=address, notes=notes,
            region=region, level=RegionLevel(level), active=bool(active), region_id=region_id,
            categories=served.get(contact_id, []),
        )
        for contact_id, name, kind, phone, address, notes, region, level, active, region_id
        in found
    ]


def _serving(category: str) -> Any:
    return CONTACT.c.id.in_(select(SERVICE.c.contact_id).where(SERVICE.c.category == category))


async def contacts_for(
    session: AsyncSession, staff: Staff, category: str, *, limit: int
) -> tuple[list[ContactRow], int]:
    """The active contacts in ``staff``'s area that serve ``category`` (at most ``limit``,
    kecamatan first) and how many there are in all."""
    statement = _rows().where(
        CONTACT.c.active, _serving(category), CONTACT.c.region_id.in_(area_regions(staff))
    )
    rows = (await session.execute(_ordered(statement))).all()
    return await _with_categories(session, rows[:limit]), len(rows)


async def contacts_near_kpm(
    session: AsyncSession, kpm_id: int, category: str, *, limit: int = 3
) -> list[ContactRow]:
    """The active contacts serving ``category`` in the KPM's kecamatan, then kabupaten."""
    desa, kec = REGION.alias("desa"), REGION.alias("kec")
    place = (
        select(desa.c.parent_id, kec.c.parent_id)
        .select_from(Kpm)
        .join(Kelompok, Kelompok.id == Kpm.kelompok_id)
        .join(desa, desa.c.id == Kelompok.desa_id)
        .join(kec, kec.c.id == desa.c.parent_id)
        .where(Kpm.id == kpm_id)
    )
    found = (await session.execute(place)).first()
    if found is None:
        return []
    statement = _rows().where(
        CONTACT.c.active, _serving(category), CONTACT.c.region_id.in_(list(found))
    )
    rows = (await session.execute(_ordered(statement).limit(limit))).all()
    return await _with_categories(session, rows)


async def list_contacts(
    session: AsyncSession, region_ids: Select[tuple[int]] | None = None
) -> list[ContactRow]:
    """Every contact (active or not), or those of ``region_ids``, in the listing order."""
    statement = _rows()
    if region_ids is not None:
        statement = statement.where(CONTACT.c.region_id.in_(region_ids))
    return await _with_categories(session, (await session.execute(_ordered(statement))).all())


async def kpm_of_case(session: AsyncSession, case_id: int) -> int | None:
    found: int | None = await session.scalar(
        select(CaseNote.kpm_id).where(CaseNote.id == case_id)
    )
    return found


async def editable_regions(session: AsyncSession, staff: Staff) -> list[AreaRegion]:
    """The kabupaten and kecamatan whose contacts a coordinator may change: their region
    and those below it, kabupaten first."""
    if staff.region_id is None:
        return []
    r, parent = REGION.alias("r"), REGION.alias("parent")
    rows = await session.execute(
        select(r.c.id, r.c.name, r.c.level)
        .outerjoin(parent, parent.c.id == r.c.parent_id)
        .where(
            r.c.level.in_(AREA_LEVELS),
            or_(
                r.c.id == staff.region_id,
                r.c.parent_id == staff.region_id,
                parent.c.parent_id == staff.region_id,
            ),
        )
        .order_by(case((r.c.level == RegionLevel.KABUPATEN, 0), else_=1), r.c.name)
    )
    return [AreaRegion(region_id, name, RegionLevel(level)) for region_id, name, level in rows]


async def find_contacts(
    session: AsyncSession, region_ids: Sequence[int], query: str, *, limit: int = 8
) -> list[ContactRow]:
    """Contacts (active or not) of ``region_ids`` whose name is like ``query``."""
    if not region_ids:
        return []
    statement = _ordered(_rows().where(CONTACT.c.region_id.in_(region_ids)))
    every = (await session.execute(statement)).all()
    names = {row[0]: row[1] for row in every}
    matches = process.extract(
        query, names, scorer=fuzz.WRatio, processor=utils.default_process, limit=limit,
        score_cutoff=MIN_SCORE,
    )
    if not matches:
        return []
    best = matches[0][1]
    wanted = {key for _, score, key in matches if score >= best - 10}
    return await _with_categories(session, [row for row in every if row[0] in wanted])


async def contact_in(
    session: AsyncSession, contact_id: int, region_ids: Sequence[int]
) -> ContactRow:
    """One contact of ``region_ids`` (else :class:`OutOfScope`)."""
    rows = (
        await session.execute(
            _rows().where(CONTACT.c.id == contact_id, CONTACT.c.region_id.in_(region_ids))
        )
    ).all()
    if not rows:
        raise OutOfScope(f"referral contact {contact_id}")
    return (await _with_categories(session, rows))[0]


async def name_taken(
    session: AsyncSession, region_id: int, name: str, *, other_than: int | None = None
) -> bool:
    statement = select(CONTACT.c.id).where(
        CONTACT.c.region_id == region_id, CONTACT.c.name_key == name_key(clean_name(name))
    )
    found = await session.scalar(statement)
    return found is not None and found != other_than


async def add_contact(
    session: AsyncSession, fields: ContactFields, *, by: Staff | None, now: datetime
) -> int:
    """A new contact with its categories; audited."""
    name = clean_name(fields.name)
    contact_id: int = (
        await session.execute(
            insert(CONTACT).returning(CONTACT.c.id),
            {
                "region_id": fields.region_id, "name": name, "name_key": name_key(name),
                "kind": fields.kind, "phone": fields.phone, "address": fields.address,
                "notes": fields.notes, "active": fields.active, "created_at": now,
                "updated_at": now, "updated_by_id": by.id if by else None,
            },
        )
    ).scalar_one()
    await set_categories(session, contact_id, fields.categories)
    await audit(
        session, **actor_of(by), action="referral.add", entity="referral_contact",
        entity_id=contact_id, detail={"kind": fields.kind, "region_id": fields.region_id},
        at=now,
    )
    return contact_id


async def set_categories(session: AsyncSession, contact_id: int, categories: Iterable[str]) -> None:
    await session.execute(delete(SERVICE).where(SERVICE.c.contact_id == contact_id))
    rows = [{"contact_id": contact_id, "category": key} for key in dict.fromkeys(categories)]
    if rows:
        await session.execute(insert(SERVICE), rows)


CHANGEABLE = ("name", "kind", "phone", "address", "notes", "active")


async def change_contact(
    session: AsyncSession,
    contact_id: int,
    changes: dict[str, Any],
    *,
    categories: Sequence[str] | None = None,
    by: Staff | None,
    now: datetime,
) -> None:
    """Change a contact's fields (of :data:`CHANGEABLE`) and, when given, its categories;
    audited with the names of the fields changed (never their values, but ``active``)."""
    values = {key: value for key, value in changes.items() if key in CHANGEABLE}
    if "name" in values:
        values["name"] = clean_name(values["name"])
        values["name_key"] = name_key(values["name"])
    changed = await session.execute(
        update(CONTACT)
        .where(CONTACT.c.id == contact_id)
        .values(**values, updated_at=now, updated_by_id=by.id if by else None)
    )
    if not changed.rowcount:  # type: ignore[attr-defined]
        raise OutOfScope(f"referral contact {contact_id}")
    if categories is not None:
        await set_categories(session, contact_id, categories)
    detail: dict[str, Any] = {"fields": sorted([*changes, *(["categories"] if categories else [])])}
    if "active" in changes:
        detail["active"] = bool(changes["active"])
    await audit(
        session, **actor_of(by), action="referral.change", entity="referral_contact",
        entity_id=contact_id, detail=detail, at=now,
    )
