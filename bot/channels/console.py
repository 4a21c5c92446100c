"""The terminal channel: chat with the real engine from a shell, or replay a script.

Like every channel it is an edge: a typed line becomes an inbox arrival
(:func:`arrival`, read back by :func:`from_inbox`), and :class:`ConsoleSender` is the
dispatcher's sender that draws one outbox row on the terminal. Options are drawn as a
numbered list, toggles as check boxes. A photo is sent by typing ``/foto PATH`` (the path
is kept as the media reference). The round trip (store, handle, dispatch) is
``bot.terminal``.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from typing import TextIO

from bot.channels.text import payload_text
from handlers.i18n import Translator
from handlers.messages import Document, IncomingMessage, Media, Reply
from handlers.outgoing import reply_of
from models.enums import Channel, OutboxStatus
from models.messaging.inbox import Arrival
from models.messaging.inbox import Claimed as InboxRow
from models.messaging.outbox import Claimed
from models.messaging.sending import SendResult

CHANNEL = "console"
PHOTO_PREFIX = "/foto"
QUIT_WORDS = {"/keluar", "/quit", "/exit"}

FileLoader = Callable[[int], Awaitable[tuple[str, str, bytes] | None]]
"""Reads a stored report file: (filename, content type, content), or None when gone."""


def render(reply: Reply) -> str:
    """A reply as terminal text."""
    lines = [reply.text]
    for toggle in reply.toggles:
        mark = "?" if toggle.on is None else "x" if toggle.on else " "
        lines.append(f"  [{mark}] {toggle.label}")
    if reply.options:
        if reply.numbered_options:
            lines.extend(
                f"  {n}. {option.label}" for n, option in enumerate(reply.options, start=1)
            )
        else:
            lines.append("  » " + " · ".join(option.label for option in reply.options))
    for media in reply.media:
        lines.append(f"  [media: {media.ref}]")
    if reply.document is not None:
        lines.append(f"  [dokumen: {reply.document.filename}]")
    return "\n".join(lines)


def arrival(line: str, address: str) -> Arrival:
    """A typed line as it arrives: its own id (a terminal has none), text or a photo."""
    text = line.strip()
    media: list[list[str]] = []
    if text.casefold().startswith(PHOTO_PREFIX):
        path = text[len(PHOTO_PREFIX) :].strip() or "foto.jpg"
        media, text = [[f"file:{path}", "image/jpeg"]], ""
    return Arrival(
        Channel.CONSOLE, f"console-{uuid.uuid4().hex}", address, {"text": text, "media": media}
    )


def to_message(payload: dict[str, object], address: str, received_at: datetime) -> IncomingMessage:
    media = payload.get("media") or []
    assert isinstance(media, list)
    return IncomingMessage(
        channel=CHANNEL,
        address=address,
        received_at=received_at,
        text=str(payload.get("text") or ""),
        media=tuple(Media(str(ref), str(kind)) for ref, kind in media),
        external_id=None,
    )


def from_inbox(row: InboxRow) -> IncomingMessage:
    """A stored line as the engine's message, at its arrival time."""
    return to_message(row.payload, row.address, row.received_at)


class ConsoleSender:
    """The dispatcher's sender for the terminal: one outbox row drawn, one attempt."""

    def __init__(self, out: TextIO, translator: Translator, files: FileLoader | None = None):
        self.out = out
        self.translator = translator
        self.files = files
        self.sent: list[Reply] = []
        """What was drawn, in order (the transcript as replies)."""

    async def __call__(self, message: Claimed) -> SendResult:
        payload = message.payload
        reply = reply_of(payload, payload_text(payload, self.translator))
        if payload.get("file_id") is not None:
            found = await self.files(int(payload["file_id"])) if self.files else None
            if found is None:
                return SendResult(OutboxStatus.FAILED, error="file expired or missing")
            filename, content_type, content = found
            reply = replace(reply, document=Document(filename, content, content_type))
        self.sent.append(reply)
        self.out.write(render(reply) + "\n\n")
        self.out.flush()
        return SendResult(OutboxStatus.SENT, provider_id=f"console-{message.id}")
