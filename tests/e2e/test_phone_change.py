"""A KPM's number changes: told by the pendamping in chat, by the KPM from the old phone,
or by a roster file. The old address is detached and gets nothing more, the new one gets
what follows, and the audit row shows no full number."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import select

from handlers.i18n import Translator
from handlers.phone_change import shown
from models.enums import OutboxStatus
from models.messaging.tables import Outbox
from models.phone_changes import PHONE_CHANGED
from models.rules.clock import FixedClock
from models.tables import AuditLog, ChannelIdentity, Kpm, Meeting
from tests.e2e.test_meetings_change import sweep_reminders
from tests.integration.test_roster_import import catalog, kpm_row, run, write_csv
from tests.world import Chat, World, build_world, make_engine

__all__ = ["catalog"]  # the roster import's komponen catalog fixture, used below

t = Translator()
SWEEP_AT = datetime(2026, 11, 23, 10, tzinfo=UTC)  # Monday 17:00 WIB
LATER = datetime(2026, 11, 23, 11, tzinfo=UTC)
NEW = "+6281311112222"


async def _reminders_planned(sessions, world: World) -> None:
    """Melati's meeting on Thursday 26 November, its reminders in the outbox."""
    async with sessions.begin() as session:
        meeting = await session.get(Meeting, world.melati_today)
        meeting.meeting_date = date(2026, 11, 26)
        meeting.starts_at = datetime(2026, 11, 26, 2, tzinfo=UTC)
        meeting.updated_at = SWEEP_AT
    await sweep_reminders(sessions, SWEEP_AT)


async def _phone(sessions, kpm_id: int) -> str:
    async with sessions() as session:
        return (await session.get(Kpm, kpm_id)).phone


async def _reminders_of(sessions, kpm_id: int) -> list[Outbox]:
    async with sessions() as session:
        rows = list(
            await session.scalars(
                select(Outbox).where(Outbox.kind == "meeting_reminder").order_by(Outbox.id)
            )
        )
        # withdrawn ones have their key set aside: "reminder:...:{id}~phone-..."
        ends = [(row.dedupe_key or "").split("~")[0].rsplit(":", 1)[-1] for row in rows]
        return [row for row, end in zip(rows, ends, strict=True) if end == str(kpm_id)]


async def _identity(sessions, address: str) -> ChannelIdentity | None:
    async with sessions() as session:
        return await session.scalar(
            select(ChannelIdentity).where(ChannelIdentity.address == address)
        )


async def _audits(sessions) -> list[AuditLog]:
    async with sessions() as session:
        return list(
            await session.scalars(select(AuditLog).where(AuditLog.action == "kpm.phone"))
        )


async def test_a_pendamping_changes_a_number_and_the_old_one_gets_nothing_more(sessions) -> None:
    world = await build_world(sessions)
    await _reminders_planned(sessions, world)
    siti = world.kpm["Siti Aminah"]
    old = await _phone(sessions, siti)
    clock = FixedClock(LATER)
    engine = make_engine(sessions, clock)
    phone = Chat(engine, clock, f"whatsapp:{old}")
    await phone.send("halo bu")  # the old phone is linked by writing
    assert (await _identity(sessions, f"whatsapp:{old}")).kpm_id == siti
    (reminder,) = await _reminders_of(sessions, siti)
    assert (reminder.address, reminder.status) == (f"whatsapp:{old}", OutboxStatus.PENDING)

    ani = Chat(engine, clock, "console:ani")
    await ani.send("ganti nomor Siti Aminah 0813-1111-2222")
    assert ani.text == t(
        "phone_change.confirm", sapaan="Ibu", name="Siti Aminah", before=shown(old),
        after="0813••••222",
    )
    assert await _phone(sessions, siti) == old  # nothing before "Ya"
    await ani.send("1")
    assert ani.text == t(
        "phone_change.done", sapaan="Ibu", name="Siti Aminah", before=shown(old),
        after="0813••••222",
    )

    assert await _phone(sessions, siti) == NEW
    assert (await _identity(sessions, f"whatsapp:{old}")).kpm_id is None
    (withdrawn,) = await _reminders_of(sessions, siti)
    assert (withdrawn.status, withdrawn.error) == (OutboxStatus.CANCELLED, PHONE_CHANGED)
    (entry,) = await _audits(sessions)
    assert (entry.actor, entry.actor_staff_id, entry.entity_id) == ("staff", world.ani, siti)
    assert entry.detail["withdrawn"] == 1 and entry.detail["unlinked"] == 1
    assert old[3:] not in str(entry.detail) and NEW[3:] not in str(entry.detail)

    await sweep_reminders(sessions, LATER)  # the reminder is planned again, to the new number
    reminders = await _reminders_of(sessions, siti)
    pending = [r for r in reminders if r.status is OutboxStatus.PENDING]
    assert [r.address for r in pending] == [f"whatsapp:{NEW}"]
    async with sessions() as session:
        to_old = await session.scalars(
            select(Outbox).where(
                Outbox.address == f"whatsapp:{old}", Outbox.status == OutboxStatus.PENDING,
                Outbox.kind == "meeting_reminder",
            )
        )
        assert list(to_old) == []

    await ani.send("/riwayat Siti Aminah")  # the change, with the numbers masked
    assert t("history.kpm_phone", before=entry.detail["before"]["phone"],
             after=entry.detail["after"]["phone"]) in ani.text
    assert old[3:] not in ani.text
    await phone.send("halo lagi")  # the old phone is nobody's now
    assert phone.text == t("register.unknown_sender")
    new_phone = Chat(engine, clock, f"whatsapp:{NEW}")
    await new_phone.send("1")
    assert new_phone.text == t("rsvp.coming", sapaan="Ibu", name="Siti Aminah")


async def test_a_bad_number_and_a_kpm_asking_for_another_kpm_number_are_refused(
    sessions,
) -> None:
    """(The pendamping may put a KPM on another's phone: tests/e2e/test_shared_phone.py.)"""
    world = await build_world(sessions)
    siti = world.kpm["Siti Aminah"]
    old = await _phone(sessions, siti)
    taken = await _phone(sessions, world.kpm["Siti Rahayu"])
    clock = FixedClock(LATER)
    engine = make_engine(sessions, clock)
    ani = Chat(engine, clock, "console:ani")
    await ani.send("ganti nomor Siti Aminah 12")
    assert ani.text == t("phone_change.usage")
    await ani.send("ganti nomor Siti Aminah 0000000000")
    assert ani.text == t("phone_change.invalid")
    kpm_phone = Chat(engine, clock, f"whatsapp:{old}")
    await kpm_phone.send(f"GANTI NOMOR {taken}")
    assert kpm_phone.text == t("phone_change.kpm_taken", sapaan="Ibu", name="Siti Aminah")
    assert await _phone(sessions, siti) == old
    assert await _audits(sessions) == []


async def test_the_kpm_changes_the_number_from_the_old_phone(sessions) -> None:
    world = await build_world(sessions)
    sri = world.kpm["Sri Wahyuni"]
    old = await _phone(sessions, sri)
    clock = FixedClock(LATER)
    engine = make_engine(sessions, clock)
    phone = Chat(engine, clock, f"whatsapp:{old}")
    await phone.send("GANTI NOMOR 0813 1111 2222")
    assert phone.text == t(
        "phone_change.kpm_done", sapaan="Ibu", name="Sri Wahyuni", after="0813••••222"
    )
    assert await _phone(sessions, sri) == NEW
    assert (await _identity(sessions, f"whatsapp:{old}")).kpm_id is None
    (entry,) = await _audits(sessions)
    assert (entry.actor, entry.entity_id) == ("kpm", sri)
    async with sessions() as session:
        (notice,) = await session.scalars(select(Outbox).where(Outbox.kind == "alert"))
    assert notice.address == "console:ani"
    assert notice.payload["key"] == "phone_change.notice"
    assert notice.payload["values"]["after"] == "0813••••222"
    new_phone = Chat(engine, clock, f"whatsapp:{NEW}")
    await new_phone.send("halo bu")  # the new phone is hers: a pesan KPM
    assert new_phone.text == t("pesan.ack_forwarded", sapaan="Ibu", name="Sri Wahyuni")


async def test_a_roster_with_a_changed_phone_reports_it_and_detaches_the_old(
    sessions, catalog, tmp_path: Path
) -> None:
    await run(sessions, write_csv(tmp_path / "v1.csv", [kpm_row(1), kpm_row(2)]), catalog)
    async with sessions() as session:
        kpm_id = await session.scalar(select(Kpm.id).where(Kpm.id_pkh == "P-001"))
    clock = FixedClock(datetime(2025, 7, 1, 4, tzinfo=UTC))
    old = "+6281234560001"
    await Chat(make_engine(sessions, clock), clock, f"whatsapp:{old}").send("halo")
    assert (await _identity(sessions, f"whatsapp:{old}")).kpm_id == kpm_id

    second = write_csv(tmp_path / "v2.csv", [kpm_row(1, **{"No HP": "0813-1111-2222"}),
                                             kpm_row(2)])
    report = await run(sessions, second, catalog)

    assert (report.updated, report.unchanged, report.phones_changed) == (1, 1, 1)
    assert await _phone(sessions, kpm_id) == NEW
    assert (await _identity(sessions, f"whatsapp:{old}")).kpm_id is None


async def test_an_erased_family_gets_no_new_number(sessions) -> None:
    from models.erasure import erase
    from models.phone_changes import PhoneChangeError, change_phone

    world = await build_world(sessions)
    async with sessions.begin() as session:
        siti = await session.get(Kpm, world.kpm["Siti Aminah"])
        await erase(session, siti, "permintaan KPM", by=None, now=LATER)
    async with sessions.begin() as session:
        siti = await session.get(Kpm, world.kpm["Siti Aminah"])
        try:
            await change_phone(session, siti, "0813-1111-2222", by=None, now=LATER, share=True)
        except PhoneChangeError as refused:
            assert refused.key == "erased"
        else:
            raise AssertionError("an erased family was given a number")
    assert await _phone(sessions, world.kpm["Siti Aminah"]) is None
