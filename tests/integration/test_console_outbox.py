"""The operator's outbox: failed messages newest first and waiting ones soonest first, a
page at a time; a failed message queued again and a waiting one cancelled, each once and
audited with the operator's id (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.enums import Channel, OutboxStatus, StaffRole
from models.messaging.outbox import cancel_pending, resend_failed
from models.messaging.tables import Outbox
from models.tables import AuditLog, Staff
from reporting.console_outbox import failed_messages, waiting_messages

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


async def _seed(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessions() as session, session.begin():
        operator = Staff(role=StaffRole.ADMIN, name="Operator Dinas", name_key="operator dinas")
        session.add(operator)

        def message(status: OutboxStatus, minutes: int, **values: object) -> Outbox:
            at = NOW - timedelta(minutes=minutes)
            return Outbox(
                channel=Channel.WHATSAPP, address="whatsapp:+6281234567890", kind="alert",
                payload={"text": "rahasia"}, status=status, next_attempt_at=at, created_at=at,
                updated_at=at, **values,
            )

        rows = {
            "old_failure": message(OutboxStatus.FAILED, 60, error="old", attempts=3),
            "new_failure": message(
                OutboxStatus.UNDELIVERED, 5, error_code="63016", attempts=1,
                deadline_at=NOW - timedelta(minutes=1), provider_id="SM1",
            ),
            "late": message(OutboxStatus.PENDING, 1),
            "soon": message(OutboxStatus.PENDING, 30),
            "sent": message(OutboxStatus.SENT, 2),
        }
        session.add_all(rows.values())
        await session.flush()
        return {"operator": operator.id} | {name: row.id for name, row in rows.items()}


async def test_failures_come_newest_first_and_waiting_messages_soonest_first(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    ids = await _seed(sessions)
    async with sessions() as session:
        failed = await failed_messages(session, offset=0, limit=10)
        waiting = await waiting_messages(session, offset=0, limit=10)
        second_page = await failed_messages(session, offset=1, limit=1)
    assert [m.id for m in failed] == [ids["new_failure"], ids["old_failure"]]
    assert failed[0].status == "undelivered" and failed[0].error_code == "63016"
    assert failed[0].channel == "whatsapp"
    assert [m.id for m in waiting] == [ids["soon"], ids["late"]]
    assert [m.id for m in second_page] == [ids["old_failure"]]


async def test_a_failed_message_is_queued_again_once_and_audited(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    ids = await _seed(sessions)
    async with sessions() as session, session.begin():
        assert await resend_failed(
            session, ids["new_failure"], now=NOW, by_staff_id=ids["operator"]
        )
        assert not await resend_failed(session, ids["new_failure"], now=NOW)  # pending now
        assert not await resend_failed(session, ids["sent"], now=NOW)
    async with sessions() as session:
        row = await session.get(Outbox, ids["new_failure"])
        assert row is not None
        assert row.status is OutboxStatus.PENDING
        assert (row.attempts, row.error_code, row.provider_id) == (0, None, None)
        assert row.deadline_at is None  # passed: lifted, or it would fail again at once
        assert row.next_attempt_at == NOW
        audit = (await session.scalars(select(AuditLog).where(AuditLog.entity == "outbox"))).all()
    assert [(a.action, a.entity_id, a.actor, a.actor_staff_id) for a in audit] == [
        ("outbox.resend", ids["new_failure"], "staff", ids["operator"])
    ]
    assert audit[0].detail == {"before": {"status": "undelivered"}, "after": {"status": "pending"}}


async def test_only_a_waiting_message_can_be_cancelled(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    ids = await _seed(sessions)
    async with sessions() as session, session.begin():
        assert await cancel_pending(session, ids["soon"], now=NOW, by_staff_id=ids["operator"])
        assert not await cancel_pending(session, ids["soon"], now=NOW)
        assert not await cancel_pending(session, ids["old_failure"], now=NOW)
    async with sessions() as session:
        row = await session.get(Outbox, ids["soon"])
        assert row is not None and row.status is OutboxStatus.CANCELLED
        actions = list(await session.scalars(select(AuditLog.action)))
    assert actions == ["outbox.cancel"]
