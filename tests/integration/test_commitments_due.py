"""What is due in a verification period (the SQL every use shares), on both databases:
each rule around its boundaries, periods across month and year ends, the yearly
commitment, KPM that no longer count; and saving: atomic, audited, scoped to what is due."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.commitment_history import not_met_streaks
from models.commitments import (
    NotDue,
    Verdict,
    commitment_counts,
    due_items,
    save_checks,
)
from models.enums import CommitmentResult, KpmStatus
from models.rules.commitments import CommitmentRules, Period
from models.tables import AuditLog, CommitmentCheck, Komponen, Kpm, Staff
from tests.world import World, build_world, default_catalog

RULES = CommitmentRules()
DECEMBER = RULES.period_of(date(2026, 12, 15))
NOW = datetime(2026, 12, 20, 3, 0, tzinfo=UTC)
MET, NOT_MET = CommitmentResult.MEMENUHI, CommitmentResult.TIDAK_MEMENUHI


async def add_komponen(
    sessions: async_sessionmaker[AsyncSession],
    kpm_id: int,
    type_: str,
    birth: date | None,
    end: date | None,
) -> int:
    async with sessions.begin() as session:
        row = Komponen(kpm_id=kpm_id, type=type_, birth_date=birth, end_date=end)
        session.add(row)
        await session.flush()
        return row.id


async def due_of(sessions, kpm_id: int, period: Period = DECEMBER) -> list[str]:
    async with sessions() as session:
        items = await due_items(session, RULES, period, kpm_id=kpm_id)
    return [item.commitment for item in items]


def test_periods_start_in_january_and_cross_year_ends() -> None:
    assert Period(date(2026, 12, 1), date(2027, 1, 1)) == DECEMBER
    assert DECEMBER.last_day == date(2026, 12, 31)
    assert RULES.before(DECEMBER) == Period(date(2026, 11, 1), date(2026, 12, 1))
    quarterly = CommitmentRules(period_months=3)
    assert quarterly.period_of(date(2026, 11, 30)) == Period(date(2026, 10, 1), date(2027, 1, 1))
    assert quarterly.before(quarterly.period_of(date(2027, 2, 1))).start == date(2026, 10, 1)
    with pytest.raises(ValueError, match="divides the year"):
        CommitmentRules(period_months=5)


async def test_pregnancy_delivery_and_postnatal_around_the_delivery_date(sessions) -> None:
    world = await build_world(sessions)
    ani = world.kpm["Ani Marlina"]
    # Delivery expected on 1 December: not pregnant after the period's first day.
    await add_komponen(sessions, ani, "ibu_hamil", date(2026, 12, 1), date(2027, 1, 12))
    assert await due_of(sessions, ani) == ["persalinan_faskes", "periksa_nifas"]
    rina = world.kpm["Tuti Alawiyah"]
    # Delivery expected on 2 December: pregnant in December too.
    await add_komponen(sessions, rina, "ibu_hamil", date(2026, 12, 2), date(2027, 1, 13))
    assert await due_of(sessions, rina) == [
        "periksa_kehamilan",
        "persalinan_faskes",
        "periksa_nifas",
    ]
    iis = world.kpm["Iis Dahlia"]
    # Delivered on 20 November, nifas ends 1 January: postnatal checks in December, and
    # in January (the komponen ends on its first day), not in February.
    await add_komponen(sessions, iis, "ibu_hamil", date(2026, 11, 20), date(2027, 1, 1))
    assert await due_of(sessions, iis) == ["periksa_nifas"]
    assert await due_of(sessions, iis, RULES.period_of(date(2027, 1, 1))) == ["periksa_nifas"]
    assert await due_of(sessions, iis, RULES.period_of(date(2027, 2, 1))) == []
    # Delivery date not known: the antenatal checks are due.
    siti = world.kpm["Siti Budiarti"]
    await add_komponen(sessions, siti, "ibu_hamil", None, None)
    assert await due_of(sessions, siti) == ["periksa_kehamilan"]


async def test_children_are_due_until_their_komponen_ends(sessions) -> None:
    world = await build_world(sessions)
    rina = world.kpm["Rina Marlina"]
    catalog = default_catalog()
    # Seven on 1 December (the komponen's end, from the birth date as a roster import
    # computes it); twenty-one (anak SMA's end) on 30 November.
    for kind, born in (("anak_usia_dini", date(2019, 12, 1)), ("anak_sma", date(2005, 11, 30))):
        await add_komponen(sessions, rina, kind, born, catalog[kind].end_date(born))
    # Ends on 1 December: counted in December; ended on 30 November: not.
    assert await due_of(sessions, rina) == ["timbang_imunisasi"]
    assert await due_of(sessions, rina, RULES.period_of(date(2027, 1, 5))) == []
    assert await due_of(sessions, rina, RULES.period_of(date(2026, 11, 5))) == [
        "timbang_imunisasi",
        "hadir_sekolah",
    ]


async def test_a_yearly_commitment_is_due_until_met_within_twelve_months(sessions) -> None:
    world = await build_world(sessions)
    kpm = world.kpm["Ani Marlina"]
    lansia = await add_komponen(sessions, kpm, "lansia", date(1950, 1, 1), None)
    assert await due_of(sessions, kpm) == ["kunjungan_kesehatan"]
    async with sessions.begin() as session:
        session.add(
            CommitmentCheck(
                komponen_id=lansia,
                kpm_id=kpm,
                commitment="kunjungan_kesehatan",
                period_start=date(2026, 1, 1),
                result=MET,
                recorded_at=NOW,
            )
        )
    # Met in January: not due again until the January twelve months later.
    assert await due_of(sessions, kpm) == []
    assert await due_of(sessions, kpm, RULES.period_of(date(2027, 1, 1))) == []
    assert await due_of(sessions, kpm, RULES.period_of(date(2027, 2, 1))) == ["kunjungan_kesehatan"]


async def test_kpm_that_left_or_has_no_kelompok_have_nothing_due(sessions) -> None:
    world = await build_world(sessions)
    left, moved = world.kpm["Ani Marlina"], world.kpm["Tuti Alawiyah"]
    for kpm in (left, moved):
        await add_komponen(sessions, kpm, "anak_sd", date(2016, 1, 1), date(2029, 1, 1))
    async with sessions.begin() as session:
        (await session.get(Kpm, left)).status = KpmStatus.KELUAR
        (await session.get(Kpm, moved)).kelompok_id = None
    assert await due_of(sessions, left) == []
    assert await due_of(sessions, moved) == []


async def save(sessions, world: World, verdicts, kpm_ids, period=DECEMBER):
    async with sessions.begin() as session:
        staff = await session.get(Staff, world.ani)
        return await save_checks(
            session, staff, RULES, period, verdicts, scope_kpm_ids=kpm_ids, now=NOW
        )


async def test_saving_is_audited_edits_in_place_and_refuses_what_is_not_due(sessions) -> None:
    world = await build_world(sessions)
    siti = world.kpm["Siti Aminah"]  # the world's anak_sd
    async with sessions() as session:
        (item,) = await due_items(session, RULES, DECEMBER, kpm_id=siti)
    pair = (item.komponen_id, "hadir_sekolah")
    saved = await save(sessions, world, {pair: Verdict(NOT_MET, "sakit")}, [siti])
    assert (saved.tidak_memenuhi, saved.changed) == (1, 1)
    again = await save(sessions, world, {pair: Verdict(NOT_MET, "sakit")}, [siti])
    assert again.changed == 0  # the same verdict saved twice writes nothing
    await save(sessions, world, {pair: Verdict(MET)}, [siti])
    async with sessions() as session:
        (row,) = await session.scalars(select(CommitmentCheck))
        assert (row.result, row.reason) == (MET, None)
        actions = list(await session.scalars(select(AuditLog.action).order_by(AuditLog.id)))
        assert actions == ["commitment.record", "commitment.update"]
    # Not due: a commitment the member's komponen does not keep; nothing is written.
    with pytest.raises(NotDue):
        await save(
            sessions,
            world,
            {
                pair: Verdict(NOT_MET, "sakit"),
                (item.komponen_id, "timbang_imunisasi"): Verdict(MET),
            },
            [siti],
        )
    with pytest.raises(NotDue, match="reason"):
        await save(sessions, world, {pair: Verdict(NOT_MET, "malas")}, [siti])
    with pytest.raises(NotDue):  # the KPM is not among those the caller may record for
        await save(sessions, world, {pair: Verdict(NOT_MET, "sakit")}, [world.kpm["Ani Marlina"]])
    async with sessions() as session:
        assert (await session.scalar(select(CommitmentCheck.result))) is MET
    # "Belum diverifikasi" withdraws the result.
    await save(sessions, world, {pair: Verdict(None)}, [siti])
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(CommitmentCheck)) == 0


async def test_counts_and_streaks_from_hand_built_results(sessions) -> None:
    world = await build_world(sessions)
    melati = [world.kpm[name] for name in ("Siti Aminah", "Sri Wahyuni", "Kurniasih")]
    komponen = {
        kpm: await add_komponen(sessions, kpm, "anak_smp", date(2013, 5, 1), date(2029, 5, 1))
        for kpm in melati[1:]
    }
    async with sessions() as session:
        siti_sd = (await due_items(session, RULES, DECEMBER, kpm_id=melati[0]))[0].komponen_id
    komponen[melati[0]] = siti_sd
    october, november = RULES.before(DECEMBER, 2), RULES.before(DECEMBER)
    a, b, c = (komponen[k] for k in melati)
    await save(sessions, world, {(a, "hadir_sekolah"): Verdict(NOT_MET, "sakit")}, melati, october)
    await save(sessions, world, {(a, "hadir_sekolah"): Verdict(NOT_MET, "sakit")}, melati, november)
    await save(sessions, world, {(b, "hadir_sekolah"): Verdict(NOT_MET, "biaya")}, melati, october)
    await save(sessions, world, {(b, "hadir_sekolah"): Verdict(MET)}, melati, november)
    await save(
        sessions,
        world,
        {(a, "hadir_sekolah"): Verdict(NOT_MET, "sakit"), (b, "hadir_sekolah"): Verdict(MET)},
        melati,
    )
    async with sessions() as session:
        counts = await commitment_counts(session, RULES, DECEMBER, None)
        streaks = await not_met_streaks(session, since=november.start)
    assert (counts[world.melati].due, counts[world.melati].done) == (3, 2)
    assert counts[world.melati].not_met == 1
    assert world.mawar not in counts
    (streak,) = streaks
    assert (streak.kpm_id, streak.periods, streak.first_period, streak.last_period) == (
        melati[0],
        3,
        october.start,
        DECEMBER.start,
    )
    assert c not in {s.komponen_id for s in streaks}
