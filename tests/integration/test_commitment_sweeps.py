"""Commitment checks in the sweeps, on both databases: the warnings of the alerts sweep
(peringatan 1, 2, 3 once each, the coordinator and supervisor at the last one only, a met
result starting a new streak, old streaks left alone) and the nudge near a period's end
(once per pendamping and period, the count per kelompok, none when all is verified,
quiet hours). Time is injected (``now=``); running a sweep again stands for its next run.

The world (tests/world.py): Ani holds Kelompok Melati and Mawar, Budi holds Kenanga, Dewi
coordinates the kabupaten; all in Jawa Tengah (WIB, UTC+7). Siti Aminah (Melati) has a
child in SD, so "Hadir di sekolah" is due for her every month.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.text import payload_text
from handlers.i18n import Translator
from models.enums import Channel, CommitmentResult, OutboxStatus, StaffRole
from models.messaging.enqueue import Priority
from models.messaging.tables import Outbox
from models.rules.commitments import CommitmentRules, Period
from models.tables import ChannelIdentity, CommitmentCheck, Komponen, Staff
from scheduler.alerts import enqueue_alerts
from scheduler.nudges import enqueue_nudges
from tests.on_whatsapp import on_whatsapp
from tests.world import World, build_world, default_catalog

RULES = CommitmentRules()  # monthly, three warning levels, reminded five days before the end
ALERTS: dict[str, Any] = {
    "horizon_days": 90,
    "absence_streak": 2,
    "quiet_start": time(21, 0),
    "quiet_end": time(6, 0),
    "commitments": RULES,
    "catalog": default_catalog(),
}
NUDGES: dict[str, Any] = {
    "morning_time": time(6, 30),
    "quiet_start": time(21, 0),
    "quiet_end": time(6, 0),
    "commitments": RULES,
}
MET, NOT_MET = CommitmentResult.MEMENUHI, CommitmentResult.TIDAK_MEMENUHI
t = Translator()


def wib(day: date, hour: int, minute: int = 0) -> datetime:
    """A wall-clock time in Jawa Tengah (UTC+7), as UTC."""
    return datetime.combine(day, time(hour, minute), UTC) - timedelta(hours=7)


def month(year: int, number: int) -> Period:
    return RULES.period_of(date(year, number, 1))


SEPTEMBER, OCTOBER, NOVEMBER, DECEMBER = (month(2026, n) for n in (9, 10, 11, 12))


async def komponen_of(sessions: async_sessionmaker[AsyncSession], kpm_id: int) -> int:
    async with sessions() as session:
        found = await session.scalar(select(Komponen.id).where(Komponen.kpm_id == kpm_id))
    assert found is not None
    return found


async def add_komponen(sessions, kpm_id: int, kind: str, born: date) -> int:
    async with sessions.begin() as session:
        row = Komponen(kpm_id=kpm_id, type=kind, birth_date=born, end_date=date(2030, 1, 1))
        session.add(row)
        await session.flush()
        return row.id


async def record(
    sessions, komponen_id: int, kpm_id: int, commitment: str, period: Period, result, reason=None
) -> None:
    async with sessions.begin() as session:
        session.add(
            CommitmentCheck(
                komponen_id=komponen_id,
                kpm_id=kpm_id,
                commitment=commitment,
                period_start=period.start,
                result=result,
                reason=reason if result is NOT_MET else None,
                recorded_at=wib(period.start, 10),
            )
        )


async def outbox(sessions, prefix: str) -> list[Outbox]:
    async with sessions() as session:
        rows = await session.scalars(
            select(Outbox).where(Outbox.dedupe_key.startswith(prefix)).order_by(Outbox.id)
        )
        return list(rows)


async def add_supervisor(sessions, world: World) -> int:
    """Sari supervises Ani, with a chat of her own."""
    async with sessions.begin() as session:
        sari = Staff(role=StaffRole.SUPERVISOR, name="Sari Supervisor", name_key="sari supervisor")
        session.add(sari)
        await session.flush()
        session.add(
            ChannelIdentity(address="console:sari", channel=Channel.CONSOLE, staff_id=sari.id)
        )
        ani = await session.get(Staff, world.ani)
        assert ani is not None
        ani.supervisor_id = sari.id
        return sari.id


# --- warnings ----------------------------------------------------------------------------------


async def test_warnings_climb_one_level_a_period_and_the_last_also_reaches_the_coordinator(
    sessions, caplog: pytest.LogCaptureFixture
) -> None:
    world = await build_world(sessions)
    sari = await add_supervisor(sessions, world)
    siti = world.kpm["Siti Aminah"]
    sd = await komponen_of(sessions, siti)
    key = f"commitment:{sd}:hadir_sekolah:2026-09-01"

    await record(sessions, sd, siti, "hadir_sekolah", SEPTEMBER, NOT_MET, "sakit")
    first = await enqueue_alerts(sessions, now=wib(date(2026, 9, 28), 10), **ALERTS)
    again = await enqueue_alerts(sessions, now=wib(date(2026, 9, 28), 10, 30), **ALERTS)
    assert (first.commitment_streaks, first.commitment_last_level, first.enqueued) == (1, 0, 1)
    assert (again.commitment_streaks, again.enqueued) == (1, 0)
    [one] = await outbox(sessions, "commitment:")
    assert (one.address, one.dedupe_key, one.kind) == ("console:ani", f"{key}:1", "alert")
    assert one.priority == Priority.ALERT
    assert payload_text(one.payload, t) == (
        'Peringatan komitmen 1 dari 3: Siti Aminah (Kelompok Melati) tidak memenuhi "Hadir '
        'di sekolah" untuk Anak SD dalam 1 periode verifikasi terakhir (sampai September '
        "2026). Mohon kunjungi keluarga ini dan bantu agar komitmennya terpenuhi."
    )
    # For a WhatsApp address enqueue makes the template variables, in the template's order.
    assert "template_variables" not in one.payload
    assert await on_whatsapp(sessions, one.kind, one.payload) == (
        OutboxStatus.PENDING,
        None,
        {
            "1": "1",
            "2": "3",
            "3": "Siti Aminah",
            "4": "Kelompok Melati",
            "5": "Hadir di sekolah",
            "6": "Anak SD",
            "7": "1",
            "8": "September 2026",
        },
    )

    await record(sessions, sd, siti, "hadir_sekolah", OCTOBER, NOT_MET, "biaya")
    second = await enqueue_alerts(sessions, now=wib(date(2026, 10, 28), 10), **ALERTS)
    assert (second.commitment_last_level, second.enqueued) == (0, 1)
    assert [r.dedupe_key for r in await outbox(sessions, "commitment:")][-1] == f"{key}:2"

    await record(sessions, sd, siti, "hadir_sekolah", NOVEMBER, NOT_MET, "biaya")
    caplog.set_level(logging.INFO, logger="scheduler.alerts")
    third = await enqueue_alerts(sessions, now=wib(date(2026, 11, 25), 10), **ALERTS)
    repeat = await enqueue_alerts(sessions, now=wib(date(2026, 11, 25), 10, 30), **ALERTS)
    assert (third.commitment_streaks, third.commitment_last_level, third.enqueued) == (1, 1, 3)
    assert (repeat.commitment_last_level, repeat.enqueued) == (1, 0)
    rows = {r.address: r for r in (await outbox(sessions, "commitment:"))[2:]}
    assert {address: r.dedupe_key for address, r in rows.items()} == {
        "console:ani": f"{key}:3",
        "console:dewi": f"{key}:3:staff:{world.dewi}",
        "console:sari": f"{key}:3:staff:{sari}",
    }
    assert payload_text(rows["console:ani"].payload, t) == (
        'Peringatan komitmen 3 dari 3 (terakhir): Siti Aminah (Kelompok Melati) tidak memenuhi '
        '"Hadir di sekolah" untuk Anak SD dalam 3 periode verifikasi terakhir (sampai November '
        "2026). Koordinator dan supervisor juga diberi tahu. Mohon segera kunjungi keluarga ini."
    )
    assert payload_text(rows["console:dewi"].payload, t) == (
        'Peringatan komitmen 3 dari 3 (terakhir): Siti Aminah (Kelompok Melati, pendamping Ani '
        'Suryani) tidak memenuhi "Hadir di sekolah" untuk Anak SD dalam 3 periode verifikasi '
        "terakhir (sampai November 2026). Mohon ditindaklanjuti bersama pendamping."
    )
    escalated = await on_whatsapp(sessions, "alert", rows["console:dewi"].payload)
    assert escalated.status is OutboxStatus.PENDING and escalated.template_variables
    assert escalated.template_variables["5"] == "Ani Suryani"
    # The figures are logged, never a name.
    logged = "\n".join(r.getMessage() for r in caplog.records if "alerts:" in r.getMessage())
    assert "1 commitment streaks (1 at the last level)" in logged
    assert "Siti" not in logged and "Melati" not in logged

    # A fourth period not met: still the last level, nobody is told again.
    await record(sessions, sd, siti, "hadir_sekolah", DECEMBER, NOT_MET, "biaya")
    fourth = await enqueue_alerts(sessions, now=wib(date(2026, 12, 20), 10), **ALERTS)
    assert (fourth.commitment_last_level, fourth.enqueued) == (1, 0)
    assert len(await outbox(sessions, "commitment:")) == 5


async def test_a_met_result_ends_the_streak_and_the_next_one_starts_at_level_one(
    sessions,
) -> None:
    world = await build_world(sessions)
    siti = world.kpm["Siti Aminah"]
    sd = await komponen_of(sessions, siti)
    await record(sessions, sd, siti, "hadir_sekolah", SEPTEMBER, NOT_MET, "sakit")
    await enqueue_alerts(sessions, now=wib(date(2026, 9, 28), 10), **ALERTS)
    await record(sessions, sd, siti, "hadir_sekolah", OCTOBER, MET)
    met = await enqueue_alerts(sessions, now=wib(date(2026, 10, 28), 10), **ALERTS)
    assert (met.commitment_streaks, met.enqueued) == (0, 0)

    await record(sessions, sd, siti, "hadir_sekolah", NOVEMBER, NOT_MET, "sakit")
    await enqueue_alerts(sessions, now=wib(date(2026, 11, 25), 10), **ALERTS)
    await record(sessions, sd, siti, "hadir_sekolah", DECEMBER, NOT_MET, "sakit")
    await enqueue_alerts(sessions, now=wib(date(2026, 12, 20), 10), **ALERTS)

    keys = [r.dedupe_key for r in await outbox(sessions, "commitment:")]
    assert keys == [
        f"commitment:{sd}:hadir_sekolah:2026-09-01:1",
        f"commitment:{sd}:hadir_sekolah:2026-11-01:1",
        f"commitment:{sd}:hadir_sekolah:2026-11-01:2",
    ]


async def test_only_streaks_up_to_the_previous_period_are_news(sessions) -> None:
    world = await build_world(sessions)
    siti, rina = world.kpm["Siti Aminah"], world.kpm["Rina Marlina"]  # Ani's, Budi's
    sd = await komponen_of(sessions, siti)
    smp = await add_komponen(sessions, rina, "anak_smp", date(2013, 5, 1))
    for period in (month(2026, 8), SEPTEMBER):  # last in September: old news in November
        await record(sessions, sd, siti, "hadir_sekolah", period, NOT_MET, "sakit")
    await record(sessions, smp, rina, "hadir_sekolah", OCTOBER, NOT_MET, "biaya")

    report = await enqueue_alerts(sessions, now=wib(date(2026, 11, 3), 10), **ALERTS)

    assert (report.commitment_streaks, report.enqueued) == (1, 1)
    [row] = await outbox(sessions, "commitment:")
    assert (row.address, row.dedupe_key) == (
        "console:budi",
        f"commitment:{smp}:hadir_sekolah:2026-10-01:1",
    )
    assert row.payload["values"]["komponen"] == "Anak SMP"


async def test_warnings_wait_for_the_end_of_quiet_hours_and_without_rules_none_are_made(
    sessions,
) -> None:
    world = await build_world(sessions)
    siti = world.kpm["Siti Aminah"]
    sd = await komponen_of(sessions, siti)
    await record(sessions, sd, siti, "hadir_sekolah", NOVEMBER, NOT_MET, "sakit")
    late = wib(date(2026, 11, 25), 22, 30)
    without = {k: v for k, v in ALERTS.items() if k not in ("commitments", "catalog")}
    assert (await enqueue_alerts(sessions, now=late, **without)).commitment_streaks == 0
    assert await outbox(sessions, "commitment:") == []

    await enqueue_alerts(sessions, now=late, **ALERTS)
    [row] = await outbox(sessions, "commitment:")
    assert row.next_attempt_at == wib(date(2026, 11, 26), 6)


# --- the nudge near a period's end ----------------------------------------------------------


async def due_world(sessions) -> tuple[World, dict[str, tuple[int, int]]]:
    """November's due pairs: Melati 2 (Siti Aminah, Sri Wahyuni at school), Mawar 2 (Ani
    Marlina at school, Tuti Alawiyah's toddler weighed), Kenanga 1 (Rina Marlina)."""
    world = await build_world(sessions)
    pairs = {"Siti Aminah": (await komponen_of(sessions, world.kpm["Siti Aminah"]), 0)}
    for name, kind, born in (
        ("Sri Wahyuni", "anak_sd", date(2017, 2, 1)),
        ("Ani Marlina", "anak_smp", date(2013, 5, 1)),
        ("Tuti Alawiyah", "anak_usia_dini", date(2024, 6, 1)),
        ("Rina Marlina", "anak_sd", date(2018, 8, 1)),
    ):
        pairs[name] = (await add_komponen(sessions, world.kpm[name], kind, born), 0)
    return world, {name: (komponen, world.kpm[name]) for name, (komponen, _) in pairs.items()}


COMMITMENT = {"Tuti Alawiyah": "timbang_imunisasi"}


async def verify(sessions, pairs, *names: str, period: Period = NOVEMBER) -> None:
    for name in names:
        komponen, kpm = pairs[name]
        await record(sessions, komponen, kpm, COMMITMENT.get(name, "hadir_sekolah"), period, MET)


async def test_the_nudge_lists_what_is_left_per_kelompok_once_from_the_reminder_morning(
    sessions,
) -> None:
    world, pairs = await due_world(sessions)
    await verify(sessions, pairs, "Siti Aminah", "Rina Marlina")  # Budi is done

    # The 30th is November's last day: reminded from the morning of the 25th.
    early = await enqueue_nudges(sessions, now=wib(date(2026, 11, 25), 6, 0), **NUDGES)
    assert early.commitments == 0 and await outbox(sessions, "nudge-commitments:") == []
    first = await enqueue_nudges(sessions, now=wib(date(2026, 11, 25), 6, 30), **NUDGES)
    again = await enqueue_nudges(sessions, now=wib(date(2026, 11, 27), 9), **NUDGES)

    assert first.commitments == 1 and again.commitments == 0
    [row] = await outbox(sessions, "nudge-commitments:")
    assert (row.address, row.kind) == ("console:ani", "pendamping_nudge")
    assert row.priority == Priority.NUDGE
    assert row.dedupe_key == f"nudge-commitments:2026-11-01:{world.ani}"
    assert row.next_attempt_at == wib(date(2026, 11, 25), 6, 30)
    assert row.deadline_at == wib(date(2026, 12, 1), 0)  # no use once the period is over
    assert payload_text(row.payload, t) == (
        "Periode verifikasi komitmen November 2026 berakhir Senin, 30 November 2026. Belum "
        "diverifikasi: Kelompok Mawar 2, Kelompok Melati 1. Lanjutkan dengan /komitmen."
    )
    assert "template_variables" not in row.payload
    assert await on_whatsapp(sessions, row.kind, row.payload) == (
        OutboxStatus.PENDING,
        None,
        {
            "1": "November 2026",
            "2": "Senin, 30 November 2026",
            "3": "Kelompok Mawar 2, Kelompok Melati 1",
        },
    )


async def test_no_nudge_when_all_is_verified_or_before_the_reminder_days(sessions) -> None:
    world, pairs = await due_world(sessions)
    before = await enqueue_nudges(sessions, now=wib(date(2026, 11, 24), 12), **NUDGES)
    assert before.commitments == 0

    await verify(sessions, pairs, *pairs)
    done = await enqueue_nudges(sessions, now=wib(date(2026, 11, 26), 9), **NUDGES)
    assert done.commitments == 0 and await outbox(sessions, "nudge-commitments:") == []

    # December: nothing verified yet, so Ani and Budi are both reminded near its end.
    december = await enqueue_nudges(sessions, now=wib(date(2026, 12, 26), 9), **NUDGES)
    rows = await outbox(sessions, "nudge-commitments:")
    assert december.commitments == 2
    assert {r.dedupe_key: r.payload["values"]["counts"] for r in rows} == {
        f"nudge-commitments:2026-12-01:{world.ani}": "Kelompok Mawar 2, Kelompok Melati 2",
        f"nudge-commitments:2026-12-01:{world.budi}": "Kelompok Kenanga 1",
    }


async def test_a_nudge_first_due_in_quiet_hours_waits_for_their_end(sessions) -> None:
    await due_world(sessions)
    # The sweep did not run until 22.00 on the 27th (the process was down). A caller
    # without the commitment rules makes no such nudge.
    late = wib(date(2026, 11, 27), 22)
    plain = {k: v for k, v in NUDGES.items() if k != "commitments"}
    assert (await enqueue_nudges(sessions, now=late, **plain)).commitments == 0
    assert await outbox(sessions, "nudge-commitments:") == []

    report = await enqueue_nudges(sessions, now=late, **NUDGES)

    rows = await outbox(sessions, "nudge-commitments:")
    assert report.commitments == 2 and len(rows) == 2
    assert {r.next_attempt_at for r in rows} == {wib(date(2026, 11, 28), 6)}
