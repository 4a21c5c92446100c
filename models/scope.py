"""Who may see what: the kelompok in a staff member's scope (their own, their pendamping's,
or those of the region they coordinate), as a subquery every query of records joins, and
the error for a record outside it."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import BindParameter, Select, bindparam, false, or_, select

from models.base import table_of
from models.enums import StaffRole
from models.tables import Kelompok, Region, Staff

KELOMPOK, REGION, STAFF = table_of(Kelompok), table_of(Region), table_of(Staff)


class OutOfScope(PermissionError):
    """A record that exists but is not this staff member's to see or change."""


@cache
def scope_ids(role: StaffRole, regional: bool) -> Select[tuple[int]]:
    """:func:`kelompok_scope` built once per kind of staff, with the staff member's id
    and region as parameters (``scope_staff``, ``scope_region``): see :func:`scope_params`.
    Core (table columns), so that the Core statements it is part of stay Core."""
    staff_id: BindParameter[int] = bindparam("scope_staff")
    region: BindParameter[int | None] = bindparam("scope_region")
    k, staff = KELOMPOK.c, STAFF.c
    if role is StaffRole.PENDAMPING:
        return select(k.id).where(k.pendamping_id == staff_id)
    if role is StaffRole.SUPERVISOR:
        return (
            select(k.id)
            .join(STAFF, k.pendamping_id == staff.id)
            .where(staff.supervisor_id == staff_id)
        )
    if not regional:
        return select(k.id) if role is StaffRole.ADMIN else select(k.id).where(false())
    desa, kec, kab = REGION.alias("desa"), REGION.alias("kec"), REGION.alias("kab")
    return (
        select(k.id)
        .join(desa, k.desa_id == desa.c.id)
        .join(kec, desa.c.parent_id == kec.c.id)
        .join(kab, kec.c.parent_id == kab.c.id)
        .where(
            or_(
                desa.c.id == region,
                kec.c.id == region,
                kab.c.id == region,
                kab.c.parent_id == region,
            )
        )
    )


def scope_key(staff: Staff) -> tuple[StaffRole, bool]:
    return staff.role, staff.region_id is not None


def scope_params(staff: Staff) -> dict[str, Any]:
    return {"scope_staff": staff.id, "scope_region": staff.region_id}


def kelompok_scope(staff: Staff) -> Select[tuple[int]]:
    """The ids of the kelompok a staff member may see: their own, their pendamping's,
    or those in the region they coordinate (a subquery with the values filled in)."""
    return scope_ids(*scope_key(staff)).params(scope_params(staff))
