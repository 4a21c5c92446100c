"""The KPM card's commitments (issue 16): what is due this period with its result
(memenuhi, tidak memenuhi and why, belum diverifikasi) and the three periods before, in
a fixed, small number of queries however long the family's history."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine

from handlers.i18n import Translator
from models.enums import CommitmentResult
from models.kpm import kpm_card
from models.rules.clock import FixedClock
from models.rules.commitments import CommitmentRules
from models.tables import CommitmentCheck, Komponen, Staff
from tests.world import NOW, Chat, build_world, make_engine

RULES = CommitmentRules()
MET, NOT_MET = CommitmentResult.MEMENUHI, CommitmentResult.TIDAK_MEMENUHI
t = Translator()


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def family(sessions, kpm_id: int) -> dict[str, int]:
    """Siti Aminah's children: the world's SD pupil, then a toddler and an SMP pupil."""
    async with sessions.begin() as session:
        ids = {
            "anak_sd": await session.scalar(
                select(Komponen.id).where(Komponen.kpm_id == kpm_id, Komponen.type == "anak_sd")
            )
        }
        for kind, born in (("anak_usia_dini", date(2024, 6, 1)), ("anak_smp", date(2013, 5, 1))):
            row = Komponen(kpm_id=kpm_id, type=kind, birth_date=born, end_date=date(2030, 1, 1))
            session.add(row)
            await session.flush()
            ids[kind] = row.id
    return ids


async def results(sessions, kpm_id: int, rows) -> None:
    async with sessions.begin() as session:
        for komponen_id, commitment, month, result, reason in rows:
            session.add(
                CommitmentCheck(
                    komponen_id=komponen_id,
                    kpm_id=kpm_id,
                    commitment=commitment,
                    period_start=date(2026, month, 1),
                    result=result,
                    reason=reason,
                    recorded_at=datetime(2026, month, 20, 3, tzinfo=UTC),
                )
            )


async def test_the_card_shows_this_period_s_commitments_and_the_three_before(sessions) -> None:
    world = await build_world(sessions)
    siti = world.kpm["Siti Aminah"]
    kids = await family(sessions, siti)
    sd, toddler = kids["anak_sd"], kids["anak_usia_dini"]
    await results(
        sessions,
        siti,
        [
            (sd, "hadir_sekolah", 11, NOT_MET, "sakit"),
            (toddler, "timbang_imunisasi", 11, MET, None),
            (sd, "hadir_sekolah", 10, MET, None),
            (toddler, "timbang_imunisasi", 10, MET, None),
            (sd, "hadir_sekolah", 9, NOT_MET, "biaya"),
            (toddler, "timbang_imunisasi", 9, MET, None),
            (sd, "hadir_sekolah", 7, NOT_MET, "biaya"),  # four periods back: not shown
        ],
    )
    clock = FixedClock(NOW)  # Sunday 22 November 2026
    chat = Chat(make_engine(sessions, clock), clock, "console:ani")
    await chat.send("/kpm siti aminah")

    assert (
        "Komitmen November 2026:\n"
        "• Anak SD: Hadir di sekolah (min. 85%) — tidak memenuhi (Sakit)\n"
        "• Anak usia dini: Timbang dan imunisasi — memenuhi\n"
        "• Anak SMP: Hadir di sekolah (min. 85%) — belum diverifikasi\n"
        "Komitmen 3 periode sebelumnya:\n"
        "• Oktober 2026: memenuhi 2, tidak memenuhi 0\n"
        "• September 2026: memenuhi 1, tidak memenuhi 1\n"
        "  - Anak SD: Hadir di sekolah (Tidak ada biaya)\n"
        "• Agustus 2026: tidak ada hasil tercatat\n"
        "Kasus terbuka:"
    ) in chat.text
    assert "Juli 2026" not in chat.text


async def test_the_card_s_queries_do_not_grow_with_the_history(sessions, engine) -> None:
    world = await build_world(sessions)
    siti = world.kpm["Siti Aminah"]
    kids = await family(sessions, siti)
    period = RULES.period_of(date(2026, 11, 22))

    async def count() -> int:
        async with sessions() as session:
            staff = await session.get(Staff, world.ani)
            with statements(engine) as seen:
                card = await kpm_card(session, staff, siti, rules=RULES, period=period)
        assert len(card.commitments) == 3 and len(card.recent_commitments) == 3
        return len(seen)

    before = await count()
    await results(
        sessions,
        siti,
        [
            (komponen_id, commitment, month, NOT_MET, "sakit")
            for komponen_id, commitment in (
                (kids["anak_sd"], "hadir_sekolah"),
                (kids["anak_smp"], "hadir_sekolah"),
                (kids["anak_usia_dini"], "timbang_imunisasi"),
            )
            for month in range(1, 12)
        ],
    )
    assert await count() == before == 8  # with the latest assessment and the programmes
