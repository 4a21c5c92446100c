"""Replies as outbox rows: written in the step's transaction, sent by the dispatcher.

A reply in the outbox is sent once even if the process dies right after the step (the
row commits with the step's work), goes out under the channel's rate limits with the
dispatcher's retries, and leaves its delivery status where receipts can find it. The
payload is the :class:`Reply` in plain JSON; a document is stored as a report file and
the payload names it. Channels turn a payload back into a reply with :func:`reply_of`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.messages import IncomingMessage, Media, Option, Reply, Toggle
from models.enums import Channel
from models.messaging.enqueue import Enqueue, Priority, add
from models.messaging.report_files import store_file

REPLY_KIND = "reply"


def reply_payload(
    reply: Reply, message: IncomingMessage, file_id: int | None = None
) -> dict[str, Any]:
    """The JSON form of a reply to ``message`` (only the fields it uses)."""
    # The time of the message answered: WhatsApp's 24-hour window is the one it opened,
    # whatever the sender's record says yet (a first message has none).
    payload: dict[str, Any] = {
        "text": reply.text,
        "in_reply_to_at": message.received_at.isoformat(),
    }
    if reply.options:
        payload["options"] = [{"value": o.value, "label": o.label} for o in reply.options]
        if not reply.numbered_options:
            payload["numbered"] = False
    if reply.toggles:
        payload["toggles"] = [[t.value, t.label, t.on] for t in reply.toggles]
    if reply.media:
        payload["media"] = [[m.ref, m.content_type] for m in reply.media]
    if reply.request_contact:
        payload["request_contact"] = reply.request_contact
    if file_id is not None:
        payload["file_id"] = file_id
    if reply.edit_previous and message.origin_ref:
        payload["edit"] = message.origin_ref
        payload["edit_same_text"] = reply.text == message.origin_text
    return payload


def reply_of(payload: dict[str, Any], text: str) -> Reply:
    """The reply a payload describes; ``text`` is its text (see ``payload_text``)."""
    return Reply(
        text=text,
        options=tuple(Option(o["value"], o["label"]) for o in payload.get("options", ())),
        toggles=tuple(Toggle(v, label, bool(on)) for v, label, on in payload.get("toggles", ())),
        media=tuple(Media(ref, kind) for ref, kind in payload.get("media", ())),
        request_contact=payload.get("request_contact"),
        numbered_options=payload.get("numbered", True),
        edit_previous="edit" in payload,
    )


async def queue_replies(
    session: AsyncSession,
    message: IncomingMessage,
    replies: Sequence[Reply],
    *,
    now: datetime,
) -> int:
    """Put the replies to ``message`` in the outbox, in order, in the caller's transaction."""
    messages = []
    channel = Channel(message.channel)
    for reply in replies:
        file_id = None
        if reply.document is not None:
            file_id = await store_file(
                session,
                filename=reply.document.filename,
                content_type=reply.document.content_type,
                content=reply.document.content,
                now=now,
            )
        payload = reply_payload(reply, message, file_id)
        messages.append(Enqueue(channel, message.address, REPLY_KIND, payload, Priority.REPLY))
    return await add(session, messages, now=now)
