"""Readiness for graduasi mandiri with gates and complementary programmes, against
hand-built data: the digest's candidates, saving a family's programmes (audited, in scope
only, re-running edits), the advocacy list and the counts per pendamping."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from models.bansos import (
    KpmProgramme,
    advocacy_list,
    needs_per_pendamping,
    programme_statuses,
    save_programmes,
)
from models.enums import KpmStatus, ProgrammeStatus
from models.scope import OutOfScope, kelompok_scope
from models.tables import AuditLog, GraduationAssessment, Kelompok, Kpm, Staff
from reporting.graduation import candidate_counts
from tests.world import NOW, TODAY, World, build_world

P, B, T = ProgrammeStatus.PUNYA, ProgrammeStatus.BUTUH, ProgrammeStatus.TIDAK_PERLU
KEYS = ("kis_pbi_jkn", "kip_pip", "sembako_bpnt", "kks_aktif")


def assessment(kpm_id: int, score: float, *, gates_met: bool) -> GraduationAssessment:
    return GraduationAssessment(
        kpm_id=kpm_id,
        indicators={},
        score=score,
        threshold=7.0,
        gates_met=gates_met,
        assessed_at=NOW - timedelta(days=1),
    )


def programme(kpm_id: int, key: str, status: ProgrammeStatus) -> KpmProgramme:
    return KpmProgramme(kpm_id=kpm_id, programme=key, status=status, updated_at=NOW)


async def readiness_world(sessions) -> World:
    """Ani's families over the threshold in every situation, and Budi's one needing KIP."""
    world = await build_world(sessions)
    k = world.kpm
    async with sessions.begin() as session:
        session.add_all(
            [
                assessment(k["Siti Aminah"], 8, gates_met=True),  # siap: has what it needs
                programme(k["Siti Aminah"], "kis_pbi_jkn", P),
                programme(k["Siti Aminah"], "kip_pip", T),
                assessment(k["Sri Wahyuni"], 9, gates_met=False),  # not willing: never siap
                assessment(k["Dewi Lestari"], 8, gates_met=True),  # needs KIS: not siap
                programme(k["Dewi Lestari"], "kis_pbi_jkn", B),
                programme(k["Dewi Lestari"], "kks_aktif", B),
                assessment(k["Nur Hasanah"], 8, gates_met=True),  # needs a programme no
                programme(k["Nur Hasanah"], "kartu_lama", B),  # longer configured: siap
                assessment(k["Yuli Astuti"], 7, gates_met=True),  # nothing recorded: siap
                programme(k["Ratna Sari"], "sembako_bpnt", B),  # needs, not assessed
                programme(k["Sumarni"], "kip_pip", B),  # left the programme: not counted
                programme(k["Rina Marlina"], "kip_pip", B),  # Budi's
            ]
        )
        await session.execute(
            update(Kpm).where(Kpm.id == k["Sumarni"]).values(status=KpmStatus.KELUAR)
        )
    return world


async def test_a_family_is_a_mandiri_candidate_only_with_its_gates_and_programmes(
    sessions,
) -> None:
    world = await readiness_world(sessions)
    async with sessions() as session:
        counts = await candidate_counts(
            session, select(Kelompok.id), today=TODAY, horizon_days=90, threshold=7.0,
            programmes=KEYS,
        )
        # Without programmes configured, nothing is needed: Dewi is siap too.
        without = await candidate_counts(
            session, select(Kelompok.id), today=TODAY, horizon_days=90, threshold=7.0,
            programmes=(),
        )
    # Siti Aminah, Nur Hasanah, Yuli Astuti; not Sri (gate) nor Dewi (KIS, KKS needed).
    assert counts == {world.ani: (0, 3), world.budi: (0, 0)}
    assert without == {world.ani: (0, 4), world.budi: (0, 0)}


async def test_programmes_are_saved_in_scope_audited_and_edited_by_running_again(
    sessions,
) -> None:
    world = await build_world(sessions)
    siti = world.kpm["Siti Aminah"]
    later = NOW + timedelta(days=7)
    async with sessions.begin() as session:
        budi = await session.get(Staff, world.budi)
        with pytest.raises(OutOfScope):
            await save_programmes(session, budi, siti, {"kis_pbi_jkn": P}, now=NOW)
    async with sessions.begin() as session:
        ani = await session.get(Staff, world.ani)
        first = await save_programmes(
            session, ani, siti, {"kis_pbi_jkn": B, "kip_pip": P}, now=NOW
        )
    async with sessions.begin() as session:
        ani = await session.get(Staff, world.ani)
        same = await save_programmes(session, ani, siti, {"kis_pbi_jkn": B}, now=later)
        edited = await save_programmes(
            session, ani, siti, {"kis_pbi_jkn": P, "kip_pip": P, "kks_aktif": T}, now=later
        )
    assert (first, same, edited) == (2, 0, 2)
    async with sessions() as session:
        assert await programme_statuses(session, siti) == {
            "kis_pbi_jkn": P, "kip_pip": P, "kks_aktif": T
        }
        rows = {
            row.programme: (row.updated_at, row.updated_by_id)
            for row in await session.scalars(select(KpmProgramme))
        }
        logged = list(
            await session.scalars(
                select(AuditLog).where(AuditLog.action == "kpm.programmes").order_by(AuditLog.id)
            )
        )
    assert rows == {
        "kis_pbi_jkn": (later, world.ani),
        "kip_pip": (NOW, world.ani),  # unchanged: as recorded first
        "kks_aktif": (later, world.ani),
    }
    assert [entry.detail for entry in logged] == [
        {"before": {"kis_pbi_jkn": None, "kip_pip": None},
         "after": {"kis_pbi_jkn": "butuh", "kip_pip": "punya"}},
        {"before": {"kis_pbi_jkn": "butuh", "kks_aktif": None},
         "after": {"kis_pbi_jkn": "punya", "kks_aktif": "tidak_perlu"}},
    ]
    assert all(entry.entity_id == siti and entry.actor_staff_id == world.ani for entry in logged)


async def test_the_advocacy_list_names_the_active_families_in_scope_needing_a_programme(
    sessions,
) -> None:
    world = await readiness_world(sessions)
    k = world.kpm
    async with sessions() as session:
        ani = await session.get(Staff, world.ani)
        dewi = await session.get(Staff, world.dewi)  # the coordinator: both pendamping
        listed = await advocacy_list(session, ani, KEYS, limit=10)
        first = await advocacy_list(session, ani, KEYS, limit=1)
        coordinator = await advocacy_list(session, dewi, KEYS, limit=10)
        nothing = await advocacy_list(session, ani, (), limit=10)
    assert listed.families == 2
    assert [(f.kpm_id, f.kelompok, f.programmes) for f in listed.first] == [
        (k["Dewi Lestari"], "Kelompok Melati", ("kis_pbi_jkn", "kks_aktif")),
        (k["Ratna Sari"], "Kelompok Melati", ("sembako_bpnt",)),
    ]
    assert first.families == 2 and [f.name for f in first.first] == ["Dewi Lestari"]
    assert coordinator.families == 3
    assert nothing.families == 0 and nothing.first == []


async def test_needs_are_counted_per_pendamping_and_programme(sessions) -> None:
    world = await readiness_world(sessions)
    async with sessions() as session:
        counted = await needs_per_pendamping(session, select(Kelompok.id), KEYS)
        ani_only = await needs_per_pendamping(
            session, kelompok_scope(await session.get(Staff, world.ani)), ["sembako_bpnt"]
        )
    assert {p: (n.families, n.per_programme) for p, n in counted.items()} == {
        world.ani: (2, {"kis_pbi_jkn": 1, "kks_aktif": 1, "sembako_bpnt": 1}),
        world.budi: (1, {"kip_pip": 1}),
    }
    assert {p: n.families for p, n in ani_only.items()} == {world.ani: 1}
