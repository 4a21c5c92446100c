"""Families who change, from the command line as an operator does it: `pendamping kpm move`
and `pendamping kpm leave` on the demo data, the line each prints, the rows each leaves, and
a clear line (with nothing written) for what cannot be done."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine
from sqlalchemy import select

from models.enums import CaseSeverity, CaseStatus, ExitReason, KpmStatus
from models.tables import AuditLog, CaseNote, Kelompok, Kpm
from tests.cli_text import said, t
from tests.integration.test_staff_changes import invoke, run

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


@pytest.fixture
def demo(db_url: str) -> str:
    assert invoke(db_url, "init", "--demo").exit_code == 0
    return db_url


def _an_active_kpm_and_another_pendamping_kelompok(db_url: str) -> tuple[Kpm, Kelompok]:
    async def work(session):  # noqa: ANN001, ANN202
        kpm = await session.scalar(
            select(Kpm).where(Kpm.status == KpmStatus.AKTIF).order_by(Kpm.id).limit(1)
        )
        home = await session.get(Kelompok, kpm.kelompok_id)
        other = await session.scalar(
            select(Kelompok)
            .where(Kelompok.pendamping_id != home.pendamping_id)
            .order_by(Kelompok.id)
            .limit(1)
        )
        session.add(
            CaseNote(
                kpm_id=kpm.id,
                staff_id=home.pendamping_id,
                category="kks_bermasalah",
                description="kartu terblokir",
                severity=CaseSeverity.BIASA,
                status=CaseStatus.BARU,
            )
        )
        return kpm, other

    return run(db_url, work)


def _kpm(db_url: str, kpm_id: int) -> Kpm:
    async def work(session):  # noqa: ANN001, ANN202
        return await session.get(Kpm, kpm_id)

    return run(db_url, work)


def _audits(db_url: str, action: str) -> list[AuditLog]:
    async def work(session):  # noqa: ANN001, ANN202
        return list(await session.scalars(select(AuditLog).where(AuditLog.action == action)))

    return run(db_url, work)


def test_a_kpm_moves_to_another_pendamping_kelompok_with_her_open_case(demo: str) -> None:
    kpm, other = _an_active_kpm_and_another_pendamping_kelompok(demo)
    result = invoke(demo, "kpm", "move", kpm.id_pkh, "--kelompok", other.name.upper())
    assert result.exit_code == 0, result.output
    assert said(
        "cli.kpm.moved", id_pkh=kpm.id_pkh, after=other.name, cases=1
    ).search(result.output), result.output
    assert kpm.nama_pengurus not in result.output  # ID PKH only, never a name

    assert _kpm(demo, kpm.id).kelompok_id == other.id

    async def case_owner(session):  # noqa: ANN001, ANN202
        return await session.scalar(select(CaseNote.staff_id).where(CaseNote.kpm_id == kpm.id))

    assert run(demo, case_owner) == other.pendamping_id
    (entry,) = _audits(demo, "kpm.move")
    assert (entry.actor, entry.entity_id) == ("cli", kpm.id)
    assert entry.detail["after"] == {"kelompok_id": other.id}

    again = invoke(demo, "kpm", "move", kpm.id_pkh, "--kelompok", str(other.id))
    assert again.exit_code == 1
    assert t("cli.error", message=t(
        "cli.kpm_error.same_kelompok", id_pkh=kpm.id_pkh, kelompok=other.name
    )) in again.output


def test_a_kpm_leaves_on_a_given_day_and_only_once(demo: str) -> None:
    kpm, _ = _an_active_kpm_and_another_pendamping_kelompok(demo)
    result = invoke(demo, "kpm", "leave", kpm.id_pkh, "--reason", "pindah", "--on", "20-11-2026")
    assert result.exit_code == 0, result.output
    assert said(
        "cli.kpm.left", id_pkh=kpm.id_pkh, date="2026-11-20", reason="pindah"
    ).search(result.output), result.output
    left = _kpm(demo, kpm.id)
    assert (left.status, left.exit_reason, left.left_on, left.graduated_on) == (
        KpmStatus.KELUAR,
        ExitReason.PINDAH,
        date(2026, 11, 20),
        None,
    )
    twice = invoke(demo, "kpm", "leave", kpm.id_pkh, "--reason", "meninggal")
    assert twice.exit_code == 1
    assert t("cli.kpm_error.not_active", id_pkh=kpm.id_pkh, status="keluar") in twice.output
    assert len(_audits(demo, "kpm.leave")) == 1


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["leave", "PKH-TIDAK-ADA", "--reason", "pindah"],
         ("cli.kpm_error.unknown_kpm", {"id_pkh": "PKH-TIDAK-ADA"})),
        (["leave", "{id_pkh}", "--reason", "pindah", "--on", "31-02-2026"],
         ("cli.bad_date", {"option": "--on", "value": "31-02-2026"})),
        (["leave", "{id_pkh}", "--reason", "pindah", "--on", "2026-12-25"],
         ("cli.kpm_error.future_date", {"date": "2026-12-25"})),
        (["move", "{id_pkh}", "--kelompok", "Kelompok Tidak Ada"],
         ("cli.kpm.no_kelompok", {"name": "Kelompok Tidak Ada"})),
    ],
)
def test_what_cannot_be_done_is_one_line_and_writes_nothing(
    demo: str, args: list[str], says: tuple[str, dict[str, str]]
) -> None:
    kpm, _ = _an_active_kpm_and_another_pendamping_kelompok(demo)
    result = invoke(demo, "kpm", *(arg.format(id_pkh=kpm.id_pkh) for arg in args))
    assert result.exit_code == 1
    key, values = says
    assert [line for line in result.output.splitlines() if line.strip()] == [
        t("cli.error", message=t(key, **values))
    ]
    assert "Traceback" not in result.output
    after = _kpm(demo, kpm.id)
    assert (after.status, after.kelompok_id) == (KpmStatus.AKTIF, kpm.kelompok_id)
    assert _audits(demo, "kpm.move") == _audits(demo, "kpm.leave") == []
