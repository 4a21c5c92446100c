"""Inbound message ids are kept as long as a provider may deliver a message again, then
forgotten by the housekeeping sweep, in batches."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.bootstrap import build_app
from bot.config import Settings
from bot.jobs import SWEEP_MINUTES, SWEEPS, housekeeping_sweep
from models import conversations
from models.conversations import first_delivery, forget_inbound_before
from models.messaging.tables import InboundMessage
from models.rules.clock import FixedClock
from tests.world import NOW


async def _received(sessions: async_sessionmaker[AsyncSession], ids: dict[str, int]) -> None:
    """Record each external id as received so many days before NOW."""
    async with sessions.begin() as session:
        for external_id, days in ids.items():
            at = NOW - timedelta(days=days)
            assert await first_delivery(session, "whatsapp", external_id, at)


async def _kept(sessions: async_sessionmaker[AsyncSession]) -> set[str]:
    async with sessions() as session:
        return set((await session.scalars(select(InboundMessage.external_id))).all())


async def test_ids_older_than_the_cutoff_are_forgotten_in_batches(
    sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(conversations, "INBOUND_PURGE_BATCH", 5)
    old = {f"wamid.old{n}": 10 for n in range(12)}  # more than two batches
    await _received(sessions, {**old, "wamid.new1": 1, "wamid.new2": 6})
    assert await forget_inbound_before(sessions, NOW - timedelta(days=7)) == 12
    assert await _kept(sessions) == {"wamid.new1", "wamid.new2"}
    async with sessions.begin() as session:
        # A redelivery within the retention is still recognised...
        assert not await first_delivery(session, "whatsapp", "wamid.new2", NOW)
        # ...and one long forgotten is taken as new: no provider redelivers that late.
        assert await first_delivery(session, "whatsapp", "wamid.old0", NOW)
    assert await forget_inbound_before(sessions, NOW - timedelta(days=7)) == 0


async def test_the_housekeeping_sweep_keeps_the_configured_days(db_url, sessions) -> None:
    assert SWEEPS["housekeeping"] is housekeeping_sweep
    assert SWEEP_MINUTES["housekeeping"] == 360
    await _received(sessions, {"wamid.a": 4, "wamid.b": 2})
    settings = Settings(database={"url": db_url}, scheduler={"inbound_id_retention_days": 3})
    app = build_app(settings, clock=FixedClock(NOW))
    try:
        await housekeeping_sweep(app)
    finally:
        await app.close()
    assert await _kept(sessions) == {"wamid.b"}
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(InboundMessage)) == 1


def test_a_retention_shorter_than_telegram_s_redelivery_window_is_refused() -> None:
    with pytest.raises(ValueError, match="inbound_id_retention_days"):
        Settings(scheduler={"inbound_id_retention_days": 1})
