"""What a KPM writes: an answer to a meeting reminder (1 hadir, 2 tidak bisa, with an
optional reason), the reason for a "2" sent as the very next message soon after, or
anything else: a *pesan KPM*, kept for their pendamping and pushed to them at once."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.i18n import Translator
from handlers.messages import IncomingMessage, Reply
from handlers.shared_phone import about, shared_reply, still_open
from models.enums import RsvpAnswer
from models.households import Sharer, joined_names, sharers
from models.kpm import addressee
from models.kpm_messages import keep_message, tell_pendamping
from models.media import link_to_kpm_message
from models.rsvp import add_reason, has_answered, pending_meeting, record_rsvp
from models.rules.text import shorten

_YES = re.compile(r"^(1|hadir|ya|iya|insya ?allah( hadir)?|bisa|datang)\b[\s.!]*$", re.I)
_NO = re.compile(r"^(2|tidak bisa|tidak|tdk|ga bisa|gak bisa|enggak|berhalangan)\b[\s,.:;-]*", re.I)
MAX_REASON = 200
REASON_WINDOW = timedelta(minutes=30)
"""After a "2" without a reason, the next message within this time is taken as the reason
(the bot asked for it); later, or after another message, it is a pesan KPM. The default
of ``[pesan] reason_window_minutes``."""
PREVIEW = 300
"""How much of a pesan KPM the pendamping's notice quotes (the whole is in /pesan)."""


def parse_answer(written: str) -> tuple[RsvpAnswer, str | None] | None:
    """``("tidak", "anak sakit")`` for "2 anak sakit"; None when it is not an answer."""
    text = " ".join(written.split())
    if _YES.match(text):
        return RsvpAnswer.HADIR, None
    match = _NO.match(text)
    if match:
        reason = text[match.end() :].strip(" ,.;:-") or None
        return RsvpAnswer.TIDAK, reason[:MAX_REASON] if reason else None
    return None


async def kpm_reply(
    session: AsyncSession,
    kpm_id: int,
    message: IncomingMessage,
    *,
    now: datetime,
    t: Translator,
    reason_window: timedelta = REASON_WINDOW,
) -> Reply:
    people = await sharers(session, message.address, kpm_id)
    if len(people) > 1:  # a phone several KPM share
        return await _from_shared_phone(
            session, people, message, now=now, t=t, reason_window=reason_window
        )
    meeting = await pending_meeting(session, kpm_id, now)
    written = (message.choice or message.text).strip()
    answer = parse_answer(written) if written else None
    to = await addressee(session, kpm_id)  # "Ibu Siti Aminah", never "Anda"
    if answer is not None:
        if meeting is None:
            return Reply(t("rsvp.no_meeting", **to))
        choice, reason = answer
        await record_rsvp(session, meeting.id, kpm_id, choice, reason, now=now)
        if choice is RsvpAnswer.HADIR:
            return Reply(t("rsvp.coming", **to))
        return Reply(t("rsvp.declined_with_reason" if reason else "rsvp.declined", **to))
    if (
        meeting is not None
        and written
        and await add_reason(
            session, meeting.id, kpm_id, written[:MAX_REASON], since=now - reason_window
        )
    ):
        return Reply(t("rsvp.reason_saved", **to))
    reply = await _pesan_kpm(session, kpm_id, message, written, now=now, t=t, to=to)
    if meeting is not None and not await has_answered(session, meeting.id, kpm_id):
        return Reply(f"{reply.text}\n\n{t('rsvp.how', **to)}")  # the reminder is still open
    return reply


async def _from_shared_phone(
    session: AsyncSession,
    people: Sequence[Sharer],
    message: IncomingMessage,
    *,
    now: datetime,
    t: Translator,
    reason_window: timedelta,
) -> Reply:
    """An answer for some or all on the phone, else a pesan KPM about the one it names
    (else the first), the pendamping told whose phone it came from."""
    reply = await shared_reply(
        session, people, message, now=now, t=t, reason_window=reason_window
    )
    if reply is not None:
        return reply
    written = (message.choice or message.text).strip()
    person = about(written, people)
    to = {"sapaan": person.sapaan, "name": person.name}
    note = t("pesan.shared_note", names=joined_names([p.addressed for p in people]))
    reply = await _pesan_kpm(session, person.kpm_id, message, written, now=now, t=t, to=to,
                             note=note)
    if await still_open(session, people, now):
        return Reply(f"{reply.text}\n\n{t('rsvp.shared_how')}")
    return reply


async def _pesan_kpm(
    session: AsyncSession,
    kpm_id: int,
    message: IncomingMessage,
    written: str,
    *,
    now: datetime,
    t: Translator,
    to: dict[str, str],
    note: str | None = None,
) -> Reply:
    """Keep the message for the KPM's pendamping and push it to them; the KPM is told
    what happened to it: passed on, or kept until the pendamping opens the bot."""
    if not written and not message.media:
        return Reply(t("kpm.hello", **to))
    message_id = await keep_message(
        session, kpm_id, message.address, written, len(message.media), now=now
    )
    # the files (a voice note, photos) are the pesan's: fetched and kept by the media workers
    await link_to_kpm_message(
        session, [m.ref for m in message.media], message_id=message_id, kpm_id=kpm_id
    )
    text = shorten(written, PREVIEW)
    voice = sum(1 for m in message.media if m.content_type.startswith("audio/"))
    if voice:
        text = t("pesan.with_voice", text=text or "-", count=voice)
    if len(message.media) > voice:
        text = t("pesan.with_photos", text=text or "-", count=len(message.media) - voice)
    if note:  # from a phone several KPM share
        text = f"{text}\n{note}"
    told = await tell_pendamping(
        session,
        kpm_id,
        "pesan_kpm",
        lambda who: {
            "key": "pesan.new",
            "values": {"name": who.kpm_name, "kelompok": who.kelompok_name, "text": text},
            "options": [{"value": f"pesan:{message_id}", "label": t("pesan.open")}],
        },
        dedupe_key=f"pesan-kpm:{message_id}",
        now=now,
    )
    return Reply(t("pesan.ack_forwarded" if told else "pesan.ack_kept", **to))
