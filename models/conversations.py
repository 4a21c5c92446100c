"""Conversation state and inbound dedupe, in the same transaction as a step's work.

The conversation row of an address is locked for the length of the transaction
(``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's IMMEDIATE transactions already
serialise writers), so two processes never run two steps of one user at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Select, Update, bindparam, delete, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.base import table_of
from models.db.sql import rowcount
from models.db.statements import upsert_insert, upsert_text
from models.enums import Channel
from models.messaging.tables import Conversation, InboundMessage
from models.tables import ChannelIdentity, Staff


async def first_delivery(
    session: AsyncSession, channel: str, external_id: str, now: datetime
) -> bool:
    """Record an inbound provider id; False when it was processed before."""
    result = await session.execute(
        RECORD_INBOUND,
        {"channel": Channel(channel), "external_id": external_id, "received_at": now},
    )
    return bool(rowcount(result))


RECORD_INBOUND = upsert_text(
    table_of(InboundMessage),
    ("channel", "external_id", "received_at"),
    conflict=("channel", "external_id"),
)
"""Every message from a provider runs it: compiled once per database."""


INBOUND_PURGE_BATCH = 5000
"""Inbound ids deleted per transaction: SQLite's write lock is let go between batches,
so chat steps go on while a large backlog is purged."""


async def forget_inbound_before(
    sessions: async_sessionmaker[AsyncSession], before: datetime
) -> int:
    """Delete the inbound ids received before ``before``, in batches; return how many.

    Only as old as no provider redelivers (Telegram keeps an update for 24 hours, Twilio
    retries a webhook within minutes): without this the table grows with every message
    ever received."""
    table = table_of(InboundMessage)
    batch = select(table.c.id).where(table.c.received_at < before).limit(INBOUND_PURGE_BATCH)
    statement = delete(table).where(table.c.id.in_(batch.scalar_subquery()))
    deleted = 0
    while True:
        async with sessions.begin() as session:
            count = (await session.execute(statement)).rowcount  # type: ignore[attr-defined]
        deleted += count
        if count < INBOUND_PURGE_BATCH:
            return deleted


@dataclass
class ConversationState:
    """A mutable view of the conversation row; written back with :func:`save_state`."""

    address: str
    row_id: int = field(repr=False)
    flow: str | None = None
    step: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    expires_at: datetime | None = None

    def clear(self) -> None:
        self.flow, self.step, self.data, self.expires_at = None, None, {}, None


@cache
def _locked_state() -> Select[Any]:
    """Built once: every message runs it (Core columns, no ORM entity to load)."""
    table = table_of(Conversation)
    return (
        select(table.c.id, table.c.flow, table.c.step, table.c.data, table.c.expires_at)
        .where(table.c.address == bindparam("address"))
        .with_for_update()
    )


@cache
def _write_state() -> Update:
    table = table_of(Conversation)
    return update(table).where(table.c.id == bindparam("row_id"))


async def load_state(session: AsyncSession, address: str) -> ConversationState:
    """Lock and read the conversation of ``address``, creating its row on first use."""
    row = (await session.execute(_locked_state(), {"address": address})).first()
    if row is None:
        await session.execute(
            upsert_insert(session.bind.dialect.name)(Conversation)
            .values(address=address, data={})
            .on_conflict_do_nothing(index_elements=["address"])
        )
        row = (await session.execute(_locked_state(), {"address": address})).one()
    return _state(address, *row)


def _state(
    address: str,
    row_id: int,
    flow: str | None,
    step: str | None,
    data: dict[str, Any] | None,
    expires_at: datetime | None,
) -> ConversationState:
    """The state of a row read by :func:`_locked_state` (its columns, in that order)."""
    return ConversationState(
        address=address,
        flow=flow,
        step=step,
        data=dict(data or {}),
        expires_at=expires_at,
        row_id=row_id,
    )


async def save_state(session: AsyncSession, state: ConversationState, now: datetime) -> None:
    """Write the state back: one UPDATE by primary key."""
    await session.execute(
        _write_state(),
        {
            "row_id": state.row_id,
            "flow": state.flow,
            "step": state.step,
            "data": state.data,
            "expires_at": state.expires_at,
            "updated_at": now,
        },
    )


@dataclass(frozen=True)
class Identity:
    """Who an address belongs to: a staff member, a KPM (by id), or nobody yet.

    ``staff`` is a transient :class:`Staff` built from the row read with the step (not an
    object of the step's session): its columns are all there, and nothing is written
    through it."""

    address: str
    identity_id: int | None = None
    staff: Staff | None = None
    kpm_id: int | None = None
    former_staff: bool = False  # linked to a staff member who is no longer active


INBOUND_TIME_PRECISION = timedelta(minutes=5)
"""``last_inbound_at`` is refreshed at most this often (one write saved per message);
whoever checks WhatsApp's 24-hour window must allow this much margin."""

_STAFF_COLUMNS = tuple(column.key for column in table_of(Staff).columns)


@cache
def _identity_of() -> Select[Any]:
    """The address's owner, in table columns only. A statement of ORM attributes or
    entities runs through the ORM's loading machinery at every execution, even for a row
    of plain columns: 530k instructions for this one against 240k in Core (5.5% of a chat
    step once the transient ``Staff`` is built)."""
    identity, staff = table_of(ChannelIdentity), table_of(Staff)
    return (
        select(
            identity.c.id,
            identity.c.last_inbound_at,
            identity.c.kpm_id,
            identity.c.not_on_whatsapp_at,
            *(staff.c[name] for name in _STAFF_COLUMNS),
        )
        .select_from(identity)
        .outerjoin(staff, staff.c.id == identity.c.staff_id)
        .where(identity.c.address == bindparam("address"))
    )


_IDENTITY_WIDTH = 4 + len(_STAFF_COLUMNS)
"""Columns of a row of :func:`_identity_of`; the conversation's follow."""


def _staff(values: Sequence[Any]) -> Staff | None:
    if values[0] is None:  # no staff member joined: the first column is staff.id
        return None
    return Staff(**dict(zip(_STAFF_COLUMNS, values, strict=True)))


@cache
def _note_inbound() -> Update:
    """When the address last wrote; a message from a WhatsApp address marked as not on
    WhatsApp (its KPM is reached by SMS) shows that it is on WhatsApp again."""
    table = table_of(ChannelIdentity)
    return (
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values(
            last_inbound_at=bindparam("b_now", type_=table.c.last_inbound_at.type),
            not_on_whatsapp_at=None,
        )
    )


async def identify(session: AsyncSession, address: str, now: datetime) -> Identity:
    """Find the owner of ``address`` (one query) and note when they last wrote."""
    row = (await session.execute(_identity_of(), {"address": address})).first()
    if row is None:
        return Identity(address=address)
    return await _identity(session, address, row, now=now)


async def _identity(
    session: AsyncSession, address: str, row: Sequence[Any], *, now: datetime
) -> Identity:
    """The identity in a row that begins with :func:`_identity_of`'s columns."""
    identity_id, last_inbound_at, kpm_id, not_on_whatsapp_at = row[:4]
    if (
        last_inbound_at is None
        or now - last_inbound_at >= INBOUND_TIME_PRECISION
        or not_on_whatsapp_at is not None
    ):
        await session.execute(_note_inbound(), {"b_id": identity_id, "b_now": now})
    staff = _staff(row[4:_IDENTITY_WIDTH])
    former = staff is not None and not staff.active
    return Identity(
        address=address,
        identity_id=identity_id,
        staff=None if former else staff,
        kpm_id=kpm_id,
        former_staff=former,
    )


@cache
def _identity_and_state() -> Select[Any]:
    """:func:`_identity_of` with the address's conversation row, locked, in one round
    trip: every message from a known address needs both."""
    conversation = _locked_state().subquery("locked_state")
    return _identity_of().add_columns(*conversation.c).outerjoin(conversation, true())


async def identify_and_lock(
    session: AsyncSession, address: str, now: datetime
) -> tuple[Identity, ConversationState | None]:
    """:func:`identify` and, when the conversation row exists, the locked state that
    :func:`load_state` would read (None: unknown address, or no row yet)."""
    row = (await session.execute(_identity_and_state(), {"address": address})).first()
    if row is None:
        return Identity(address=address), None
    conversation = row[_IDENTITY_WIDTH:]
    state = _state(address, *conversation) if conversation[0] is not None else None
    return await _identity(session, address, row, now=now), state
