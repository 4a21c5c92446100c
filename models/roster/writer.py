"""Writing checked roster rows in batches: new KPM and komponen through bulk inserts, changed
ones through one UPDATE per batch, each batch one transaction."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from models.base import table_of
from models.enums import Channel, ExitReason, KpmStatus, StaffRole
from models.kpm_changes import withdraw_waiting
from models.phone_changes import detach_phone
from models.regions import LEVELS, RegionIndex
from models.roster.bulk import BulkInsert
from models.roster.parse import KomponenItem, RosterRow
from models.roster.status import GRADUASI
from models.rules.text import clean_name, name_key
from models.tables import Kelompok, Komponen, Kpm, Region, Staff

KPM: Table = table_of(Kpm)
KOMPONEN: Table = table_of(Komponen)
KELOMPOK: Table = table_of(Kelompok)
STAFF: Table = table_of(Staff)

_UPDATE_KPM = (
    update(KPM).where(KPM.c.id == bindparam("b_id")).values(
        nama_pengurus=bindparam("b_nama"), nik=bindparam("b_nik"), phone=bindparam("b_phone"),
        kelompok_id=bindparam("b_kelompok"), updated_at=bindparam("b_now"),
    )
)
_UPDATE_KPM_STATUS = _UPDATE_KPM.values(
    status=bindparam("b_status"), graduated_on=bindparam("b_graduated"),
    left_on=bindparam("b_left"), exit_reason=bindparam("b_reason"),
)
Status = tuple[KpmStatus, date | None, date | None, ExitReason | None]
"""A KPM's (status, graduated_on, left_on, exit_reason)."""


@dataclass
class WriteCounts:
    imported: int = 0
    updated: int = 0
    moved: int = 0  # of the updated, KPM now in another kelompok
    left: int = 0  # of the updated, KPM who left the programme with this file
    phones_changed: int = 0  # of the updated, KPM with another phone number
    unchanged: int = 0
    ketua_named: int = 0  # kelompok whose ketua a row of the file names
    ketua_changed: int = 0  # of those, kelompok whose ketua is new or another
    regions_created: int = 0
    pendamping_created: int = 0
    kelompok_created: int = 0
    kelompok_reassigned: int = 0
    komponen_written: int = 0
    erased: int = 0  # rows of families whose personal data was erased: left as they are


def _sorted_komponen(items: Iterable[tuple[str, date | None, date | None]]) -> list[Any]:
    """Komponen in a canonical order, to tell whether a KPM's list changed."""
    return sorted(items, key=lambda item: (item[0], item[1] or date.min, item[2] or date.min))


def _komponen_params(kpm_id: int, items: Iterable[KomponenItem]) -> Iterator[tuple[Any, ...]]:
    for item in items:
        yield (kpm_id, item.type, item.birth_date, item.end_date)


class RosterWriter:
    """Matches checked rows to what the database holds and writes the difference."""

    def __init__(
        self, session: AsyncSession, *, now: datetime, today: date, replace_komponen: bool,
        has_status: bool,
    ) -> None:
        self._session = session
        self._now = now
        self._today = today
        self._replace_komponen = replace_komponen
        self._has_status = has_status
        self._regions = RegionIndex(session)
        self._places: dict[tuple[str, str, str, str], tuple[int, int]] = {}  # -> (kec, desa)
        self._pendamping: dict[str, int] = {}  # name key -> staff id
        self._kelompok: dict[tuple[int, str], tuple[int, int | None]] = {}  # -> (id, pendamping)
        self._kelompok_by_text: dict[tuple[str, ...], int] = {}
        self._kpm_insert: BulkInsert | None = None
        self._komponen_insert: BulkInsert | None = None
        self._first_kpm = False
        self._moved: list[int] = []  # KPM ids whose kelompok this file changes
        self._left: list[int] = []  # KPM ids who leave the programme with this file
        self._old_phones: list[tuple[int, str]] = []  # (KPM id, phone it no longer has)
        self._ketua: dict[int, str] = {}  # kelompok id -> the ID PKH of its ketua
        self._regions_before = 0
        self.counts = WriteCounts()

    async def load(self) -> None:
        """Read regions, pendamping and kelompok once; KPM are looked up per batch."""
        await self._regions.load()
        self._regions_before = await self._region_total()
        self._first_kpm = await self._session.scalar(select(KPM.c.id).limit(1)) is None
        connection = await self._session.connection()
        staff = await connection.execute(
            select(STAFF.c.id, STAFF.c.name_key).where(STAFF.c.role == StaffRole.PENDAMPING)
        )
        self._pendamping = {key: staff_id for staff_id, key in staff}
        kelompok = await connection.execute(
            select(KELOMPOK.c.id, KELOMPOK.c.desa_id, KELOMPOK.c.name_key, KELOMPOK.c.pendamping_id)
        )
        self._kelompok = {(desa, key): (kid, pid) for kid, desa, key, pid in kelompok}

    async def write(self, rows: list[RosterRow]) -> None:
        connection = await self._session.connection()
        kelompok_ids = await self._kelompok_ids(connection, rows)
        await self._write_kpm(connection, rows, kelompok_ids)

    async def finish(self) -> None:
        self.counts.regions_created = await self._region_total() - self._regions_before
        # What waits in the outbox for KPM who moved or left is withdrawn, as in chat.
        await withdraw_waiting(self._session, self._moved, left=False, now=self._now)
        await withdraw_waiting(self._session, self._left, left=True, now=self._now)
        # The old number's chat addresses are detached, as in chat.
        for kpm_id, phone in self._old_phones:
            await detach_phone(self._session, kpm_id, phone, now=self._now)
        await self._set_ketua()

    async def _set_ketua(self) -> None:
        """Each kelompok a row names the ketua of gets that KPM as its ketua (a kelompok
        no row names keeps the one it had)."""
        if not self._ketua:
            return
        connection = await self._session.connection()
        ids = dict(
            (await connection.execute(
                select(KPM.c.id_pkh, KPM.c.id).where(KPM.c.id_pkh.in_(list(self._ketua.values())))
            )).tuples().all()
        )
        current = dict(
            (await connection.execute(
                select(KELOMPOK.c.id, KELOMPOK.c.ketua_kpm_id)
                .where(KELOMPOK.c.id.in_(list(self._ketua)))
            )).tuples().all()
        )
        changes = [
            {"b_id": kelompok_id, "b_ketua": ids[id_pkh]}
            for kelompok_id, id_pkh in self._ketua.items()
            if current.get(kelompok_id) != ids[id_pkh]
        ]
        if changes:
            await connection.execute(
                update(KELOMPOK).where(KELOMPOK.c.id == bindparam("b_id"))
                .values(ketua_kpm_id=bindparam("b_ketua")),
                changes,
            )
        self.counts.ketua_named = len(self._ketua)
        self.counts.ketua_changed = len(changes)

    async def _region_total(self) -> int:
        return await self._session.scalar(select(func.count()).select_from(Region)) or 0

    # -- regions, pendamping, kelompok --------------------------------------------------------

    async def _kelompok_ids(self, connection: AsyncConnection, rows: list[RosterRow]) -> list[int]:
        """The kelompok id of each row, creating regions, pendamping and kelompok."""
        by_text = self._kelompok_by_text
        new: dict[tuple[str, ...], RosterRow] = {}
        for row in rows:
            text_key = (*row.region_path, row.kelompok, row.pendamping)
            if text_key not in by_text:
                new.setdefault(text_key, row)
        if new:
            places = {text_key: await self._place(row) for text_key, row in new.items()}
            await self._create_pendamping(connection, new, places)
            await self._create_kelompok(connection, new, places)
        return [by_text[(*row.region_path, row.kelompok, row.pendamping)] for row in rows]

    async def _place(self, row: RosterRow) -> tuple[int, int]:
        """(kecamatan id, desa id) of a row's region path, created when missing."""
        found = self._places.get(row.region_path)
        if found is None:
            ids: list[int] = []
            for level, name in zip(LEVELS, row.region_path, strict=True):
                ids.append(await self._regions.ensure(level, name, ids[-1] if ids else None))
            found = self._places[row.region_path] = (ids[2], ids[3])
        return found

    async def _create_pendamping(
        self, connection: AsyncConnection, new: dict[tuple[str, ...], RosterRow],
        places: dict[tuple[str, ...], tuple[int, int]],
    ) -> None:
        """A pendamping not known by name becomes staff, placed in the row's kecamatan."""
        missing: dict[str, dict[str, Any]] = {}
        for text_key, row in new.items():
            key = name_key(row.pendamping)
            if key not in self._pendamping and key not in missing:
                missing[key] = {
                    "role": StaffRole.PENDAMPING, "name": clean_name(row.pendamping),
                    "name_key": key, "region_id": places[text_key][0], "active": True,
                    "created_at": self._now,
                }
        if missing:
            created = await connection.execute(
                insert(STAFF).returning(STAFF.c.id, STAFF.c.name_key), list(missing.values())
            )
            self._pendamping.update({key: staff_id for staff_id, key in created})
            self.counts.pendamping_created += len(missing)

    async def _create_kelompok(
        self, connection: AsyncConnection, new: dict[tuple[str, ...], RosterRow],
        places: dict[tuple[str, ...], tuple[int, int]],
    ) -> None:
        """Kelompok are matched by desa and name; a known one whose pendamping changed
        in the file is given to the new pendamping."""
        missing: dict[tuple[int, str], dict[str, Any]] = {}
        reassigned: dict[int, int] = {}
        keys = {text_key: (places[text_key][1], name_key(row.kelompok))
                for text_key, row in new.items()}
        for text_key, row in new.items():
            key = keys[text_key]
            pendamping_id = self._pendamping[name_key(row.pendamping)]
            known = self._kelompok.get(key)
            if known is None:
                missing.setdefault(key, {
                    "name": clean_name(row.kelompok), "name_key": key[1], "desa_id": key[0],
                    "pendamping_id": pendamping_id, "created_at": self._now,
                })
            elif known[1] != pendamping_id:
                reassigned[known[0]] = pendamping_id
                self._kelompok[key] = (known[0], pendamping_id)
        if missing:
            created = await connection.execute(
                insert(KELOMPOK).returning(KELOMPOK.c.id, KELOMPOK.c.desa_id, KELOMPOK.c.name_key,
                                           KELOMPOK.c.pendamping_id),
                list(missing.values()),
            )
            self._kelompok.update({(desa, key): (kid, pid) for kid, desa, key, pid in created})
            self.counts.kelompok_created += len(missing)
        if reassigned:
            await connection.execute(
                update(KELOMPOK).where(KELOMPOK.c.id == bindparam("b_id"))
                .values(pendamping_id=bindparam("b_pendamping")),
                [{"b_id": kid, "b_pendamping": pid} for kid, pid in reassigned.items()],
            )
            self.counts.kelompok_reassigned += len(reassigned)
        for text_key, key in keys.items():
            self._kelompok_by_text[text_key] = self._kelompok[key][0]

    # -- KPM and komponen ---------------------------------------------------------------------

    async def _write_kpm(
        self, connection: AsyncConnection, rows: list[RosterRow], kelompok_ids: list[int]
    ) -> None:
        existing = await self._existing_kpm(connection, rows)
        old_komponen = await self._existing_komponen(connection, existing)
        inserts: list[tuple[Any, ...]] = []
        new_komponen: dict[str, tuple[KomponenItem, ...]] = {}
        updates: list[dict[str, Any]] = []
        replaced: dict[int, tuple[KomponenItem, ...]] = {}
        has_status = self._has_status
        for row, kelompok_id in zip(rows, kelompok_ids, strict=True):
            known = existing.get(row.id_pkh)
            if known is not None and known[9] is not None:
                self.counts.erased += 1  # erased on request: the roster brings nothing back
                continue
            if row.ketua:
                self._ketua[kelompok_id] = row.id_pkh
            if known is None:
                channel = Channel.WHATSAPP if row.phone else Channel.NONE
                values: tuple[Any, ...] = (
                    row.id_pkh, row.nik, row.nama_pengurus, row.phone, kelompok_id, channel
                )
                if has_status:
                    values += self._status(row, (KpmStatus.AKTIF, None, None, None))
                inserts.append(values)
                if row.komponen:
                    new_komponen[row.id_pkh] = row.komponen
                continue
            kpm_id = known[0]
            komponen_changed = row.komponen is not None and (
                _sorted_komponen(row.komponen) != _sorted_komponen(old_komponen.get(kpm_id, ()))
            )
            status = self._status(row, known[5:9]) if has_status else ()
            if not komponen_changed and known[1:5] == (
                row.nama_pengurus, row.nik, row.phone, kelompok_id
            ) and (not status or status == known[5:9]):
                self.counts.unchanged += 1
                continue
            if known[3] != row.phone:
                self.counts.phones_changed += 1
                if known[3]:
                    self._old_phones.append((kpm_id, known[3]))
            if known[4] != kelompok_id:
                self.counts.moved += 1
                self._moved.append(kpm_id)
            if status and status[0] is not KpmStatus.AKTIF and known[5] is KpmStatus.AKTIF:
                self.counts.left += 1
                self._left.append(kpm_id)
            update_params = {
                "b_id": kpm_id, "b_nama": row.nama_pengurus, "b_nik": row.nik,
                "b_phone": row.phone, "b_kelompok": kelompok_id, "b_now": self._now,
            }
            if status:
                (
                    update_params["b_status"], update_params["b_graduated"],
                    update_params["b_left"], update_params["b_reason"],
                ) = status
            updates.append(update_params)
            if komponen_changed and row.komponen is not None:
                replaced[kpm_id] = row.komponen

        komponen_rows: list[tuple[Any, ...]] = []
        if inserts:
            await self._insert_kpm(connection, inserts)
            self.counts.imported += len(inserts)
            if new_komponen:  # the new ids, by their (indexed) ID PKH
                created = await connection.execute(
                    select(KPM.c.id, KPM.c.id_pkh).where(KPM.c.id_pkh.in_(list(new_komponen)))
                )
                for kpm_id, id_pkh in created:
                    komponen_rows.extend(_komponen_params(kpm_id, new_komponen[id_pkh]))
        if updates:
            await connection.execute(_UPDATE_KPM_STATUS if has_status else _UPDATE_KPM, updates)
            self.counts.updated += len(updates)
        if replaced:
            await connection.execute(delete(KOMPONEN).where(KOMPONEN.c.kpm_id.in_(list(replaced))))
            for kpm_id, items in replaced.items():
                komponen_rows.extend(_komponen_params(kpm_id, items))
        if komponen_rows:
            await self._insert_komponen(connection, komponen_rows)
            self.counts.komponen_written += len(komponen_rows)

    def _status(self, row: RosterRow, stored: Sequence[Any]) -> Status:
        """(status, graduated_on, left_on, exit_reason) of a KPM stored with ``stored``
        once ``row`` is imported: a graduasi status entered today is dated by the row or
        the import day, one kept keeps its date unless the row gives one; a KPM who left
        with this file left on the import day, one who had left keeps the day (and the
        reason, unless the row names another)."""
        status, graduated_on, left_on, reason = stored
        if row.status is None:  # an empty cell: as stored
            return status, graduated_on, left_on, reason
        if row.status is KpmStatus.AKTIF:
            return row.status, None, None, None
        if row.status not in GRADUASI:
            if row.status != status:
                return row.status, None, self._today, row.exit_reason
            return row.status, None, left_on or self._today, row.exit_reason or reason
        if row.status != status:
            day = row.graduated_on or self._today
        else:
            day = row.graduated_on or graduated_on
        return row.status, day, day, row.exit_reason

    async def _existing_kpm(
        self, connection: AsyncConnection, rows: list[RosterRow]
    ) -> dict[str, tuple[Any, ...]]:
        """The KPM of these rows already stored, by ID PKH: (id, nama, nik, phone, kelompok,
        status, graduated_on, left_on, exit_reason, erased_at)."""
        if self._first_kpm:  # the table was empty and ID PKH are unique in the file
            return {}
        found = await connection.execute(
            select(KPM.c.id_pkh, KPM.c.id, KPM.c.nama_pengurus, KPM.c.nik, KPM.c.phone,
                   KPM.c.kelompok_id, KPM.c.status, KPM.c.graduated_on, KPM.c.left_on,
                   KPM.c.exit_reason, KPM.c.erased_at)
            .where(KPM.c.id_pkh.in_([row.id_pkh for row in rows]))
        )
        return {id_pkh: tuple(values) for id_pkh, *values in found}

    async def _existing_komponen(
        self, connection: AsyncConnection, existing: dict[str, tuple[Any, ...]]
    ) -> dict[int, list[tuple[str, Any, Any]]]:
        komponen: dict[int, list[tuple[str, Any, Any]]] = {}
        if self._replace_komponen and existing:
            found = await connection.execute(
                select(KOMPONEN.c.kpm_id, KOMPONEN.c.type, KOMPONEN.c.birth_date,
                       KOMPONEN.c.end_date)
                .where(KOMPONEN.c.kpm_id.in_([values[0] for values in existing.values()]))
            )
            for kpm_id, komponen_type, birth_date, end_date in found:
                komponen.setdefault(kpm_id, []).append((komponen_type, birth_date, end_date))
        return komponen

    async def _insert_kpm(self, connection: AsyncConnection, rows: list[tuple[Any, ...]]) -> None:
        if self._kpm_insert is None:
            columns: tuple[str, ...] = (
                "id_pkh", "nik", "nama_pengurus", "phone", "kelompok_id", "preferred_channel",
            )
            constants: dict[str, Any] = {"created_at": self._now, "updated_at": self._now}
            if self._has_status:  # the status and graduated_on of each row
                columns += ("status", "graduated_on", "left_on", "exit_reason")
            else:
                constants["status"] = KpmStatus.AKTIF
            self._kpm_insert = BulkInsert(connection, KPM, columns, constants)
        await self._kpm_insert(rows)

    async def _insert_komponen(
        self, connection: AsyncConnection, rows: list[tuple[Any, ...]]
    ) -> None:
        if self._komponen_insert is None:
            self._komponen_insert = BulkInsert(
                connection, KOMPONEN, ("kpm_id", "type", "birth_date", "end_date"), {}
            )
        await self._komponen_insert(rows)
