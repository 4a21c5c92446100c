"""Importing rosters into the database: what lands, what is matched, what is refused."""

from __future__ import annotations

import csv
import logging
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import models.roster.importer as roster_module
from bot.config import load_settings
from bot.roster_reasons import rejection, say
from handlers.i18n import Translator
from models.enums import ExitReason, KpmStatus, OutboxStatus, RegionLevel, StaffRole
from models.kpm_changes import LEFT, MOVED
from models.messaging.enqueue import Enqueue, Priority, enqueue
from models.messaging.tables import Outbox
from models.roster.bulk import BulkInsert
from models.roster.importer import ImportReport, RosterFileError, count_rows, import_roster
from models.roster.reasons import reason
from models.rules.komponen import KomponenCatalog
from models.tables import AuditLog, Kelompok, Komponen, Kpm, Region, Staff

FIXTURES = Path(__file__).parent.parent / "fixtures" / "roster"
SAMPLE = FIXTURES / "roster_semicolon_bom.csv"
NOW = datetime(2025, 7, 1, 3, 0, tzinfo=UTC)
HEADERS = ["ID PKH", "Nama Pengurus", "NIK", "No HP", "Kelompok", "Desa", "Kecamatan",
           "Kabupaten", "Provinsi", "Pendamping", "Komponen"]

Sessions = async_sessionmaker[AsyncSession]
t = Translator()  # the configured locale's catalog: Indonesian by default


def said(report: ImportReport) -> list[tuple[int, str]]:
    """Each refused row's number and its reasons as the operator reads them (Indonesian)."""
    return [
        (bad.row_number, "; ".join(say(t, why) for why in bad.reasons))
        for bad in report.rejected
    ]


@pytest.fixture(scope="module")
def catalog() -> KomponenCatalog:
    komponen = load_settings(environ={}).settings.programme.komponen
    return KomponenCatalog.from_mapping({key: rule.model_dump() for key, rule in komponen.items()})


def kpm_row(number: int, **changes: str) -> list[str]:
    """A good roster row for KPM ``number``, with some cells changed by header."""
    cells = {
        "ID PKH": f"P-{number:03d}", "Nama Pengurus": f"Ibu Nomor {number}",
        "NIK": f"3302011501{number:06d}", "No HP": f"0812-3456-{number:04d}",
        "Kelompok": "Mawar", "Desa": "Karangsari", "Kecamatan": "Sumbang",
        "Kabupaten": "Banyumas", "Provinsi": "Jawa Tengah", "Pendamping": "Budi Santoso",
        "Komponen": "SD:2015-07-01",
    }
    cells.update(changes)
    return [cells[header] for header in HEADERS]


def write_csv(
    path: Path, rows: list[list[str]], *, headers: list[str] = HEADERS, delimiter: str = ","
) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(headers)
        writer.writerows(rows)
    return path


async def run(
    sessions: Sessions, path: Path, catalog: KomponenCatalog, **options: Any
) -> ImportReport:
    return await import_roster(sessions, path, catalog=catalog, now=NOW, **options)


async def rows_of(sessions: Sessions, statement: Any) -> list[Any]:
    async with sessions() as session:
        return list((await session.execute(statement)).all())


async def count(sessions: Sessions, table: Any) -> int:
    async with sessions() as session:
        return await session.scalar(select(func.count()).select_from(table)) or 0


async def table_counts(sessions: Sessions) -> dict[str, int]:
    return {
        table.__tablename__: await count(sessions, table)
        for table in (Region, Staff, Kelompok, Kpm, Komponen)
    }


async def komponen_of(sessions: Sessions, id_pkh: str) -> list[tuple[str, Any, Any]]:
    rows = await rows_of(
        sessions,
        select(Komponen.type, Komponen.birth_date, Komponen.end_date)
        .join(Kpm, Kpm.id == Komponen.kpm_id)
        .where(Kpm.id_pkh == id_pkh)
        .order_by(Komponen.type),
    )
    return [tuple(row) for row in rows]


# -- the sample roster --------------------------------------------------------------------------


async def test_a_semicolon_roster_with_a_bom_is_imported_whole(
    sessions: Sessions, catalog: KomponenCatalog
) -> None:
    report = await run(sessions, SAMPLE, catalog)

    assert report == ImportReport(
        rows_read=6, imported=6, updated=0, unchanged=0, rejected=[], written=True
    )
    kpm = await rows_of(
        sessions, select(Kpm.id_pkh, Kpm.nama_pengurus, Kpm.nik, Kpm.phone).order_by(Kpm.id_pkh)
    )
    assert [tuple(row) for row in kpm] == [
        ("3302-0001", "Siti Aminah", "3302011501800001", "+6281234567801"),
        ("3302-0002", "Sri Rahayu", "3302014402850002", "+6281322223302"),
        ("3302-0003", "Wati Lestari", "3302014503900003", None),
        ("3302-0004", "Dewi Handayani", "3302015506880004", "+6285712345678"),
        ("3302-0005", "Nur Hidayah", "3302016307920005", "+6281390001234"),
        ("3302-0006", "Tuti Susanti", "3302016812950006", "+6285712345679"),
    ]


async def test_one_region_path_is_created_whatever_the_prefix_and_case_of_its_names(
    sessions: Sessions, catalog: KomponenCatalog
) -> None:
    await run(sessions, SAMPLE, catalog)

    regions = await rows_of(
        sessions, select(Region.level, Region.name, Region.code, Region.timezone)
        .order_by(Region.id)
    )
    assert [tuple(row) for row in regions] == [
        (RegionLevel.PROVINSI, "Jawa Tengah", "33", "Asia/Jakarta"),
        (RegionLevel.KABUPATEN, "Banyumas", None, None),
        (RegionLevel.KECAMATAN, "Sumbang", None, None),
        (RegionLevel.DESA, "Karangsari", None, None),
        (RegionLevel.DESA, "Kebanggan", None, None),
        (RegionLevel.KECAMATAN, "Patikraja", None, None),
        (RegionLevel.DESA, "Kedungrandu", None, None),
    ]


async def test_pendamping_and_kelompok_are_created_once_each(
    sessions: Sessions, catalog: KomponenCatalog
) -> None:
    await run(sessions, SAMPLE, catalog)

    staff = await rows_of(
        sessions, select(Staff.name, Staff.role, Region.name)
        .join(Region, Region.id == Staff.region_id).order_by(Staff.name)
    )
    assert [tuple(row) for row in staff] == [
        ("Ani Wijaya", StaffRole.PENDAMPING, "Sumbang"),
        ("Budi Santoso", StaffRole.PENDAMPING, "Sumbang"),
    ]
    kelompok = await rows_of(
        sessions, select(Kelompok.name, Region.name, Staff.name, func.count(Kpm.id))
        .join(Region, Region.id == Kelompok.desa_id)
        .join(Staff, Staff.id == Kelompok.pendamping_id)
        .join(Kpm, Kpm.kelompok_id == Kelompok.id)
        .group_by(Kelompok.name, Region.name, Staff.name)
        .order_by(Kelompok.name)
    )
    assert [tuple(row) for row in kelompok] == [
        ("Anggrek", "Kebanggan", "Ani Wijaya", 2),
        ("Kenanga", "Kedungrandu", "Ani Wijaya", 1),
        ("Mawar", "Karangsari", "Budi Santoso", 2),
        ("Melati", "Karangsari", "Budi Santoso", 1),
    ]


async def test_komponen_end_dates_are_computed_from_the_birth_dates(
    sessions: Sessions, catalog: KomponenCatalog
) -> None:
    await run(sessions, SAMPLE, catalog)

    assert await komponen_of(sessions, "3302-0001") == [
        ("anak_sd", date(2015, 7, 1), date(2028, 7, 1)),
        ("anak_usia_dini", date(2021, 2, 3), date(2028, 2, 3)),
    ]
    assert await komponen_of(sessions, "3302-0002") == [("lansia", date(1950, 1, 1), None)]
    assert await komponen_of(sessions, "3302-0003") == [
        ("ibu_hamil", date(2025, 3, 10), date(2025, 4, 21)),
    ]
    assert await komponen_of(sessions, "3302-0004") == [
        ("anak_sma", date(2008, 5, 20), date(2029, 5, 20)),  # covered up to the 21st birthday
        ("anak_smp", date(2011, 8, 12), date(2027, 8, 12)),
    ]
    assert await komponen_of(sessions, "3302-0005") == []
    assert await komponen_of(sessions, "3302-0006") == [
        ("anak_sd", date(2016, 1, 31), date(2029, 1, 31)),
        ("disabilitas_berat", None, None),
    ]


async def test_one_audit_row_records_the_counts_and_no_personal_data(
    sessions: Sessions, catalog: KomponenCatalog
) -> None:
    await run(sessions, SAMPLE, catalog)

    audits = await rows_of(
        sessions, select(AuditLog.actor, AuditLog.action, AuditLog.entity, AuditLog.detail)
    )
    assert len(audits) == 1
    actor, action, entity, detail = audits[0]
    assert (actor, action, entity) == ("cli", "roster.import", "import")
    assert detail == {
        "rows_read": 6, "rejected": 0, "imported": 6, "updated": 0, "moved": 0, "left": 0,
        "phones_changed": 0, "unchanged": 0, "regions_created": 7, "pendamping_created": 2,
        "kelompok_created": 4, "kelompok_reassigned": 0, "komponen_written": 8,
        "ketua_named": 0, "ketua_changed": 0, "erased": 0,
    }
    assert all(isinstance(value, int) for value in detail.values())


async def test_nothing_personal_is_logged(
    sessions: Sessions, catalog: KomponenCatalog, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="models"):
        await run(sessions, SAMPLE, catalog)
    logged = "\n".join(
        record.getMessage() for record in caplog.records if record.name.startswith("models")
    )
    assert "6 rows read, 6 imported" in logged
    for personal in ("3302011501800001", "Siti Aminah", "6281234567801", "3456-7801"):
        assert personal not in logged


# -- bad rows, strict, dry run, rejects ---------------------------------------------------------


async def test_bad_rows_are_refused_with_their_spreadsheet_row_number_and_the_rest_imported(
    sessions: Sessions, catalog: KomponenCatalog, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "roster.csv", [
        kpm_row(1),
        kpm_row(2, NIK="330201150100002"),
        [""] * len(HEADERS),
        kpm_row(3, Provinsi="Jawa Tangah"),
        kpm_row(4, Komponen="SD; kuliah"),
        kpm_row(1, NIK="3302011501999999"),
        kpm_row(5, **{"No HP": "12345"}),
        kpm_row(6, Kelompok=""),
        kpm_row(7, Komponen="lansia:1950-01-01; lansia"),
        kpm_row(8, Komponen="SD:2015-02-30"),
        kpm_row(9),
    ])

    report = await run(sessions, path, catalog)

    assert said(report) == [
        (3, t("roster.nik_length", column="NIK", digits=15)),
        (5, t("roster.province_unknown", column="Provinsi", value="Jawa Tangah")),
        (6, t("roster.komponen_unknown", column="Komponen", value="kuliah")),
        (7, t("roster.id_pkh_duplicate", column="ID PKH", value="P-001", first=2)),
        (8, t("roster.phone_invalid", column="No HP")),
        (9, t("roster.missing", columns="Kelompok")),
        (10, t("roster.komponen_over_limit", column="Komponen", komponen="lansia", count=2,
               limit=1)),
        (11, t("roster.komponen_bad_date", column="Komponen", value="SD:2015-02-30",
               date="2015-02-30")),
    ]
    assert said(report)[0][1] == "kolom NIK: harus 16 digit, tertulis 15 digit"
    assert "12345" not in str(report.rejected[4].reasons)  # a phone is never in a reason
    assert report.rejected[0].values == dict(zip(HEADERS, kpm_row(2, NIK="330201150100002"),
                                                 strict=True))
    assert (report.rows_read, report.imported, report.written) == (10, 2, True)
    ids = await rows_of(sessions, select(Kpm.id_pkh, Kpm.nik).order_by(Kpm.id_pkh))
    assert [tuple(row) for row in ids] == [
        ("P-001", "3302011501000001"), ("P-009", "3302011501000009"),
    ]


async def test_a_strict_import_with_a_bad_row_writes_nothing(
    sessions: Sessions, catalog: KomponenCatalog, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "roster.csv", [kpm_row(1), kpm_row(2, NIK="1"), kpm_row(3)])

    report = await run(sessions, path, catalog, strict=True)

    assert not report.written
    assert [(bad.row_number, bad.reasons) for bad in report.rejected] == [
        (3, (reason("roster.nik_length", column="NIK", digits=1),)),
    ]
    assert await table_counts(sessions) == {
        "region": 0, "staff": 0, "kelompok": 0, "kpm": 0, "komponen": 0,
    }
    assert await count(sessions, AuditLog) == 0


async def test_a_strict_import_without_bad_rows_is_written(
    sessions: Sessions, catalog: KomponenCatalog
) -> None:
    report = await run(sessions, SAMPLE, catalog, strict=True)
    assert report.written
    assert await count(sessions, Kpm) == 6


async def test_a_dry_run_counts_what_would_change_and_writes_nothing(
    sessions: Sessions, catalog: KomponenCatalog, tmp_path: Path
) -> None:
    await run(sessions, write_csv(tmp_path / "first.csv", [kpm_row(1), kpm_row(2)]), catalog)
    before = await table_counts(sessions)
    changed = write_csv(tmp_path / "second.csv", [
        kpm_row(1), kpm_row(2, **{"Nama Pengurus": "Ibu Baru"}), kpm_row(3, Desa="Baru"),
        kpm_row(4, NIK="x"),
    ])

    report = await run(sessions, changed, catalog, dry_run=True)

    assert (report.rows_read, report.imported, report.updated, report.unchanged) == (4, 1, 1, 1)
    assert len(report.rejected) == 1
    assert not report.written
    assert await table_counts(sessions) == before
    names = await rows_of(sessions, select(Kpm.nama_pengurus).order_by(Kpm.id_pkh))
    assert [name for (name,) in names] == ["Ibu Nomor 1", "Ibu Nomor 2"]
    assert await count(sessions, AuditLog) == 1  # the first, real import only


async def test_rejected_rows_go_to_a_csv_the_operator_can_fix_and_import_again(
    sessions: Sessions, catalog: KomponenCatalog, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "roster.csv", [
        kpm_row(1), kpm_row(2, NIK="123"), kpm_row(3, Provinsi="Jawa Tangah"),
    ], delimiter=";")
    rejects = tmp_path / "roster_ditolak.csv"

    await run(
        sessions, path, catalog, rejects_path=rejects,
        describe=lambda rejected: rejection(t, rejected),
    )

    raw = rejects.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # so Excel reads it as UTF-8
    with rejects.open(encoding="utf-8-sig", newline="") as handle:
        lines = list(csv.reader(handle, delimiter=";"))
    assert lines == [  # the same texts the command line prints, naming the row and column
        [*HEADERS, "alasan"],
        [*kpm_row(2, NIK="123"),
         t("roster.rejected_row", row=3, reasons=t("roster.nik_length", column="NIK", digits=3))],
        [*kpm_row(3, Provinsi="Jawa Tangah"),
         t("roster.rejected_row", row=4,
           reasons=t("roster.province_unknown", column="Provinsi", value="Jawa Tangah"))],
    ]
    assert lines[1][-1] == "Baris 3: kolom NIK: harus 16 digit, tertulis 3 digit"

    with rejects.open("w", encoding="utf-8-sig", newline="") as handle:  # the operator fixes it
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(lines[0])
        writer.writerow([*kpm_row(2), lines[1][-1]])
        writer.writerow([*kpm_row(3), lines[2][-1]])
    again = tmp_path / "ditolak_lagi.csv"
    report = await run(sessions, rejects, catalog, rejects_path=again)

    assert (report.imported, report.rejected) == (2, [])
    assert await count(sessions, Kpm) == 3
    with again.open(encoding="utf-8-sig", newline="") as handle:
        assert list(csv.reader(handle, delimiter=";")) == [[*HEADERS, "alasan"]]


# -- importing again ----------------------------------------------------------------------------


async def test_importing_the_same_file_twice_changes_nothing_the_second_time(
    sessions: Sessions, catalog: KomponenCatalog
) -> None:
    await run(sessions, SAMPLE, catalog)
    before = await table_counts(sessions)
    kpm_before = await rows_of(sessions, select(Kpm).order_by(Kpm.id))
    komponen_ids = await rows_of(sessions, select(Komponen.id).order_by(Komponen.id))

    report = await import_roster(
        sessions, SAMPLE, catalog=catalog, now=datetime(2025, 8, 1, tzinfo=UTC)
    )

    assert report == ImportReport(
        rows_read=6, imported=0, updated=0, unchanged=6, rejected=[], written=True
    )
    assert await table_counts(sessions) == before
    kpm_after = await rows_of(sessions, select(Kpm).order_by(Kpm.id))
    assert [(k.id, k.updated_at) for (k,) in kpm_after] == [
        (k.id, k.updated_at) for (k,) in kpm_before
    ]
    assert await rows_of(sessions, select(Komponen.id).order_by(Komponen.id)) == komponen_ids


async def test_a_changed_file_updates_values_and_replaces_komponen(
    sessions: Sessions, catalog: KomponenCatalog, tmp_path: Path
) -> None:
    await run(sessions, write_csv(tmp_path / "v1.csv", [kpm_row(1), kpm_row(2), kpm_row(3)]),
              catalog)
    later = datetime(2025, 9, 1, tzinfo=UTC)
    second = write_csv(tmp_path / "v2.csv", [
        kpm_row(1),
        kpm_row(2, **{"Nama Pengurus": "Ibu Dua Baru", "No HP": "", "NIK": "3302011501999992"}),
        kpm_row(3, Komponen="SMP:2012-01-15; balita"),
    ])

    report = await import_roster(sessions, second, catalog=catalog, now=later)

    assert (report.imported, report.updated, report.unchanged) == (0, 2, 1)
    kpm = await rows_of(
        sessions, select(Kpm.id_pkh, Kpm.nama_pengurus, Kpm.nik, Kpm.phone, Kpm.updated_at)
        .order_by(Kpm.id_pkh)
    )
    assert [tuple(row) for row in kpm] == [
        ("P-001", "Ibu Nomor 1", "3302011501000001", "+6281234560001", NOW),
        ("P-002", "Ibu Dua Baru", "3302011501999992", None, later),
        ("P-003", "Ibu Nomor 3", "3302011501000003", "+6281234560003", later),
    ]
    assert await komponen_of(sessions, "P-001") == [
        ("anak_sd", date(2015, 7, 1), date(2028, 7, 1)),
    ]
    assert await komponen_of(sessions, "P-003") == [
        ("anak_smp", date(2012, 1, 15), date(2028, 1, 15)),
        ("anak_usia_dini", None, None),
    ]
    assert await count(sessions, Komponen) == 4


async def test_an_empty_komponen_cell_removes_the_komponen_of_a_kpm(
    sessions: Sessions, catalog: KomponenCatalog, tmp_path: Path
) -> None:
    await run(sessions, write_csv(tmp_path / "v1.csv", [kpm_row(1), kpm_row(2)]), catalog)

    report = await run(
        sessions, write_csv(tmp_path / "v2.csv", [kpm_row(1, Komponen=""), kpm_row(2)]), catalog
    )

    assert (report.updated, report.unchanged) == (1, 1)
    assert await komponen_of(sessions, "P-001") == []
    assert len(await komponen_of(sessions, "P-002")) == 1


async def test_a_file_without_a_komponen_column_leaves_komponen_alone(
    sessions: Sessions, catalog: KomponenCatalog, tmp_path: Path
) -> None:
    await run(sessions, write_csv(tmp_path / "v1.csv", [kpm_row(1), kpm_row(2)]), catalog)
    no_komponen = write_csv(
        tmp_path / "v2.csv",
        [kpm_row(1)[:-1], kpm_row(2, **{"Nama Pengurus": "Ibu Baru"})[:-1]],
        headers=HEADERS[:-1],
    )

    report = await run(sessions, no_komponen, catalog)

    assert (report.updated, report.unchanged) == (1, 1)
    assert await count(sessions, Komponen) == 2
    assert await komponen_of(sessions, "P-002") == [
        ("anak_sd", date(2015, 7, 1), date(2028, 7, 1)),
    ]


async def test_kpm_missing_from_a_later_file_are_kept(
    sessions: Sessions, catalog: KomponenCatalog, tmp_path: Path
) -> None:
    await run(sessions, write_csv(tmp_path / "v1.csv", [kpm_row(n) for n in (1, 2, 3)]), catalog)

    report = await run(sessions, write_csv(tmp_path / "v2.csv", [kpm_row(2), kpm_row(4)]), catalog)

    assert (report.imported, report.unchanged) == (1, 1)
    ids = await rows_of(sessions, select(Kpm.id_pkh).order_by(Kpm.id_pkh))
    assert [id_pkh for (id_pkh,) in ids] == ["P-001", "P-002", "P-003", "P-004"]
    assert await count(sessions, Komponen) == 4


async def test_regions_kelompok_and_pendamping_are_matched_when_written_differently(
    sessions: Sessions, catalog: KomponenCatalog, tmp_path: Path
) -> None:
    await run(sessions, SAMPLE, catalog)
    before = await table_counts(sessions)
    respelled = write_csv(tmp_path / "respelled.csv", [kpm_row(
        7, Kelompok=" MAWAR ", Desa="Desa Karangsari", Kecamatan="Kec. Sumbang",
        Kabupaten="KAB. BANYUMAS", Provinsi="Prov. Jateng", Pendamping="BUDI  santoso",
    )])

    report = await run(sessions, respelled, catalog)

    assert report.imported == 1
    assert await table_counts(sessions) == {**before, "kpm": 7, "komponen": 9}
    kelompok = await rows_of(
        sessions, select(Kelompok.name).join(Kpm, Kpm.kelompok_id == Kelompok.id)
        .where(Kpm.id_pkh == "P-007")
    )
    assert kelompok == [("Mawar",)]


async def test_a_kelompok_given_to_another_pendamping_is_reassigned(
    sessions: Sessions, catalog: KomponenCatalog, tmp_path: Path
) -> None:
    await run(sessions, write_csv(tmp_path / "v1.csv", [kpm_row(1), kpm_row(2)]), catalog)

    report = await run(sessions, write_csv(tmp_path / "v2.csv", [
        kpm_row(1, Pendamping="Ani Wijaya"), kpm_row(2, Pendamping="Ani Wijaya"),
    ]), catalog)

    assert (report.unchanged, report.rejected) == (2, [])
    pendamping = await rows_of(
        sessions, select(Staff.name).join(Kelompok, Kelompok.pendamping_id == Staff.id)
    )
    assert pendamping == [("Ani Wijaya",)]
    assert await count(sessions, Staff) == 2  # Budi is kept, only the kelompok moved
    audit = await rows_of(sessions, select(AuditLog.detail).order_by(AuditLog.id))
    assert audit[-1][0]["kelompok_reassigned"] == 1


async def test_rows_spread_over_many_batches_are_matched_like_one(
    sessions: Sessions, catalog: KomponenCatalog, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(roster_module, "BATCH_ROWS", 3)
    rows = [kpm_row(n, Kelompok=f"K{n % 4}", Desa=f"Desa {n % 2}") for n in range(1, 12)]
    rows.append(kpm_row(5, NIK="3302011501999995"))

    first = await run(sessions, write_csv(tmp_path / "r.csv", rows), catalog)
    second = await run(sessions, write_csv(tmp_path / "r.csv", rows), catalog)

    assert (first.imported, [(bad.row_number, bad.reasons) for bad in first.rejected]) == (
        11, [(13, (reason("roster.id_pkh_duplicate", column="ID PKH", value="P-005", first=6),))]
    )
    assert (second.imported, second.updated, second.unchanged) == (0, 0, 11)
    assert await table_counts(sessions) == {
        "region": 5, "staff": 1, "kelompok": 4, "kpm": 11, "komponen": 11,
    }


async def test_progress_is_reported_every_thousand_rows_and_at_the_end(
    sessions: Sessions, catalog: KomponenCatalog, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "r.csv", [kpm_row(n, Kelompok=f"K{n // 20}")
                                          for n in range(1, 2501)])
    seen: list[int] = []

    report = await run(sessions, path, catalog, progress=seen.append)

    assert seen == [1000, 2000, 2500]
    assert count_rows(path) == 2500
    assert report.imported == 2500
    assert await count(sessions, Kelompok) == 126


# -- other files --------------------------------------------------------------------------------


async def test_a_workbook_with_numbers_typed_as_numbers_is_imported(
    sessions: Sessions, catalog: KomponenCatalog, tmp_path: Path
) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Data KPM"
    sheet.append(["id pkh", "NAMA KPM", "nik pengurus", "WA", "nama kelompok",
                  "desa/kelurahan", "KECAMATAN", "kabupaten/kota", "provinsi",
                  "nama pendamping", "komponen"])
    sheet.append([33020001, "Siti Aminah", 3302011501800001, 81234567801, "Mawar",
                  "Karangsari", "Sumbang", "Kab. Banyumas", "Jawa Tengah", "Budi Santoso",
                  "SD:01/07/2015"])
    sheet.append(["33020002", "Sri Rahayu", "3302014402850002", "6281322223302", "Mawar",
                  "Karangsari", "Sumbang", "Banyumas", "Jawa Tengah", "Budi Santoso", None])
    workbook.save(tmp_path / "roster.xlsx")

    report = await run(sessions, tmp_path / "roster.xlsx", catalog)

    assert (report.imported, report.rejected) == (2, [])
    kpm = await rows_of(sessions, select(Kpm.id_pkh, Kpm.nik, Kpm.phone).order_by(Kpm.id_pkh))
    assert [tuple(row) for row in kpm] == [
        ("33020001", "3302011501800001", "+6281234567801"),
        ("33020002", "3302014402850002", "+6281322223302"),
    ]
    assert await komponen_of(sessions, "33020001") == [
        ("anak_sd", date(2015, 7, 1), date(2028, 7, 1)),
    ]


async def test_a_missing_required_column_is_a_file_error_and_nothing_is_written(
    sessions: Sessions, catalog: KomponenCatalog, tmp_path: Path
) -> None:
    headers = [header for header in HEADERS if header not in ("NIK", "Pendamping")]
    path = write_csv(tmp_path / "tanpa_nik.csv", [["P-1"] * len(headers)], headers=headers)

    with pytest.raises(RosterFileError) as raised:
        await run(sessions, path, catalog)

    assert say(t, raised.value.reason) == t(
        "roster.file_missing_columns", source="tanpa_nik.csv", columns="nik, pendamping",
        found='"ID PKH", "Nama Pengurus", "No HP", "Kelompok", "Desa", "Kecamatan", '
              '"Kabupaten", "Provinsi", "Komponen"',
    )
    assert await table_counts(sessions) == {
        "region": 0, "staff": 0, "kelompok": 0, "kpm": 0, "komponen": 0,
    }


async def test_a_database_error_rolls_everything_back_and_hides_the_row_values(
    sessions: Sessions, catalog: KomponenCatalog, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def refuse(self: Any, rows: list[Any]) -> None:
        raise IntegrityError("INSERT INTO kpm ...", [list(row) for row in rows], Exception("no"))

    monkeypatch.setattr(BulkInsert, "__call__", refuse)

    with pytest.raises(IntegrityError) as raised:
        await run(sessions, write_csv(tmp_path / "r.csv", [kpm_row(1)]), catalog)

    assert "3302011501000001" not in str(raised.value)
    assert "parameters hidden" in str(raised.value)
    assert await table_counts(sessions) == {
        "region": 0, "staff": 0, "kelompok": 0, "kpm": 0, "komponen": 0,
    }


async def test_the_rejects_file_cannot_overwrite_the_roster_being_read(
    sessions: Sessions, catalog: KomponenCatalog, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "r.csv", [kpm_row(1)])

    with pytest.raises(RosterFileError) as raised:
        await run(sessions, path, catalog, rejects_path=tmp_path / "." / "r.csv")

    assert raised.value.reason == reason("roster.file_rejects_is_roster", file="r.csv")

    assert path.read_text(encoding="utf-8").startswith("ID PKH,")
    assert await count(sessions, Kpm) == 0


# -- status and graduation date -----------------------------------------------------------------

STATUS_HEADERS = [*HEADERS, "Status KPM", "Tgl Graduasi"]


def status_row(number: int, status: str = "", graduated: str = "", **changes: str) -> list[str]:
    return [*kpm_row(number, **changes), status, graduated]


async def statuses(sessions: Sessions) -> list[tuple[str, KpmStatus, date | None]]:
    rows = await rows_of(
        sessions, select(Kpm.id_pkh, Kpm.status, Kpm.graduated_on).order_by(Kpm.id_pkh)
    )
    return [tuple(row) for row in rows]


async def test_new_kpm_are_imported_with_their_status_and_graduation_date(
    sessions: Sessions, catalog: KomponenCatalog, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "r.csv", [
        status_row(1, "Graduasi Sejahtera Mandiri", "31/03/2025"),
        status_row(2, "alamiah"),
        status_row(3, " Non Aktif "),
        status_row(4),
        status_row(5, "graduasi_alamiah", "2025-07-01"),
    ], headers=STATUS_HEADERS)

    report = await run(sessions, path, catalog)

    assert (report.imported, report.rejected) == (5, [])
    assert await statuses(sessions) == [
        ("P-001", KpmStatus.GRADUASI_MANDIRI, date(2025, 3, 31)),
        ("P-002", KpmStatus.GRADUASI_ALAMIAH, date(2025, 7, 1)),  # the import day
        ("P-003", KpmStatus.KELUAR, None),
        ("P-004", KpmStatus.AKTIF, None),
        ("P-005", KpmStatus.GRADUASI_ALAMIAH, date(2025, 7, 1)),
    ]


async def test_a_kpm_graduating_without_a_date_gets_the_import_day_in_jakarta(
    sessions: Sessions, catalog: KomponenCatalog, tmp_path: Path
) -> None:
    await run(sessions, write_csv(tmp_path / "v1.csv", [kpm_row(1), kpm_row(2)]), catalog)
    evening = datetime(2025, 8, 31, 18, 30, tzinfo=UTC)  # 1 September, 01:30 WIB
    second = write_csv(tmp_path / "v2.csv", [status_row(1, "Graduasi Alamiah"), status_row(2)],
                       headers=STATUS_HEADERS)

    report = await import_roster(sessions, second, catalog=catalog, now=evening)

    assert (report.imported, report.updated, report.unchanged) == (0, 1, 1)
    assert await statuses(sessions) == [
        ("P-001", KpmStatus.GRADUASI_ALAMIAH, date(2025, 9, 1)),
        ("P-002", KpmStatus.AKTIF, None),
    ]
    updated = await rows_of(sessions, select(Kpm.updated_at).order_by(Kpm.id_pkh))
    assert [when for (when,) in updated] == [evening, NOW]


async def test_reimporting_the_same_statuses_leaves_them_and_their_dates_unchanged(
    sessions: Sessions, catalog: KomponenCatalog, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "r.csv", [
        status_row(1, "graduasi mandiri", "2025-02-01"), status_row(2, "alamiah"),
        status_row(3, "keluar"), status_row(4, "aktif"), status_row(5),
    ], headers=STATUS_HEADERS)
    await run(sessions, path, catalog)
    before = await statuses(sessions)

    report = await import_roster(
        sessions, path, catalog=catalog, now=datetime(2025, 9, 1, 3, 0, tzinfo=UTC)
    )

    assert (report.imported, report.updated, report.unchanged) == (0, 0, 5)
    assert await statuses(sessions) == before
    assert before[1] == ("P-002", KpmStatus.GRADUASI_ALAMIAH, date(2025, 7, 1))  # not 1 Sept
    updated = await rows_of(sessions, select(Kpm.updated_at))
    assert {when for (when,) in updated} == {NOW}


async def test_leaving_graduasi_clears_the_date_and_a_new_graduasi_or_date_sets_it(
    sessions: Sessions, catalog: KomponenCatalog, tmp_path: Path
) -> None:
    await run(sessions, write_csv(tmp_path / "v1.csv", [
        status_row(n, "graduasi alamiah", "2025-01-15") for n in range(1, 6)
    ], headers=STATUS_HEADERS), catalog)
    later = datetime(2025, 9, 1, 3, 0, tzinfo=UTC)

    report = await import_roster(sessions, write_csv(tmp_path / "v2.csv", [
        status_row(1, "Aktif"),
        status_row(2, "dikeluarkan"),
        status_row(3, "graduasi mandiri"),  # another graduasi: dated the import day
        status_row(4, "graduasi alamiah", "20-02-2025"),  # a corrected date
        status_row(5, "graduasi alamiah"),  # no date given: the stored one is kept
    ], headers=STATUS_HEADERS), catalog=catalog, now=later)

    assert (report.updated, report.unchanged, report.rejected) == (4, 1, [])
    assert await statuses(sessions) == [
        ("P-001", KpmStatus.AKTIF, None),
        ("P-002", KpmStatus.KELUAR, None),
        ("P-003", KpmStatus.GRADUASI_MANDIRI, date(2025, 9, 1)),
        ("P-004", KpmStatus.GRADUASI_ALAMIAH, date(2025, 2, 20)),
        ("P-005", KpmStatus.GRADUASI_ALAMIAH, date(2025, 1, 15)),
    ]


async def test_a_file_says_why_kpm_left_and_who_moved_and_their_reminders_stop(
    sessions: Sessions, catalog: KomponenCatalog, tmp_path: Path
) -> None:
    await run(sessions, write_csv(tmp_path / "v1.csv", [
        status_row(n) for n in range(1, 6)
    ], headers=STATUS_HEADERS), catalog)
    ids = dict(await rows_of(sessions, select(Kpm.id_pkh, Kpm.id)))
    values = {"kelompok": "Mawar", "date": "Selasa, 9 September 2025", "time": "09.00 WIB",
              "place": "Balai Desa Karangsari", "pendamping": "Ani", "penerima": "Ibu Murni"}
    async with sessions.begin() as session:  # a reminder waits for each of them
        await enqueue(session, [
            Enqueue(channel="whatsapp", address=f"whatsapp:+62812345600{n:02d}",
                    kind="meeting_reminder", payload={"key": "reminder.kpm", "values": values},
                    priority=Priority.REMINDER, dedupe_key=f"reminder:7:v1:1:{ids[f'P-00{n}']}")
            for n in range(1, 6)
        ], now=NOW)
    later = datetime(2025, 9, 1, 3, 0, tzinfo=UTC)

    report = await import_roster(sessions, write_csv(tmp_path / "v2.csv", [
        status_row(1, "Meninggal Dunia"),
        status_row(2, "pindah"),
        status_row(3, "Tidak Memenuhi Syarat"),
        status_row(4, Kelompok="Melati"),  # the same KPM, another kelompok
        status_row(5),
    ], headers=STATUS_HEADERS), catalog=catalog, now=later)

    assert (report.updated, report.moved, report.left, report.unchanged) == (4, 1, 3, 1)
    left = await rows_of(sessions, select(Kpm.id_pkh, Kpm.status, Kpm.exit_reason, Kpm.left_on)
                         .order_by(Kpm.id_pkh))
    assert [tuple(row) for row in left] == [
        ("P-001", KpmStatus.KELUAR, ExitReason.MENINGGAL, date(2025, 9, 1)),
        ("P-002", KpmStatus.KELUAR, ExitReason.PINDAH, date(2025, 9, 1)),
        ("P-003", KpmStatus.KELUAR, ExitReason.TIDAK_MEMENUHI_SYARAT, date(2025, 9, 1)),
        ("P-004", KpmStatus.AKTIF, None, None),
        ("P-005", KpmStatus.AKTIF, None, None),
    ]
    waiting = await rows_of(sessions, select(Outbox.dedupe_key, Outbox.status, Outbox.error)
                            .order_by(Outbox.id))
    assert [(status, error) for _, status, error in waiting] == [
        (OutboxStatus.CANCELLED, LEFT), (OutboxStatus.CANCELLED, LEFT),
        (OutboxStatus.CANCELLED, LEFT), (OutboxStatus.CANCELLED, MOVED),
        (OutboxStatus.PENDING, None),
    ]

    again = await import_roster(sessions, write_csv(tmp_path / "v3.csv", [
        status_row(1, "keluar"),  # the reason given before is kept, and the day
    ], headers=STATUS_HEADERS), catalog=catalog, now=datetime(2025, 10, 1, 3, tzinfo=UTC))
    assert (again.updated, again.left) == (0, 0)
    kept = await rows_of(sessions, select(Kpm.exit_reason, Kpm.left_on)
                         .where(Kpm.id == ids["P-001"]))
    assert [tuple(row) for row in kept] == [(ExitReason.MENINGGAL, date(2025, 9, 1))]


async def test_bad_statuses_and_graduation_dates_are_refused_naming_the_column(
    sessions: Sessions, catalog: KomponenCatalog, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "r.csv", [
        status_row(1, "lulus"),
        status_row(2, "graduasi mandiri", "31/02/2025"),
        status_row(3, "alamiah", "2025-07-02"),
        status_row(4, "aktif", "2025-03-01"),
        status_row(5, "", "2025-03-01"),
        status_row(6, "mandiri", "2025-06-30"),
    ], headers=STATUS_HEADERS)

    report = await run(sessions, path, catalog)

    date_column = {"column": "Tgl Graduasi"}
    assert said(report) == [
        (2, t("roster.status_unknown", column="Status KPM", value="lulus")),
        (3, t("roster.graduation_date_bad", **date_column, value="31/02/2025",
              iso="2025-07-01", dmy="01/07/2025")),
        (4, t("roster.graduation_date_future", **date_column, value="2025-07-02",
              today="2025-07-01")),
        (5, t("roster.graduation_date_wrong_status", **date_column, value="aktif",
              status_column="Status KPM")),
        (6, t("roster.graduation_date_no_status", **date_column, status_column="Status KPM")),
    ]
    assert report.rejected[0].values["Status KPM"] == "lulus"
    assert await statuses(sessions) == [("P-006", KpmStatus.GRADUASI_MANDIRI, date(2025, 6, 30))]


async def test_a_file_without_the_status_columns_leaves_statuses_alone(
    sessions: Sessions, catalog: KomponenCatalog, tmp_path: Path
) -> None:
    await run(sessions, write_csv(tmp_path / "v1.csv", [
        status_row(1, "graduasi alamiah", "2025-01-15"), status_row(2, "keluar"),
    ], headers=STATUS_HEADERS), catalog)

    report = await run(sessions, write_csv(tmp_path / "v2.csv", [
        kpm_row(1, **{"Nama Pengurus": "Ibu Baru"}), kpm_row(2), kpm_row(3),
    ]), catalog)

    assert (report.imported, report.updated, report.unchanged) == (1, 1, 1)
    assert await statuses(sessions) == [
        ("P-001", KpmStatus.GRADUASI_ALAMIAH, date(2025, 1, 15)),
        ("P-002", KpmStatus.KELUAR, None),
        ("P-003", KpmStatus.AKTIF, None),
    ]


async def test_a_workbook_date_cell_is_read_as_the_graduation_date(
    sessions: Sessions, catalog: KomponenCatalog, tmp_path: Path
) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Status Kepesertaan", "Tgl Graduasi", *HEADERS])
    sheet.append(["Graduasi Alamiah", datetime(2025, 3, 31), *kpm_row(1)])
    sheet.append(["KELUAR", None, *kpm_row(2)])
    workbook.save(tmp_path / "roster.xlsx")

    report = await run(sessions, tmp_path / "roster.xlsx", catalog)

    assert (report.imported, report.rejected) == (2, [])
    assert await statuses(sessions) == [
        ("P-001", KpmStatus.GRADUASI_ALAMIAH, date(2025, 3, 31)),
        ("P-002", KpmStatus.KELUAR, None),
    ]
