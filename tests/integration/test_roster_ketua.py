"""The roster's ``ketua`` column: the ketua kelompok set from the file, counted in the
summary, and a second row claiming one kelompok refused with its reason."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from models.rules.komponen import KomponenCatalog
from models.tables import Kelompok, Kpm
from tests.integration.test_roster_import import (
    HEADERS,
    Sessions,
    catalog,  # noqa: F401 (the fixture)
    kpm_row,
    rows_of,
    run,
    said,
    t,
    write_csv,
)

WITH_KETUA = [*HEADERS, "Ketua"]


def row(number: int, ketua: str = "", **changes: str) -> list[str]:
    return [*kpm_row(number, **changes), ketua]


async def ketua_of(sessions: Sessions) -> dict[str, str | None]:
    """Each kelompok's ketua by name."""
    rows = await rows_of(
        sessions,
        select(Kelompok.name, Kpm.nama_pengurus)
        .outerjoin(Kpm, Kpm.id == Kelompok.ketua_kpm_id)
        .order_by(Kelompok.name),
    )
    return {kelompok: ketua for kelompok, ketua in rows}


async def test_the_ketua_column_sets_each_kelompok_s_ketua_and_the_summary_counts_them(
    sessions: Sessions, catalog: KomponenCatalog, tmp_path: Path  # noqa: F811
) -> None:
    path = write_csv(tmp_path / "roster.csv", [
        row(1), row(2, "ya"), row(3, "Y"),
        row(4, Kelompok="Melati"), row(5, "1", Kelompok="Melati"),
        row(6, "", Kelompok="Anggrek"),
    ], headers=WITH_KETUA)
    report = await run(sessions, path, catalog)
    assert said(report) == [(4, t(
        "roster.ketua_duplicate", column="Ketua", kelompok="Mawar", first=3,
    ))]
    assert (report.imported, report.ketua_named, report.ketua_changed) == (5, 2, 2)
    assert await ketua_of(sessions) == {
        "Anggrek": None, "Mawar": "Ibu Nomor 2", "Melati": "Ibu Nomor 5",
    }

    again = await run(sessions, path, catalog)  # the same file: nothing changes
    assert (again.ketua_named, again.ketua_changed) == (2, 0)
    other = write_csv(tmp_path / "other.csv", [row(1, "ya"), row(2, "tidak")],
                      headers=WITH_KETUA)
    changed = await run(sessions, other, catalog)
    assert (changed.ketua_named, changed.ketua_changed) == (1, 1)
    assert (await ketua_of(sessions))["Mawar"] == "Ibu Nomor 1"
    without = write_csv(tmp_path / "without.csv", [kpm_row(3)])  # no column: left alone
    assert (await run(sessions, without, catalog)).ketua_named == 0
    assert (await ketua_of(sessions))["Mawar"] == "Ibu Nomor 1"


async def test_an_unreadable_ketua_cell_or_a_ketua_who_left_is_refused_naming_the_column(
    sessions: Sessions, catalog: KomponenCatalog, tmp_path: Path  # noqa: F811
) -> None:
    headers = [*WITH_KETUA, "Status"]
    path = write_csv(tmp_path / "roster.csv", [
        [*row(1, "mungkin"), ""], [*row(2, "ya"), "meninggal"], [*row(3, "ya"), "aktif"],
    ], headers=headers)
    report = await run(sessions, path, catalog)
    assert said(report) == [
        (2, t("roster.ketua_unknown", column="Ketua", value="mungkin")),
        (3, t("roster.ketua_not_active", column="Ketua")),
    ]
    assert await ketua_of(sessions) == {"Mawar": "Ibu Nomor 3"}


def test_the_command_line_says_how_many_kelompok_got_a_ketua(db_url: str, tmp_path: Path) -> None:
    from tests.integration.test_cli import invoke

    path = write_csv(tmp_path / "roster.csv", [row(1), row(2, "ya")], headers=WITH_KETUA)
    result = invoke(db_url, "import-roster", str(path))
    assert result.exit_code == 0, result.output
    assert t("cli.roster.ketua", named=1, changed=1) in result.output
    again = invoke(db_url, "import-roster", str(path))
    assert t("cli.roster.ketua", named=1, changed=0) in again.output
