"""Families who change, told in chat by their pendamping: a KPM moved to another kelompok,
a KPM who left the programme. What is said, what is asked first, and the rows it leaves:
the KPM's kelompok or status, the reminders withdrawn, the audit with before and after."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from handlers.i18n import Translator
from handlers.parsing.dates import format_date_id
from models.enums import CaseSeverity, CaseStatus, ExitReason, KpmStatus, OutboxStatus
from models.kpm_changes import LEFT, MOVED
from models.messaging.enqueue import Enqueue, Priority, enqueue
from models.messaging.tables import Outbox
from models.rules.clock import FixedClock
from models.tables import AuditLog, CaseNote, Kpm, Meeting
from tests.e2e.test_meetings_change import sweep_reminders
from tests.world import Chat, World, build_world, make_engine

t = Translator()
SWEEP_AT = datetime(2026, 11, 23, 10, tzinfo=UTC)  # Monday 17:00 WIB
LATER = datetime(2026, 11, 23, 11, tzinfo=UTC)  # Monday 18:00 WIB: Ani writes


async def _reminders_planned(sessions, world: World) -> None:
    """Melati's meeting on Thursday 26 November, its reminders in the outbox."""
    async with sessions.begin() as session:
        meeting = await session.get(Meeting, world.melati_today)
        meeting.meeting_date = date(2026, 11, 26)
        meeting.starts_at = datetime(2026, 11, 26, 2, tzinfo=UTC)
        meeting.updated_at = SWEEP_AT
    await sweep_reminders(sessions, SWEEP_AT)


async def _reminders_of(sessions, kpm_id: int) -> list[Outbox]:
    async with sessions() as session:
        rows = await session.scalars(
            select(Outbox).where(Outbox.dedupe_key.like(f"reminder:%:{kpm_id}")).order_by(Outbox.id)
        )
        return list(rows)


async def _audit(sessions, action: str) -> list[AuditLog]:
    async with sessions() as session:
        return list(await session.scalars(select(AuditLog).where(AuditLog.action == action)))


async def test_a_pendamping_moves_a_family_to_her_other_kelompok(sessions) -> None:
    world = await build_world(sessions)
    await _reminders_planned(sessions, world)
    siti = world.kpm["Siti Aminah"]
    planned = len(await _reminders_of(sessions, siti))
    assert planned == 1  # the 1-day one; the 3-day one was due before the meeting was set
    clock = FixedClock(LATER)
    ani = Chat(make_engine(sessions, clock), clock, "console:ani")

    await ani.send("/pindah_kelompok Siti Aminah")
    assert ani.text == t("kpm_change.ask_kelompok", name="Siti Aminah")
    assert [o.label for o in ani.last[-1].options] == ["Kelompok Mawar"]  # not her own
    await ani.send("kenanga")  # Budi's kelompok is not offered, so not understood
    assert ani.text.startswith(t("kpm_change.kelompok_invalid"))
    await ani.send("mawar")  # a part of the name only one kelompok has
    assert ani.text == t("kpm_change.confirm_move", name="Siti Aminah", kelompok="Kelompok Mawar")
    async with sessions() as session:  # nothing is saved before "Ya"
        assert (await session.get(Kpm, siti)).kelompok_id == world.melati
    await ani.send(choice=ani.option(t("kpm_change.option_move")))
    assert ani.text == t(
        "kpm_change.moved", name="Siti Aminah", before="Kelompok Melati", after="Kelompok Mawar"
    )

    async with sessions() as session:
        assert (await session.get(Kpm, siti)).kelompok_id == world.mawar
    reminders = await _reminders_of(sessions, siti)
    assert [(r.status, r.error) for r in reminders] == [(OutboxStatus.CANCELLED, MOVED)]
    others = await _reminders_of(sessions, world.kpm["Siti Rahayu"])
    assert [r.status for r in others] == [OutboxStatus.PENDING]
    (entry,) = await _audit(sessions, "kpm.move")
    assert (entry.actor, entry.actor_staff_id, entry.entity_id) == ("staff", world.ani, siti)
    assert entry.detail["before"] == {"kelompok_id": world.melati}
    assert entry.detail["after"] == {"kelompok_id": world.mawar}
    assert entry.detail["withdrawn"] == 1


async def test_cancelling_a_move_changes_nothing(sessions) -> None:
    world = await build_world(sessions)
    clock = FixedClock(LATER)
    ani = Chat(make_engine(sessions, clock), clock, "console:ani")
    await ani.send("/pindah_kelompok Siti Aminah")
    await ani.send("1")
    await ani.send("tidak tahu")
    assert ani.text.startswith(t("kpm_change.confirm_invalid"))
    await ani.send(choice=ani.option(t("kpm_change.option_cancel")))
    assert ani.text == t("kpm_change.cancelled")
    async with sessions() as session:
        assert (await session.get(Kpm, world.kpm["Siti Aminah"])).kelompok_id == world.melati
    assert await _audit(sessions, "kpm.move") == []


async def test_a_family_of_another_pendamping_cannot_be_moved(sessions) -> None:
    world = await build_world(sessions)
    clock = FixedClock(LATER)
    budi = Chat(make_engine(sessions, clock), clock, "console:budi")
    await budi.send("/pindah_kelompok Tuti Alawiyah")  # of Ani's Kelompok Mawar
    assert budi.text == t("kpm.not_found", query="Tuti Alawiyah")
    await budi.send("/batal")
    await budi.send("/pindah_kelompok Rina Marlina")  # his own, but he has one kelompok
    assert budi.text == t("kpm_change.no_other_kelompok", name="Rina Marlina")
    async with sessions() as session:
        kpm = await session.get(Kpm, world.kpm["Rina Marlina"])
    assert kpm.kelompok_id == world.kenanga


async def test_a_family_who_left_gets_no_reminders_and_the_card_says_why(sessions) -> None:
    world = await build_world(sessions)
    await _reminders_planned(sessions, world)
    siti = world.kpm["Siti Aminah"]
    async with sessions.begin() as session:  # an alert about her, waiting to go out
        await enqueue(
            session,
            [
                Enqueue(
                    channel="console",
                    address="console:ani",
                    kind="alert",
                    payload={"key": "alert.graduation_soon", "values": {}},
                    priority=Priority.NUDGE,
                    dedupe_key=f"grad-soon:{siti}:2029-03-01",
                )
            ],
            now=SWEEP_AT,
        )
    clock = FixedClock(LATER)
    ani = Chat(make_engine(sessions, clock), clock, "console:ani")

    await ani.send("/keluar_pkh Siti Aminah")
    assert ani.text == t("kpm_change.ask_reason", name="Siti Aminah")
    assert len(ani.last[-1].options) == len(ExitReason)
    await ani.send("graduasi")  # two reasons say graduasi: not enough to choose
    assert ani.text.startswith(t("kpm_change.reason_invalid"))
    await ani.send("meninggal")
    assert ani.text == t("kpm_change.ask_date")
    await ani.send("besok")
    assert ani.text.startswith(
        t("kpm_change.date_future", date=format_date_id(date(2026, 11, 24)))
    )
    await ani.send("kemarin")
    reason = t("kpm.exit_reason.meninggal")
    day = format_date_id(date(2026, 11, 22))
    assert ani.text == t("kpm_change.confirm_leave", name="Siti Aminah", reason=reason, date=day)
    async with sessions() as session:
        assert (await session.get(Kpm, siti)).status is KpmStatus.AKTIF
    await ani.send(choice=ani.option(t("kpm_change.option_leave")))
    assert ani.text == t("kpm_change.left", name="Siti Aminah", reason=reason, date=day)

    async with sessions() as session:
        kpm = await session.get(Kpm, siti)
        alert = await session.scalar(select(Outbox).where(Outbox.kind == "alert"))
    assert (kpm.status, kpm.exit_reason, kpm.left_on) == (
        KpmStatus.KELUAR,
        ExitReason.MENINGGAL,
        date(2026, 11, 22),
    )
    assert (alert.status, alert.error) == (OutboxStatus.CANCELLED, LEFT)
    reminders = await _reminders_of(sessions, siti)
    assert [(r.status, r.error) for r in reminders] == [(OutboxStatus.CANCELLED, LEFT)]
    (entry,) = await _audit(sessions, "kpm.leave")
    assert entry.detail["before"] == {"status": "aktif"}
    assert entry.detail["after"] == {
        "status": "keluar",
        "exit_reason": "meninggal",
        "on": "2026-11-22",
    }

    # The next sweep plans nothing for her (the others' reminders are already there).
    assert await sweep_reminders(sessions, datetime(2026, 11, 25, 10, tzinfo=UTC)) == 0
    assert len(await _reminders_of(sessions, siti)) == 1

    await ani.send("/kpm Siti Aminah")  # her history stays; the card says she left
    status = t(
        "kpm.card_left", status=t("kpm.status.keluar"), date=day, reason=reason
    )
    assert status in ani.text
    await ani.send("/keluar_pkh Siti Aminah")  # only once
    assert ani.text == t("kpm_change.not_active", name="Siti Aminah")


async def test_graduasi_mandiri_recorded_as_leaving_dates_the_graduation(sessions) -> None:
    world = await build_world(sessions)
    async with sessions.begin() as session:
        session.add(
            CaseNote(
                kpm_id=world.kpm["Sri Wahyuni"],
                staff_id=world.ani,
                category="lainnya",
                description="kunjungan rumah",
                severity=CaseSeverity.BIASA,
                status=CaseStatus.BARU,
            )
        )
    clock = FixedClock(LATER)
    ani = Chat(make_engine(sessions, clock), clock, "console:ani")
    await ani.send("/keluar_pkh Sri Wahyuni")
    await ani.send("mandiri")
    await ani.send(t("kpm_change.option_today"))
    await ani.send("1")  # Ya, simpan
    async with sessions() as session:
        kpm = await session.get(Kpm, world.kpm["Sri Wahyuni"])
        case = await session.scalar(select(CaseNote))
    assert (kpm.status, kpm.graduated_on, kpm.left_on) == (
        KpmStatus.GRADUASI_MANDIRI,
        date(2026, 11, 23),
        date(2026, 11, 23),
    )
    assert case.status is CaseStatus.BARU  # her open case stays with Ani
