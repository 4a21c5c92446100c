"""Regions: the province catalog (codes, time zones) and get-or-create of region paths."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from models.enums import RegionLevel
from models.rules.text import clean_name, name_key
from models.tables import Kelompok, Region

_PREFIXES = {
    RegionLevel.PROVINSI: re.compile(r"^(prov\.?|provinsi)\s+", re.IGNORECASE),
    RegionLevel.KABUPATEN: re.compile(r"^(kab\.?|kabupaten)\s+", re.IGNORECASE),
    RegionLevel.KECAMATAN: re.compile(r"^(kec\.?|kecamatan)\s+", re.IGNORECASE),
    RegionLevel.DESA: re.compile(r"^(desa|kel\.?|kelurahan)\s+", re.IGNORECASE),
}
LEVELS = (RegionLevel.PROVINSI, RegionLevel.KABUPATEN, RegionLevel.KECAMATAN, RegionLevel.DESA)


@dataclass(frozen=True)
class Province:
    code: str
    name: str
    timezone: str
    aliases: tuple[str, ...]


class UnknownProvince(ValueError):
    """A province name that is not in the catalog."""


@cache
def province_catalog() -> dict[str, Province]:
    """Every province by each of its name keys (official name and aliases)."""
    text = resources.files("models").joinpath("data/provinces.csv").read_text(encoding="utf-8")
    by_key: dict[str, Province] = {}
    for row in csv.DictReader(text.splitlines()):
        aliases = tuple(alias for alias in row["aliases"].split(";") if alias)
        province = Province(row["code"], row["name"], row["timezone"], aliases)
        for name in (province.name, *aliases):
            by_key[name_key(name)] = province
    return by_key


def region_key(level: RegionLevel, name: str) -> str:
    """The matching key of a region name, without its level's prefix ("Kab.", "Desa")."""
    return name_key(_PREFIXES[level].sub("", clean_name(name)))


def find_province(name: str) -> Province:
    province = province_catalog().get(region_key(RegionLevel.PROVINSI, name))
    if province is None:
        raise UnknownProvince(f"unknown province {name!r}")
    return province


class RegionIndex:
    """All regions in memory by (parent, level, key), for imports that touch many rows.

    Load once with :meth:`load`; :meth:`ensure_path` then creates what is missing with one
    flush per new region and no query for the ones already known.
    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._ids: dict[tuple[int | None, RegionLevel, str], int] = {}

    async def load(self) -> RegionIndex:
        rows = await self._session.execute(
            select(Region.id, Region.parent_id, Region.level, Region.name_key)
        )
        for region_id, parent_id, level, key in rows:
            self._ids[(parent_id, RegionLevel(level), key)] = region_id
        return self

    async def ensure(self, level: RegionLevel, name: str, parent_id: int | None) -> int:
        key = region_key(level, name)
        found = self._ids.get((parent_id, level, key))
        if found is not None:
            return found
        code = timezone = None
        display = _PREFIXES[level].sub("", clean_name(name))
        if level is RegionLevel.PROVINSI:
            province = find_province(name)
            code, timezone, display = province.code, province.timezone, province.name
            key = name_key(province.name)
            found = self._ids.get((None, level, key))
            if found is not None:
                self._ids[(None, level, region_key(level, name))] = found
                return found
        region = Region(
            level=level,
            name=display,
            name_key=key,
            parent_id=parent_id,
            code=code,
            timezone=timezone,
        )
        self._session.add(region)
        await self._session.flush()
        self._ids[(parent_id, level, key)] = region.id
        self._ids[(parent_id, level, region_key(level, name))] = region.id
        return region.id

    async def ensure_path(self, names: Iterable[str]) -> int:
        """Get or create provinsi > kabupaten > kecamatan > desa (or a prefix of that
        path); return the id of the last region named."""
        written = list(names)
        if not 1 <= len(written) <= len(LEVELS):
            raise ValueError("a region path names one to four levels")
        parent_id: int | None = None
        for level, name in zip(LEVELS, written, strict=False):
            parent_id = await self.ensure(level, name, parent_id)
        assert parent_id is not None
        return parent_id


async def kelompok_timezones(session: AsyncSession, kelompok_ids: Iterable[int]) -> dict[int, str]:
    """The IANA time zone of each kelompok, from its province, in one query."""
    desa, kec, kab, prov = (aliased(Region) for _ in range(4))
    rows = await session.execute(
        select(Kelompok.id, prov.timezone)
        .join(desa, Kelompok.desa_id == desa.id)
        .join(kec, desa.parent_id == kec.id)
        .join(kab, kec.parent_id == kab.id)
        .join(prov, kab.parent_id == prov.id)
        .where(Kelompok.id.in_(list(kelompok_ids)))
    )
    return {kelompok_id: timezone or "Asia/Jakarta" for kelompok_id, timezone in rows}


async def find_regions(session: AsyncSession, written: str) -> list[Region]:
    """Regions matching a Kemendagri code exactly or a name (any level, prefix ignored)."""
    by_code = await session.scalar(select(Region).where(Region.code == written.strip()))
    if by_code is not None:
        return [by_code]
    keys = {region_key(level, written) for level in LEVELS}
    found = await session.scalars(select(Region).where(Region.name_key.in_(keys)))
    return list(found)


_ZONE_OF_REGION: dict[int, str | None] = {}


async def timezone_of_region(session: AsyncSession, region_id: int | None) -> str | None:
    """The time zone of a region's province. Cached per region: a region never changes
    province, and provinces keep their zone."""
    if region_id is None:
        return None
    if region_id in _ZONE_OF_REGION:
        return _ZONE_OF_REGION[region_id]
    region, kec, kab, prov = (aliased(Region) for _ in range(4))
    row = (
        await session.execute(
            select(region.timezone, kec.timezone, kab.timezone, prov.timezone)
            .outerjoin(kec, kec.id == region.parent_id)
            .outerjoin(kab, kab.id == kec.parent_id)
            .outerjoin(prov, prov.id == kab.parent_id)
            .where(region.id == region_id)
        )
    ).first()
    zone = next((name for name in row if name), None) if row else None
    if row is not None:
        _ZONE_OF_REGION[region_id] = zone
    return zone


def kelompok_zone(kelompok_desa: Any) -> tuple[ColumnElement[str | None], list[tuple[Any, Any]]]:
    """The time zone column of a kelompok's province and the outer joins that reach it."""
    column, _, joins = kelompok_zone_and_code(kelompok_desa)
    return column, joins


def kelompok_zone_and_code(
    kelompok_desa: Any,
) -> tuple[ColumnElement[str | None], ColumnElement[str | None], list[tuple[Any, Any]]]:
    """The time zone of a kelompok's province, the most specific Kemendagri code of its
    region path (its desa's code, else its kecamatan's, kabupaten's or province's: what
    regional holidays are matched on) and the outer joins that reach both."""
    desa, kec, kab, prov = (aliased(Region) for _ in range(4))
    joins = [
        (desa, desa.id == kelompok_desa),
        (kec, kec.id == desa.parent_id),
        (kab, kab.id == kec.parent_id),
        (prov, prov.id == kab.parent_id),
    ]
    zone_column: ColumnElement[str | None] = func.coalesce(
        prov.timezone, kab.timezone, kec.timezone, desa.timezone
    )
    code: ColumnElement[str | None] = func.coalesce(desa.code, kec.code, kab.code, prov.code)
    return zone_column, code, joins


async def kelompok_region_codes(
    session: AsyncSession, kelompok_ids: Iterable[int] | None
) -> dict[int, str | None]:
    """Each kelompok's most specific region code (for its regional holidays), in one query;
    every kelompok's when ``kelompok_ids`` is None."""
    _, code, joins = kelompok_zone_and_code(Kelompok.desa_id)
    statement = outer_join_all(select(Kelompok.id, code), joins)
    if kelompok_ids is not None:
        ids = sorted(set(kelompok_ids))
        if not ids:
            return {}
        statement = statement.where(Kelompok.id.in_(ids))
    return {kelompok_id: found for kelompok_id, found in await session.execute(statement)}


def outer_join_all(statement: Select[Any], joins: list[tuple[Any, Any]]) -> Select[Any]:
    """``statement`` with each of ``joins`` (target, condition) as an outer join."""
    for target, condition in joins:
        statement = statement.outerjoin(target, condition)
    return statement
