"""A message as enqueue would store it for a WhatsApp address: a sweep's payload checked
against its template, for tests whose world reaches staff on the console (where no
template variables are made)."""

from __future__ import annotations

import copy
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.enums import Channel, OutboxStatus
from models.messaging.enqueue import Enqueue, Priority, enqueue
from models.messaging.tables import Outbox
from tests.world import NOW

ADDRESS = "whatsapp:+6281200009999"


class OnWhatsApp(NamedTuple):
    status: OutboxStatus
    error: str | None
    template_variables: dict[str, str] | None


async def on_whatsapp(
    sessions: async_sessionmaker[AsyncSession], kind: str, payload: dict[str, Any]
) -> OnWhatsApp:
    """``payload`` enqueued as ``kind`` for a WhatsApp address, in a transaction rolled
    back (nothing is left in the outbox): the stored status, error and template
    variables."""
    async with sessions() as session:
        added = await enqueue(
            session,
            [Enqueue(Channel.WHATSAPP, ADDRESS, kind, copy.deepcopy(payload), Priority.ALERT)],
            now=NOW,
        )
        assert added == 1
        status, error, stored = (
            await session.execute(
                select(Outbox.status, Outbox.error, Outbox.payload).where(Outbox.address == ADDRESS)
            )
        ).one()
        await session.rollback()
    return OnWhatsApp(status, error, stored.get("template_variables"))
