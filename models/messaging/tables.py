"""The messaging tables: the outbox, the inbox and the inbound ids already processed,
conversation state, files kept for a channel to send, and the codes that link a group
chat."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, JSONType, UTCDateTime, enum_type, utcnow
from models.enums import Channel, InboxStatus, OutboxStatus

DONE_STATUSES_SQL = "status IN ('sent', 'delivered', 'read', 'failed', 'undelivered')"
"""The outbox rows with a final delivery result, as ``ix_outbox_address_done`` and the
queries that use it write it (SQLite uses a partial index only for a query that repeats
its condition word for word)."""


class Outbox(Base):
    """Every message that leaves: the dispatcher's queue and its delivery record."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "channel", "next_attempt_at", "priority"),
        # Only sent messages have a provider id: the rows a sweep enqueues by the
        # hundred thousand add nothing to this index.
        Index(
            "ix_outbox_provider_id",
            "provider_id",
            sqlite_where=text("provider_id IS NOT NULL"),
            postgresql_where=text("provider_id IS NOT NULL"),
        ),
        # SMS sent, by time: the month's segments (per kabupaten, against the budget).
        Index(
            "ix_outbox_sms_sent",
            "sent_at",
            sqlite_where=text("segments IS NOT NULL"),
            postgresql_where=text("segments IS NOT NULL"),
        ),
        # Messages with a final delivery result, by address: whether the last one to a
        # number failed (models.reach); pending rows (a sweep's bulk insert) are not in it.
        Index(
            "ix_outbox_address_done",
            "address",
            "id",
            sqlite_where=text(DONE_STATUSES_SQL),
            postgresql_where=text(DONE_STATUSES_SQL),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[Channel] = mapped_column(enum_type(Channel, "channel"))
    address: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(40))
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    priority: Mapped[int] = mapped_column(Integer, default=0)  # lower is sooner
    status: Mapped[OutboxStatus] = mapped_column(
        enum_type(OutboxStatus, "outbox_status"), default=OutboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    provider_id: Mapped[str | None] = mapped_column(String(80))
    error_code: Mapped[str | None] = mapped_column(String(40))
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    segments: Mapped[int | None] = mapped_column(Integer)  # an SMS sent: segments billed
    # The recipient's region (Kemendagri code): which regional sender a message the
    # business starts goes from (bot.senders); None: the default sender.
    region: Mapped[str | None] = mapped_column(String(13))


class InboundMessage(Base):
    """Inbound external ids already processed, so a redelivery is handled once."""

    __tablename__ = "inbound_message"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[Channel] = mapped_column(enum_type(Channel, "channel"))
    external_id: Mapped[str] = mapped_column(String(120))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class Inbox(Base):
    """Every message that arrives, stored before it is acknowledged: the workers' queue.

    ``payload`` is the provider's own form (Twilio's parameters, Telegram's update JSON),
    translated for the engine when it is handled; ``address`` is the sender's chat, whose
    messages are handled one at a time in ``id`` order. A redelivery of the same provider
    id is not stored twice."""

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("channel", "external_id"),
        Index("ix_inbox_due", "status", "next_attempt_at"),
        Index("ix_inbox_address", "address", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[Channel] = mapped_column(enum_type(Channel, "channel"))
    external_id: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(String(80))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    status: Mapped[InboxStatus] = mapped_column(
        enum_type(InboxStatus, "inbox_status"), default=InboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    error: Mapped[str | None] = mapped_column(String(500))


class Conversation(Base):
    """Where a chat address is in a flow: read and written with the step's own work."""

    __tablename__ = "conversation"

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(80), unique=True)
    flow: Mapped[str | None] = mapped_column(String(40))
    step: Mapped[str | None] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class ReportFile(Base):
    """A generated file (digest chart, workbook, export) kept for a while so that a
    channel can send it later: Telegram uploads the bytes, WhatsApp fetches it from a
    signed, expiring URL of the web app."""

    __tablename__ = "report_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(80))
    content: Mapped[bytes] = mapped_column(LargeBinary())
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class GroupLinkCode(Base):
    """A one-time code with which a pendamping links a group chat to a kelompok."""

    __tablename__ = "group_link_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    kelompok_id: Mapped[int] = mapped_column(
        ForeignKey("kelompok.id", ondelete="CASCADE"), index=True
    )
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SendPace(Base):
    """The next free send slot of one sender (``whatsapp:+62...``, ``telegram``)."""

    __tablename__ = "send_pace"

    sender: Mapped[str] = mapped_column(String(80), primary_key=True)
    next_at: Mapped[float] = mapped_column(Float(), default=0.0)  # seconds since the epoch
