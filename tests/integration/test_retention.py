"""Personal data kept for the configured months: the housekeeping sweep deletes what
people wrote, photos, conversation state, the texts of messages sent and the audit log
once older, in batches, and leaves the rows the figures count; `doctor` shows the
retention in force and the oldest row of each kind."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.bootstrap import build_app
from bot.config import Settings
from bot.jobs import housekeeping_sweep
from models.db import create_engine, session_factory
from models.enums import (
    Channel,
    CommitmentResult,
    InboxStatus,
    KpmMessageStatus,
    MeetingStatus,
    OutboxStatus,
    RsvpAnswer,
)
from models.media_erasure import MediaErasure
from models.messaging.tables import Conversation, Inbox, Outbox
from models.retention import Retention, apply_retention, months_before, oldest_rows
from models.rules.clock import FixedClock
from models.tables import (
    AuditLog,
    CommitmentCheck,
    Komponen,
    KpmMessage,
    MediaAttachment,
    Meeting,
    Rsvp,
)
from tests.cli_text import flat, t
from tests.integration.test_kpm_erasure import invoke
from tests.world import NOW, build_world


def ago(**span: int) -> datetime:
    days = span.get("months", 0) * 31 + span.get("days", 0)
    return NOW - timedelta(days=days)


async def _old_and_new(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Of each kind, rows past the default retention and rows within it."""
    world = await build_world(sessions)
    siti = world.kpm["Siti Aminah"]
    async with sessions.begin() as session:
        old_meeting = Meeting(
            kelompok_id=world.melati, meeting_date=date(2024, 9, 10),
            starts_at=datetime(2024, 9, 10, 2, 0, tzinfo=UTC), status=MeetingStatus.HELD,
        )
        session.add(old_meeting)
        await session.flush()
        for at, text in ((ago(months=14), "pesan lama"), (ago(months=1), "pesan baru")):
            session.add(KpmMessage(kpm_id=siti, address="whatsapp:+62812990010001", text=text,
                                   received_at=at, status=KpmMessageStatus.ANSWERED))
        session.add(Rsvp(meeting_id=old_meeting.id, kpm_id=siti, answer=RsvpAnswer.TIDAK,
                         reason="anak sakit", answered_at=ago(months=26)))
        session.add(Rsvp(meeting_id=world.melati_today, kpm_id=siti, answer=RsvpAnswer.TIDAK,
                         reason="ke pasar", answered_at=ago(days=2)))
        for number, (at, status) in enumerate(
            ((ago(months=14), InboxStatus.FAILED), (ago(days=3), InboxStatus.FAILED))
        ):
            session.add(Inbox(channel=Channel.WHATSAPP, external_id=f"SM{number}",
                              address="whatsapp:+62812990010001", payload={"Body": "halo"},
                              status=status, received_at=at))
        for at in (ago(months=25), ago(months=25), ago(months=2)):
            session.add(MediaAttachment(meeting_id=old_meeting.id, media_ref=f"ref-{at:%Y%m}",
                                        content_type="image/jpeg", created_at=at))
        komponen = await session.scalar(select(Komponen.id).where(Komponen.kpm_id == siti))
        session.add(CommitmentCheck(komponen_id=komponen, kpm_id=siti, commitment="hadir_sekolah",
                                    period_start=date(2024, 9, 1),
                                    result=CommitmentResult.MEMENUHI,
                                    evidence_ref="ref-kia", recorded_at=ago(months=26)))
        for address, at in (("console:lama", ago(months=4)), ("console:baru", ago(days=1))):
            session.add(Conversation(address=address, data={"step": "x"}, updated_at=at))
        for number in range(5):  # more than two batches of two
            session.add(Outbox(channel=Channel.WHATSAPP, address="whatsapp:+62812990010001",
                               kind="meeting_reminder", payload={"text": f"lama {number}"},
                               status=OutboxStatus.DELIVERED, created_at=ago(months=7)))
        session.add(Outbox(channel=Channel.WHATSAPP, address="whatsapp:+62812990010002",
                           kind="reply", payload={"text": "masih menunggu"},
                           status=OutboxStatus.PENDING, created_at=ago(months=7)))
        for status in (OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.PENDING):
            session.add(Outbox(channel=Channel.WHATSAPP, address="whatsapp:+62812990010003",
                               kind="reply", payload={"text": f"tahun lalu {status.value}"},
                               status=status, created_at=ago(months=14)))
        session.add(Outbox(channel=Channel.WHATSAPP, address="whatsapp:+62812990010002",
                           kind="reply", payload={"text": "baru"},
                           status=OutboxStatus.SENT, created_at=ago(days=5)))
        for at in (ago(months=62), ago(days=5)):
            session.add(AuditLog(actor="cli", action="test", entity="kpm", entity_id=siti, at=at))


async def _state(sessions: async_sessionmaker[AsyncSession]) -> dict[str, object]:
    async with sessions() as session:
        async def count(model: type) -> int:
            return await session.scalar(select(func.count()).select_from(model)) or 0

        return {
            "texts": sorted(await session.scalars(select(KpmMessage.text))),
            "messages": await count(KpmMessage),
            "reasons": sorted(
                r or "-" for r in await session.scalars(select(Rsvp.reason))
            ),
            "rsvps": await count(Rsvp),
            "inbox": await count(Inbox),
            "media": sorted(await session.scalars(select(MediaAttachment.media_ref))),
            "evidence": await session.scalar(select(CommitmentCheck.evidence_ref)),
            "conversations": sorted(await session.scalars(select(Conversation.address))),
            "payloads": sorted(
                str(p) for p in await session.scalars(select(Outbox.payload))
            ),
            "outbox": sorted(
                (s.value, c) for s, c in await session.execute(
                    select(Outbox.status, func.count()).group_by(Outbox.status)
                )
            ),
            "audit": await count(AuditLog),
        }


async def test_retention_deletes_old_texts_photos_and_state_in_batches_and_keeps_figures(
    sessions,
) -> None:
    await _old_and_new(sessions)
    erased: list[MediaErasure] = []

    async def eraser(session: AsyncSession, erasure: MediaErasure) -> None:
        erased.append(erasure)

    done = await apply_retention(sessions, Retention(batch_rows=2), now=NOW, erasers=[eraser])
    assert done == {
        "inbound_texts": 3,  # a pesan text, an RSVP reason, an inbox row
        "media": 3,  # two photos, one evidence reference
        "conversations": 1,
        "outbox_payloads": 7,  # the sent ones; those still waiting keep their text
        "outbox_rows": 2,  # settled more than 13 months ago; the waiting one stays
        "audit": 1,
    }
    state = await _state(sessions)
    assert state["texts"] == ["", "pesan baru"] and state["messages"] == 2
    assert state["reasons"] == ["-", "ke pasar"] and state["rsvps"] == 2
    assert state["inbox"] == 1
    assert state["media"] == [f"ref-{ago(months=2):%Y%m}"] and state["evidence"] is None
    assert state["conversations"] == ["console:baru"]
    assert state["payloads"] == sorted(
        ["{}"] * 5
        + ["{'text': 'masih menunggu'}", "{'text': 'baru'}", "{'text': 'tahun lalu pending'}"]
    )
    assert state["outbox"] == [("delivered", 5), ("pending", 2), ("sent", 1)]  # rows stay
    assert state["audit"] == 1 + 0  # the old one went; building the world audits nothing
    assert [len(e.attachments) for e in erased if e.attachments] == [2]
    assert [e.evidence_refs for e in erased if e.evidence_refs] == [("ref-kia",)]
    assert all(e.kpm_id is None for e in erased)

    again = await apply_retention(sessions, Retention(batch_rows=2), now=NOW)
    assert set(again.values()) == {0}
    zero = await apply_retention(
        sessions, Retention(0, 0, 0, 0, 0, batch_rows=2, outbox_row_months=0),
        now=NOW + timedelta(days=4000),
    )
    assert zero == {}  # 0 months: kept for ever


@pytest.mark.parametrize(
    ("now", "months", "expected"),
    [
        (datetime(2026, 11, 22, 3, tzinfo=UTC), 12, datetime(2025, 11, 22, 3, tzinfo=UTC)),
        (datetime(2026, 3, 31, 3, tzinfo=UTC), 1, datetime(2026, 2, 28, 3, tzinfo=UTC)),
        (datetime(2026, 1, 15, tzinfo=UTC), 13, datetime(2024, 12, 15, tzinfo=UTC)),
    ],
)
def test_months_are_calendar_months(now: datetime, months: int, expected: datetime) -> None:
    assert months_before(now, months) == expected


def _doctor(db_url: str) -> str:
    """`doctor`'s output; the log handler the command set on the runner's stream (closed
    once it returns) is taken off again, for the sweep run after it."""
    output = flat(invoke(db_url, "doctor").output)
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if h.get_name() != "pendamping"]
    return output


def _run(db_url: str, work):  # noqa: ANN001, ANN202
    async def go():  # noqa: ANN202
        engine = create_engine(db_url)
        try:
            return await work(session_factory(engine))
        finally:
            await engine.dispose()

    return asyncio.run(go())


def test_doctor_shows_the_retention_and_the_oldest_rows_and_the_sweep_applies_it(
    db_url: str,
) -> None:
    with time_machine.travel(NOW, tick=True):
        _run(db_url, _old_and_new)
        before = _doctor(db_url)
        late = t("cli.doctor.retention_late", months=6, oldest=f"{ago(months=14):%Y-%m-%d}")
        assert late in before, before
        rows_late = t("cli.doctor.retention_late", months=13,
                      oldest=f"{ago(months=14):%Y-%m-%d}")
        assert rows_late in before, before
        assert t("cli.doctor.retention", kind=t("cli.retention.kind.audit")) in before

        settings = Settings(database={"url": db_url}, retention={"audit_months": 0})

        async def sweep() -> None:
            app = build_app(settings, clock=FixedClock(NOW))
            try:
                await housekeeping_sweep(app)
            finally:
                await app.close()

        asyncio.run(sweep())
        oldest = _run(db_url, lambda sessions: _oldest(sessions))
        assert oldest["outbox_payloads"] == ago(days=5)  # the waiting one is not counted
        assert oldest["outbox_rows"] == ago(months=7)  # the rows older than 13 months went
        assert oldest["audit"] == ago(months=62)  # audit_months = 0: kept
        assert oldest["conversations"] == ago(days=1)
        after = _doctor(db_url)
        for months, kind in ((12, "inbound_texts"), (24, "media"), (3, "conversations")):
            line = t("cli.doctor.retention_months", months=months,
                     oldest=f"{oldest[kind]:%Y-%m-%d}")
            assert line in after, (kind, after)
        assert t("cli.doctor.retention_months", months=60,
                 oldest=f"{ago(months=62):%Y-%m-%d}") not in after
        assert t("cli.doctor.retention_late", months=60,
                 oldest=f"{ago(months=62):%Y-%m-%d}") in after  # default 60 in doctor


async def _oldest(sessions: async_sessionmaker[AsyncSession]) -> dict[str, datetime | None]:
    async with sessions() as session:
        return await oldest_rows(session)
