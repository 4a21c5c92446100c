"""The one message shape in and the one reply shape out, whatever the channel.

Channels translate provider payloads into :class:`IncomingMessage` and render
:class:`Reply`; flows never see a provider object. An address names its channel, like a
RapidPro URN: ``telegram:123456``, ``whatsapp:+6281234567890``, ``console:ani``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Media:
    """A photo or file: a provider reference (file id, media URL) and its type."""

    ref: str
    content_type: str = "image/jpeg"

    @property
    def is_photo(self) -> bool:
        return self.content_type.startswith("image/")


@dataclass(frozen=True)
class IncomingMessage:
    channel: str
    address: str
    received_at: datetime
    text: str = ""
    choice: str | None = None  # the value of a tapped option or toggle
    media: tuple[Media, ...] = ()
    contact_phone: str | None = None  # a shared contact card (Telegram)
    external_id: str | None = None  # provider id, for processing a redelivery once
    group: bool = False  # sent in a group chat (``address`` is then the group's)
    sender_address: str | None = None  # in a group chat: the address of the person
    origin_ref: str | None = None  # a tapped button's message (Telegram message id)
    origin_text: str | None = None  # ... and its text: a redrawn list edits that message
    inbox_id: int | None = None  # the inbox row it came from: marked done with the step


@dataclass(frozen=True)
class Option:
    """A numbered choice: a button on Telegram, a numbered line elsewhere."""

    value: str
    label: str


@dataclass(frozen=True)
class Toggle:
    """One item of a multi-select list, on or off (None: not decided yet, as a commitment
    not verified); tapping it sends its value."""

    value: str
    label: str
    on: bool | None


@dataclass(frozen=True)
class Document:
    filename: str
    content: bytes
    content_type: str


@dataclass(frozen=True)
class Reply:
    text: str
    options: tuple[Option, ...] = ()
    toggles: tuple[Toggle, ...] = ()
    media: tuple[Media, ...] = ()
    document: Document | None = None
    request_contact: str | None = None  # label of a "share my phone number" button
    numbered_options: bool = True  # False: options are picked by tap or label, not number
    edit_previous: bool = False  # a toggle list redrawn: edit the last message if possible
    # Heavy read-only work (a digest, an export) to run after the step's transaction has
    # committed, in a read-only session, so it never holds the write lock; the engine
    # replaces this reply by the replies it returns. Channels never see it.
    later: Callable[[Any], Awaitable[Sequence[Reply]]] | None = None


@dataclass(frozen=True)
class Outcome:
    """What one incoming message produced. ``queued``: the replies are in the outbox
    (committed with the step) and the dispatcher sends them; the channel sends nothing."""

    replies: tuple[Reply, ...] = field(default_factory=tuple)
    duplicate: bool = False
    queued: bool = False
    failed: str | None = None  # handling raised (the error's type): nothing was written
