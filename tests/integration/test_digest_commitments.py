"""The digest's commitment check figures against hand-built results, on both databases.

On top of tests/digest_world.py (reference day Sunday 22 November 2026, monthly periods),
these members and results:

    KPM (kelompok)   komponen                         due in November        November result
    Sari (Melati)    anak_sma (world), ends 2027      hadir_sekolah          tidak memenuhi
                     anak_sd, ended 31 Oct 2026       - (ended)
    Rini (Melati)    ibu_hamil, delivery 15 Nov       periksa_kehamilan      memenuhi
                                                      persalinan_faskes      tidak memenuhi
                                                      periksa_nifas          tidak memenuhi
    Tuti (Melati)    anak_usia_dini                   timbang_imunisasi      memenuhi
                     lansia, visit met March 2026     - (met in 12 months)
    Wati (Melati)    anak_sd (world)                  hadir_sekolah          - (October: not met)
    Gina (Melati)    anak_sd; graduated last year     - (not active)         tidak memenuhi
    Yuni (Mawar)     anak_smp                         hadir_sekolah          tidak memenuhi
    Kiki (Kenanga)   anak_sd                          hadir_sekolah          memenuhi

So Ani: 5 of 6 verified, 2 KPM not meeting (Sari, Rini); Budi 1 of 1, 1 (Yuni); Dewi's
kabupaten 6 of 7, 3; Eko's (Kiki) 1 of 1, 0. In October Ani has 5 due (Sari's ended
komponen still counted then, Rini still pregnant, no delivery yet), 1 verified (Wati, not
met).
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.bootstrap import build_app, commitment_rules, digest_options
from bot.config import load_settings
from handlers.i18n import Translator
from models.enums import CommitmentResult
from models.rules.commitments import CommitmentRules
from models.tables import CommitmentCheck, Komponen, Staff
from reporting.digest import Digest, DigestOptions, build_digest
from reporting.figures import KelompokFigures, PendampingFigures
from tests.digest_world import AS_OF, build_digest_world

t = Translator("id")
MET, NOT_MET = CommitmentResult.MEMENUHI, CommitmentResult.TIDAK_MEMENUHI
NOVEMBER, OCTOBER, MARCH = date(2026, 11, 1), date(2026, 10, 1), date(2026, 3, 1)


async def add_results(sessions: async_sessionmaker[AsyncSession], ids: dict[str, int]) -> None:
    async with sessions.begin() as session:

        async def member(kpm: str, kind: str, birth: date | None, end: date | None) -> int:
            row = Komponen(kpm_id=ids[kpm], type=kind, birth_date=birth, end_date=end)
            session.add(row)
            await session.flush()
            return row.id

        def check(
            kpm: str,
            komponen: int,
            commitment: str,
            period: date,
            result: CommitmentResult,
            reason: str | None = None,
        ) -> None:
            session.add(
                CommitmentCheck(
                    komponen_id=komponen,
                    kpm_id=ids[kpm],
                    commitment=commitment,
                    period_start=period,
                    result=result,
                    reason=reason,
                    recorded_at=AS_OF,
                )
            )

        existing = {row.kpm_id: row.id for row in await session.scalars(select(Komponen))}
        sari_sma, wati_sd = existing[ids["sari"]], existing[ids["wati"]]
        sari_sd = await member("sari", "anak_sd", date(2014, 10, 31), date(2026, 10, 31))
        rini = await member("rini", "ibu_hamil", date(2026, 11, 15), date(2026, 12, 27))
        tuti_child = await member("tuti", "anak_usia_dini", date(2021, 6, 1), date(2028, 6, 1))
        tuti_elder = await member("tuti", "lansia", None, None)
        gina = await member("gina", "anak_sd", date(2017, 1, 1), date(2030, 1, 1))
        yuni = await member("yuni", "anak_smp", date(2013, 1, 1), date(2028, 1, 1))
        kiki = await member("kiki", "anak_sd", date(2018, 1, 1), date(2031, 1, 1))

        check("sari", sari_sma, "hadir_sekolah", NOVEMBER, NOT_MET, "sakit")
        check("rini", rini, "periksa_kehamilan", NOVEMBER, MET)
        check("rini", rini, "persalinan_faskes", NOVEMBER, NOT_MET, "faskes_jauh")
        check("rini", rini, "periksa_nifas", NOVEMBER, NOT_MET, "biaya")
        check("tuti", tuti_child, "timbang_imunisasi", NOVEMBER, MET)
        check("tuti", tuti_elder, "kunjungan_kesehatan", MARCH, MET)
        check("wati", wati_sd, "hadir_sekolah", OCTOBER, NOT_MET, "biaya")
        check("gina", gina, "hadir_sekolah", NOVEMBER, NOT_MET, "sakit")
        check("yuni", yuni, "hadir_sekolah", NOVEMBER, NOT_MET, "sakit")
        check("kiki", kiki, "hadir_sekolah", NOVEMBER, MET)
        assert sari_sd  # ended before November: due in October only


async def digest_of(
    sessions: async_sessionmaker[AsyncSession],
    staff_id: int,
    *,
    as_of: datetime = AS_OF,
    options: DigestOptions | None = None,
) -> Digest:
    async with sessions() as session:
        staff = await session.get(Staff, staff_id)
        assert staff is not None
        return await build_digest(
            session, staff, as_of=as_of, options=options or DigestOptions(), translate=t
        )


def checks(figures: KelompokFigures | PendampingFigures) -> tuple[int, int, int]:
    """(verified, due, KPM not met)."""
    return figures.commitments_done, figures.commitments_due, figures.commitments_not_met


async def test_each_pendamping_s_checks_done_due_and_kpm_not_met(sessions) -> None:
    ids = await build_digest_world(sessions)
    await add_results(sessions, ids)
    figures = (await digest_of(sessions, ids["dewi"])).figures
    assert figures.commitment_period is not None
    assert figures.commitment_period.start == NOVEMBER
    ani, budi = figures.pendamping
    assert checks(ani) == (5, 6, 2)
    assert checks(budi) == (1, 1, 1)
    melati = next(k for k in ani.kelompok if k.name == "Kelompok Melati")
    assert checks(melati) == (5, 6, 2)
    totals = tuple(
        figures.total(name)
        for name in ("commitments_done", "commitments_due", "commitments_not_met")
    )
    assert totals == (6, 7, 3)
    (citra,) = (await digest_of(sessions, ids["eko"])).figures.pendamping
    assert checks(citra) == (1, 1, 0)  # Kiki, in another kabupaten


async def test_the_period_is_the_one_of_the_reference_day(sessions) -> None:
    ids = await build_digest_world(sessions)
    await add_results(sessions, ids)
    october = await digest_of(sessions, ids["dewi"], as_of=datetime(2026, 10, 20, 3, tzinfo=UTC))
    ani, budi = october.figures.pendamping
    assert checks(ani) == (1, 5, 1)
    assert checks(budi) == (0, 1, 0)
    assert "Verifikasi komitmen Oktober 2026: 1 dari 6 sudah diverifikasi; 1 KPM" in october.text


async def test_a_quarterly_period_counts_the_checks_recorded_for_the_quarter(sessions) -> None:
    ids = await build_digest_world(sessions)
    await add_results(sessions, ids)
    options = DigestOptions(commitments=CommitmentRules(period_months=3))
    digest = await digest_of(sessions, ids["dewi"], options=options)
    ani, budi = digest.figures.pendamping
    # October-December: Sari's ended komponen and all three of Rini's count; the only
    # check of the quarter (period starting 1 October) is Wati's, not met.
    assert checks(ani) == (1, 7, 1)
    assert checks(budi) == (0, 1, 0)
    assert (
        "Verifikasi komitmen Oktober\u2013Desember 2026: 1 dari 8 sudah diverifikasi; "
        "1 KPM tidak memenuhi komitmen." in digest.text
    )


async def test_the_text_states_the_totals_and_each_pendamping_s_checks(sessions) -> None:
    ids = await build_digest_world(sessions)
    await add_results(sessions, ids)
    text = (await digest_of(sessions, ids["dewi"])).text
    assert (
        "Verifikasi komitmen November 2026: 6 dari 7 sudah diverifikasi; "
        "3 KPM tidak memenuhi komitmen." in text
    )
    lines = text.splitlines()
    ani = next(line for line in lines if line.startswith("1. Ani Suryani"))
    budi = next(line for line in lines if line.startswith("2. Budi Santoso"))
    assert "verifikasi komitmen 5/6 (2 KPM tidak memenuhi)" in ani
    assert "verifikasi komitmen 1/1 (1 KPM tidak memenuhi)" in budi
    # The head line comes right after the meetings line.
    meetings = next(n for n, line in enumerate(lines) if line.startswith("Pertemuan November"))
    assert lines[meetings + 1].startswith("Verifikasi komitmen November 2026")


async def test_the_workbook_has_the_checks_per_kelompok_and_per_pendamping(sessions) -> None:
    ids = await build_digest_world(sessions)
    await add_results(sessions, ids)
    book = load_workbook(io.BytesIO((await digest_of(sessions, ids["dewi"])).workbook))
    due, done, not_met = (
        "Komitmen wajib diverifikasi November 2026",
        "Komitmen sudah diverifikasi November 2026",
        "KPM tidak memenuhi komitmen November 2026",
    )
    for title in ("Per kelompok", "Per pendamping"):
        header, *rows = book[title].iter_rows(values_only=True)
        named = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
        first = "Kelompok Melati" if title == "Per kelompok" else "Ani Suryani"
        second = "Kelompok Mawar" if title == "Per kelompok" else "Budi Santoso"
        assert (named[first][due], named[first][done], named[first][not_met]) == (6, 5, 2)
        assert (named[second][due], named[second][done], named[second][not_met]) == (1, 1, 1)


async def test_without_results_everything_due_is_still_counted(sessions) -> None:
    ids = await build_digest_world(sessions)
    digest = await digest_of(sessions, ids["dewi"])
    ani, budi = digest.figures.pendamping
    assert checks(ani) == (0, 2, 0)  # Sari's and Wati's school attendance
    assert checks(budi) == (0, 0, 0)
    assert "Verifikasi komitmen November 2026: 0 dari 2 sudah diverifikasi; 0 KPM" in digest.text


async def test_no_commitment_configured_leaves_the_line_out(sessions) -> None:
    ids = await build_digest_world(sessions)
    await add_results(sessions, ids)
    options = DigestOptions(commitments=CommitmentRules(commitments=()))
    digest = await digest_of(sessions, ids["dewi"], options=options)
    assert [checks(p) for p in digest.figures.pendamping] == [(0, 0, 0), (0, 0, 0)]
    assert "Verifikasi komitmen November" not in digest.text


async def test_the_digest_options_carry_the_configured_commitments(tmp_path) -> None:
    config = tmp_path / "pendamping.toml"
    config.write_text(
        "[programme.commitments]\nperiod_months = 3\n"
        "[programme.commitments.types.hadir_sekolah]\n"
        'label = "Hadir di sekolah"\nkomponen = ["anak_sd"]\n',
        encoding="utf-8",
    )
    settings = load_settings(config, environ={}).settings
    app = build_app(settings)
    try:
        options = digest_options(app)
    finally:
        await app.close()
    assert options.commitments == commitment_rules(app)
    assert options.commitments.period_months == 3
    assert [c.key for c in options.commitments.commitments] == ["hadir_sekolah"]
