"""What a channel and the outbox dispatcher share: how one attempt at a claimed message
went, and the shape of a channel's sender. Below both layers (``bot.channels`` sends,
``scheduler.dispatcher`` retries and paces), so that neither imports the other."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from models.enums import OutboxStatus
from models.messaging.outbox import Claimed


@dataclass(frozen=True)
class SendResult:
    """How one attempt went. ``temporary`` errors are retried; others are final."""

    status: OutboxStatus
    provider_id: str | None = None
    error_code: str | None = None
    error: str | None = None
    temporary: bool = False
    retry_after: float | None = None
    segments: int | None = None  # an SMS sent: the segments it was billed as
    not_on_whatsapp: bool = False  # a WhatsApp failure meaning the number is not on WhatsApp


Sender = Callable[[Claimed], Awaitable[SendResult]]
"""Sends one message through a provider (in ``bot.channels``), one attempt; provider
errors come back as a result, never as an exception."""
