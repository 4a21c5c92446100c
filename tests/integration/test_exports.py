"""Exports read back as a coordinator would open them: XLSX with openpyxl, CSV as Excel."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import date, datetime

import openpyxl
import pytest
import time_machine
from sqlalchemy import select
from typer.testing import CliRunner

from bot import export_command
from bot.cli import cli
from handlers.i18n import Translator
from models.db import create_engine, session_factory
from models.scope import kelompok_scope
from models.tables import AuditLog, Kelompok, Kpm, Region, Staff
from reporting import exports
from reporting.export_files import ExportFormat
from reporting.exports import ExportKind, ExportRequest, Period, write_export
from tests.cli_text import said
from tests.export_world import NOVEMBER, build_export_world
from tests.world import NOW, default_catalog

t = Translator("id")
ATTENDANCE_HEADERS = [
    "Tanggal pertemuan",
    "Kelompok",
    "Desa/Kelurahan",
    "Kecamatan",
    "Kabupaten/Kota",
    "Pendamping",
    "ID PKH",
    "Nama pengurus",
    "Kehadiran",
    "Keterangan",
    "Modul",
    "Sesi",
    "Dicatat pada",
    "Fasilitator",
]
KOMITMEN_HEADERS = [
    "Periode",
    "Kelompok",
    "Pendamping",
    "Nama pengurus",
    "ID PKH",
    "Komponen",
    "Tanggal lahir/persalinan",
    "Komitmen",
    "Hasil",
    "Alasan",
    "Dicatat oleh",
    "Dicatat pada",
]
KOMPONEN_LABELS = {kind: rule.label for kind, rule in default_catalog().rules.items()}


async def export(
    sessions,
    kind: ExportKind,
    *,
    staff_id: int | None = None,
    fmt: ExportFormat = ExportFormat.XLSX,
    period: tuple[date, date] = NOVEMBER,
    region_id: int | None = None,
) -> tuple[int, bytes]:
    async with sessions() as session:
        scope = select(Kelompok.id)
        if staff_id is not None:
            scope = kelompok_scope(await session.get(Staff, staff_id))
        request = ExportRequest(
            kind, Period(*period), scope, region_id=region_id, komponen_labels=KOMPONEN_LABELS
        )
        buffer = io.BytesIO()
        count = await write_export(session, request, buffer, fmt, t)
    return count, buffer.getvalue()


def xlsx_rows(content: bytes) -> list[dict[str, object]]:
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    header, *rows = sheet.iter_rows(values_only=True)
    return [dict(zip(header, row, strict=True)) for row in rows]


def csv_rows(content: bytes) -> list[dict[str, str]]:
    assert content.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))


async def test_attendance_has_one_row_per_mark_with_indonesian_headers_and_date_cells(
    sessions,
) -> None:
    await build_export_world(sessions)
    count, content = await export(sessions, ExportKind.ATTENDANCE)
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    assert [cell.value for cell in sheet[1]] == ATTENDANCE_HEADERS
    assert sheet["A1"].font.b and sheet.freeze_panes == "A2" and sheet.title == "Kehadiran"
    assert sheet["A2"].number_format == "DD/MM/YYYY" and sheet["M2"].number_format.startswith(
        "DD/MM/YYYY"
    )
    rows = xlsx_rows(content)
    assert count == len(rows) == 7  # the October meeting is left out
    rahayu = next(row for row in rows if row["Nama pengurus"] == "Siti Rahayu")
    assert rahayu == {
        "Tanggal pertemuan": datetime(2026, 11, 10),
        "Kelompok": "Kelompok Melati",
        "Desa/Kelurahan": "Sukamaju",
        "Kecamatan": "Sumber",
        "Kabupaten/Kota": "Sukamaju",
        "Pendamping": "Ani Suryani",
        "ID PKH": rahayu["ID PKH"],
        "Nama pengurus": "Siti Rahayu",
        "Kehadiran": "Izin",
        "Keterangan": "ke rumah sakit",
        "Modul": 2,
        "Sesi": 5,
        "Dicatat pada": datetime(2026, 11, 10, 10, 0),  # 03:00 UTC in Jakarta
        "Fasilitator": "Pendamping",
    }
    melati = {row["Nama pengurus"]: row["Kehadiran"] for row in rows if "Melati" in row["Kelompok"]}
    assert melati == {
        "Siti Aminah": "Hadir",
        "Siti Rahayu": "Izin",
        "Sri Wahyuni": "Sakit",
        "Dewi Lestari": "Alpa",
    }


async def test_the_csv_has_the_same_rows_for_indonesian_excel(sessions) -> None:
    await build_export_world(sessions)
    count, content = await export(sessions, ExportKind.ATTENDANCE, fmt=ExportFormat.CSV)
    assert content.split(b"\r\n")[0].decode("utf-8-sig") == ";".join(ATTENDANCE_HEADERS)
    rows = csv_rows(content)
    assert count == len(rows) == 7
    aminah = next(row for row in rows if row["Nama pengurus"] == "Siti Aminah")
    assert aminah["Tanggal pertemuan"] == "10/11/2026"
    assert aminah["Dicatat pada"] == "10/11/2026 10:00" and aminah["Kehadiran"] == "Hadir"


async def test_timestamps_are_shown_in_each_kelompok_s_own_time_zone(sessions) -> None:
    await build_export_world(sessions)
    _, content = await export(sessions, ExportKind.ATTENDANCE)
    by_group = {row["Kelompok"]: row for row in xlsx_rows(content)}
    assert by_group["Kelompok Anggrek"]["Dicatat pada"] == datetime(2026, 11, 12, 9, 30)  # WITA
    papua = by_group["Kelompok Cendrawasih"]  # WIT: recorded after midnight, 1 December
    assert papua["Tanggal pertemuan"] == datetime(2026, 11, 30)
    assert papua["Dicatat pada"] == datetime(2026, 12, 1, 1, 30)
    assert papua["Kabupaten/Kota"] == "Jayapura" and papua["Pendamping"] == "Yakob Wenda"


async def test_cases_of_a_period_are_those_opened_on_its_local_dates(sessions) -> None:
    world = await build_export_world(sessions)
    count, content = await export(sessions, ExportKind.CASES)
    rows = xlsx_rows(content)
    assert count == 4
    # Opened 31 October 18:00 UTC: 1 November in Jakarta. Hasnah's: 00:30 in Makassar.
    # Ratna Sari's (23:30 in Jakarta) and Yosina's (1 December in Jayapura) are left out.
    assert {row["Nama pengurus"] for row in rows} == {
        "Sumarni",
        "Siti Budiarti",
        "Kurniasih",
        "Hasnah",
    }
    budiarti = next(row for row in rows if row["Nama pengurus"] == "Siti Budiarti")
    assert budiarti["Dibuka"] == datetime(2026, 11, 1, 1, 0)
    assert budiarti["Ditutup"] == datetime(2026, 11, 3, 12, 0)
    assert (budiarti["Kategori"], budiarti["Tingkat"], budiarti["Status"]) == (
        "Perlindungan anak",
        "Mendesak",
        "Selesai",
    )
    assert budiarti["Kelompok"] == "Kelompok Kenanga" and budiarti["Pendamping"] == "Budi Santoso"
    sumarni = next(row for row in rows if row["Nama pengurus"] == "Sumarni")
    assert sumarni["Status"] == "Baru" and sumarni["Tindak lanjut"] == datetime(2026, 11, 20)
    assert sumarni["Uraian"] == '=HYPERLINK("http://contoh")'  # kept as text, not a formula
    assert isinstance(sumarni["Nomor kasus"], int) and sumarni["Ditutup"] is None
    assert next(r for r in rows if r["Nama pengurus"] == "Kurniasih")["Kategori"] == "bencana_alam"
    hasnah = next(row for row in rows if row["Nama pengurus"] == "Hasnah")
    assert hasnah["Dibuka"] == datetime(2026, 11, 1, 0, 30)
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    csv_sumarni = next(
        row
        for row in csv_rows((await export(sessions, ExportKind.CASES, fmt=ExportFormat.CSV))[1])
        if row["Nama pengurus"] == "Sumarni"
    )
    assert csv_sumarni["Uraian"] == '\'=HYPERLINK("http://contoh")'
    assert world.hasnah


async def test_graduation_lists_kpm_graduated_assessed_or_ending_in_the_period(sessions) -> None:
    await build_export_world(sessions)
    count, content = await export(sessions, ExportKind.GRADUATION)
    rows = {row["Nama"]: row for row in xlsx_rows(content)}
    assert count == 4
    assert set(rows) == {"Nur Hasanah", "Yuli Astuti", "Ratna Sari", "Hasnah"}
    assert rows["Nur Hasanah"]["Status"] == "Graduasi sejahtera mandiri"
    assert rows["Nur Hasanah"]["Tanggal graduasi"] == datetime(2026, 11, 15)
    assert rows["Yuli Astuti"]["Komponen terakhir berakhir"] == datetime(2026, 11, 20)
    assert rows["Yuli Astuti"]["Skor penilaian terakhir"] is None
    ratna = rows["Ratna Sari"]  # the latest assessment up to the period's end, not December's
    assert (ratna["Skor penilaian terakhir"], ratna["Ambang"]) == (0.8, 0.7)
    assert ratna["Dinilai pada"] == datetime(2026, 11, 18, 10, 0) and ratna["Status"] == "Aktif"
    assert rows["Hasnah"]["Dinilai pada"] == datetime(2026, 11, 1, 0, 30)  # WITA
    _, december = await export(
        sessions, ExportKind.GRADUATION, period=(date(2026, 12, 1), date(2026, 12, 31))
    )
    assert [row["Skor penilaian terakhir"] for row in xlsx_rows(december)] == [0.9]


async def test_commitment_checks_have_one_row_per_check_of_the_period_with_labels(
    sessions,
) -> None:
    await build_export_world(sessions)
    count, content = await export(sessions, ExportKind.KOMITMEN)
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    assert [cell.value for cell in sheet[1]] == KOMITMEN_HEADERS
    assert sheet.title == "Verifikasi komitmen" and sheet["G2"].number_format == "DD/MM/YYYY"
    rows = xlsx_rows(content)
    assert count == len(rows) == 4  # Siti Aminah's October and December checks left out
    aminah = next(row for row in rows if row["Nama pengurus"] == "Siti Aminah")
    assert aminah == {
        "Periode": "November 2026",
        "Kelompok": "Kelompok Melati",
        "Pendamping": "Ani Suryani",
        "Nama pengurus": "Siti Aminah",
        "ID PKH": aminah["ID PKH"],
        "Komponen": "Anak SD",
        "Tanggal lahir/persalinan": datetime(2016, 3, 1),
        "Komitmen": "Hadir di sekolah",
        "Hasil": "Tidak memenuhi",
        "Alasan": "Sakit",
        "Dicatat oleh": "Ani Suryani",
        "Dicatat pada": datetime(2026, 11, 21, 0, 30),  # 17:30 UTC the day before, in Jakarta
    }
    by_name = {row["Nama pengurus"]: row for row in rows}
    yuli = by_name["Yuli Astuti"]  # recorded by a staff member since removed
    assert (yuli["Hasil"], yuli["Alasan"], yuli["Dicatat oleh"]) == (
        "Tidak memenuhi",
        "Pindah sekolah",
        None,
    )
    hasnah = by_name["Hasnah"]
    assert (hasnah["Komponen"], hasnah["Komitmen"], hasnah["Hasil"]) == (
        "Anak usia dini",
        "Timbang dan imunisasi",
        "Memenuhi",
    )
    assert hasnah["Alasan"] is None and hasnah["Dicatat oleh"] == "Citra Lestari"
    assert hasnah["Dicatat pada"] == datetime(2026, 11, 15, 9, 0)  # WITA
    assert by_name["Yosina Kogoya"]["Dicatat pada"] == datetime(2026, 11, 30, 1, 0)  # WIT


async def test_a_range_takes_every_verification_period_it_overlaps(sessions) -> None:
    world = await build_export_world(sessions)
    _, content = await export(
        sessions,
        ExportKind.KOMITMEN,
        fmt=ExportFormat.CSV,
        staff_id=world.base.dewi,
        period=(date(2026, 10, 15), date(2026, 11, 10)),
    )
    rows = csv_rows(content)
    assert [(row["Periode"], row["Nama pengurus"], row["Hasil"]) for row in rows] == [
        ("Oktober 2026", "Siti Aminah", "Memenuhi"),
        ("November 2026", "Siti Aminah", "Tidak memenuhi"),
        ("November 2026", "Yuli Astuti", "Tidak memenuhi"),
    ]
    assert rows[1]["Tanggal lahir/persalinan"] == "01/03/2016"
    assert rows[1]["Dicatat pada"] == "21/11/2026 00:30"
    _, december = await export(
        sessions, ExportKind.KOMITMEN, period=(date(2026, 12, 31), date(2026, 12, 31))
    )
    assert [row["Periode"] for row in xlsx_rows(december)] == ["Desember 2026"]


async def test_configured_commitment_and_reason_labels_are_shown(sessions) -> None:
    from models.rules.commitments import Commitment, CommitmentRules

    await build_export_world(sessions)
    rules = CommitmentRules(
        (Commitment("hadir_sekolah", "Kehadiran sekolah", ("anak_sd",)),),
        reasons=(("sakit", "Anak sakit"),),
    )
    async with sessions() as session:
        request = ExportRequest(
            ExportKind.KOMITMEN, Period(*NOVEMBER), select(Kelompok.id), commitments=rules
        )
        buffer = io.BytesIO()
        await write_export(session, request, buffer, ExportFormat.XLSX, t)
    rows = {row["Nama pengurus"]: row for row in xlsx_rows(buffer.getvalue())}
    aminah = rows["Siti Aminah"]
    assert (aminah["Komitmen"], aminah["Alasan"]) == ("Kehadiran sekolah", "Anak sakit")
    # Not configured (any more): shown as stored, never dropped.
    assert (rows["Hasnah"]["Komitmen"], rows["Yuli Astuti"]["Alasan"]) == (
        "timbang_imunisasi",
        "pindah_sekolah",
    )
    assert aminah["Komponen"] == "anak_sd"  # no komponen labels given


@pytest.mark.parametrize("kind", list(ExportKind))
async def test_a_coordinator_gets_only_the_rows_of_their_own_kabupaten(sessions, kind) -> None:
    world = await build_export_world(sessions)
    _, everything = await export(sessions, kind)
    _, dewi = await export(sessions, kind, staff_id=world.base.dewi)
    _, rudi = await export(sessions, kind, staff_id=world.rudi)

    def names(content: bytes) -> set[str]:
        return {str(row.get("Nama pengurus") or row.get("Nama")) for row in xlsx_rows(content)}

    assert "Hasnah" not in names(dewi) and names(dewi)
    assert names(rudi) == {"Hasnah"}
    assert names(dewi) | names(rudi) | {"Yosina Kogoya"} >= names(everything)


async def test_a_supervisor_gets_only_the_groups_of_the_pendamping_they_supervise(
    sessions,
) -> None:
    world = await build_export_world(sessions)
    _, attendance = await export(sessions, ExportKind.ATTENDANCE, staff_id=world.sari)
    _, cases = await export(sessions, ExportKind.CASES, staff_id=world.sari)
    assert {row["Kelompok"] for row in xlsx_rows(attendance)} == {"Kelompok Kenanga"}
    assert [row["Nama pengurus"] for row in xlsx_rows(cases)] == ["Siti Budiarti"]


async def test_a_region_narrows_the_export_to_its_groups(sessions) -> None:
    await build_export_world(sessions)
    async with sessions() as session:
        papua = await session.scalar(select(Region.id).where(Region.code == "91"))
        sumber = await session.scalar(select(Region.id).where(Region.name == "Sumber"))
    _, content = await export(sessions, ExportKind.ATTENDANCE, region_id=papua)
    assert [row["Nama pengurus"] for row in xlsx_rows(content)] == ["Yosina Kogoya"]
    count, _ = await export(sessions, ExportKind.ATTENDANCE, region_id=sumber)
    assert count == 5


async def test_a_period_without_data_writes_the_header_only(sessions) -> None:
    await build_export_world(sessions)
    count, content = await export(
        sessions,
        ExportKind.CASES,
        fmt=ExportFormat.CSV,
        period=(date(2025, 1, 1), date(2025, 1, 31)),
    )
    assert count == 0 and csv_rows(content) == []
    assert "Nomor kasus;Dibuka" in content.decode("utf-8-sig")


async def test_no_nik_is_written_in_any_export(sessions) -> None:
    await build_export_world(sessions)
    async with sessions() as session:
        niks = set(await session.scalars(select(Kpm.nik)))
    for kind in ExportKind:
        for fmt in ExportFormat:
            _, content = await export(
                sessions, kind, fmt=fmt, period=(date(2020, 1, 1), NOVEMBER[1])
            )
            rows = xlsx_rows(content) if fmt is ExportFormat.XLSX else csv_rows(content)
            values = {str(value) for row in rows for value in row.values()}
            assert rows and not any(nik in value for nik in niks for value in values)


async def test_rows_are_streamed_in_batches_and_each_is_written_once(sessions, monkeypatch) -> None:
    await build_export_world(sessions)
    monkeypatch.setattr(exports, "BATCH", 2)
    count, content = await export(sessions, ExportKind.ATTENDANCE, fmt=ExportFormat.CSV)
    rows = csv_rows(content)
    assert count == len(rows) == 7
    assert len({(row["ID PKH"], row["Tanggal pertemuan"]) for row in rows}) == 7
    assert [row["Tanggal pertemuan"][:2] for row in rows] == sorted(
        row["Tanggal pertemuan"][:2] for row in rows
    )


def test_every_export_text_is_in_the_catalog() -> None:
    missing = sorted(key for key in exports.catalog_keys() if key not in t.known_keys())
    assert missing == []


# --- the command line ------------------------------------------------------------------------


def seed(db_url: str):
    async def run():
        engine = create_engine(db_url)
        try:
            return await build_export_world(session_factory(engine))
        finally:
            await engine.dispose()

    return asyncio.run(run())


@pytest.fixture
def folder(tmp_path):
    """An empty folder for the exports (the SQLite database lives in ``tmp_path``)."""
    path = tmp_path / "exports"
    path.mkdir()
    return path


def invoke(db_url: str, *args: str):
    env = {"PENDAMPING_DATABASE_URL": db_url, "PENDAMPING_CONFIG": "", "COLUMNS": "200"}
    return CliRunner().invoke(cli, list(args), env=env)


def test_the_cli_writes_an_xlsx_of_every_group_and_audits_it(db_url: str, folder) -> None:
    seed(db_url)
    target = folder / "kehadiran.xlsx"
    result = invoke(
        db_url,
        "export",
        "attendance",
        "--out",
        str(target),
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-30",
    )
    assert result.exit_code == 0, result.output
    assert said(
        "cli.export.written", rows=7, path=target, kind="attendance", start="2026-11-01",
        end="2026-11-30",
    ).search(" ".join(result.output.split())), result.output
    assert len(xlsx_rows(target.read_bytes())) == 7
    assert [p.name for p in folder.iterdir()] == ["kehadiran.xlsx"]  # no temporary file left

    async def audited():
        engine = create_engine(db_url)
        try:
            async with session_factory(engine)() as session:
                return (await session.execute(select(AuditLog.actor, AuditLog.action))).all()
        finally:
            await engine.dispose()

    assert ("cli", "export.attendance") in asyncio.run(audited())


def test_the_cli_writes_a_csv_of_one_region_named_by_its_code(db_url: str, folder) -> None:
    seed(db_url)
    target = folder / "kasus.CSV"
    result = invoke(
        db_url,
        "export",
        "cases",
        "--out",
        str(target),
        "--region",
        "73",
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-30",
    )
    assert result.exit_code == 0, result.output
    assert [row["Nama pengurus"] for row in csv_rows(target.read_bytes())] == ["Hasnah"]
    assert said(
        "cli.export.written", rows=1, kind="cases", start="2026-11-01", end="2026-11-30"
    ).search(" ".join(result.output.split())), result.output


def test_the_default_period_is_the_current_local_month_so_far(db_url: str, folder) -> None:
    seed(db_url)
    target = folder / "hadir.csv"
    with time_machine.travel(NOW, tick=False):  # 22 November 2026, 10:00 in Jakarta
        result = invoke(db_url, "export", "attendance", "--out", str(target))
    assert result.exit_code == 0, result.output
    assert said(
        "cli.export.written", rows=6, kind="attendance", start="2026-11-01", end="2026-11-22"
    ).search(" ".join(result.output.split())), result.output
    assert len(csv_rows(target.read_bytes())) == 6  # Papua's 30 November meeting is later


def test_the_cli_exports_commitment_checks_with_the_configured_labels(db_url: str, folder) -> None:
    seed(db_url)
    target = folder / "komitmen.csv"
    result = invoke(
        db_url,
        "export",
        "komitmen",
        "--out",
        str(target),
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-30",
    )
    assert result.exit_code == 0, result.output
    assert said(
        "cli.export.written", rows=4, kind="komitmen", start="2026-11-01", end="2026-11-30"
    ).search(" ".join(result.output.split())), result.output
    rows = {row["Nama pengurus"]: row for row in csv_rows(target.read_bytes())}
    assert set(rows) == {"Siti Aminah", "Yuli Astuti", "Hasnah", "Yosina Kogoya"}
    aminah = rows["Siti Aminah"]
    assert (aminah["Periode"], aminah["Komponen"], aminah["Komitmen"], aminah["Alasan"]) == (
        "November 2026",
        "Anak SD",
        "Hadir di sekolah",
        "Sakit",
    )


def test_an_unknown_suffix_is_one_line_naming_the_option_and_nothing_is_written(
    db_url: str, folder
) -> None:
    result = invoke(db_url, "export", "cases", "--out", str(folder / "kasus.txt"))
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines == [t("cli.error", message=t("cli.export.bad_suffix", name="kasus.txt"))]
    assert "--out" in lines[0] and ".xlsx" in lines[0] and ".csv" in lines[0]
    assert list(folder.iterdir()) == []


def test_an_ambiguous_region_or_reversed_dates_are_refused(db_url: str, folder) -> None:
    seed(db_url)
    target = folder / "x.xlsx"
    ambiguous = invoke(db_url, "export", "cases", "--out", str(target), "--region", "Sukamaju")
    assert ambiguous.exit_code == 1
    assert said("cli.export.ambiguous_region", region="Sukamaju").search(ambiguous.output)
    reversed_ = invoke(
        db_url,
        "export",
        "cases",
        "--out",
        str(target),
        "--from",
        "2026-11-30",
        "--to",
        "2026-11-01",
    )
    assert reversed_.exit_code == 1
    assert t("cli.error", message=t("cli.export.reversed")) in reversed_.output
    assert list(folder.iterdir()) == []


def test_a_failure_while_writing_leaves_the_old_file_and_no_partial_one(
    db_url: str, folder, monkeypatch
) -> None:
    seed(db_url)
    target = folder / "kasus.xlsx"
    target.write_bytes(b"last week's export")

    async def disk_full(session, request, out, fmt, translate) -> int:
        out.write(b"PK\x03\x04 half a workbook")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export_command, "write_export", disk_full)
    result = invoke(db_url, "export", "cases", "--out", str(target))
    assert result.exit_code == 1
    assert t("cli.error", message="No space left on device") in result.output
    assert target.read_bytes() == b"last week's export"
    assert [p.name for p in folder.iterdir()] == ["kasus.xlsx"]
