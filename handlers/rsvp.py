"""What a KPM writes back: an answer to a meeting reminder (1 hadir, 2 tidak bisa, with an
optional reason), a reason sent afterwards, or anything else (a friendly pointer)."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.i18n import Translator
from handlers.messages import IncomingMessage, Reply
from models.enums import RsvpAnswer
from models.rsvp import add_reason, pending_meeting, record_rsvp

_YES = re.compile(r"^(1|hadir|ya|iya|insya ?allah( hadir)?|bisa|datang)\b[\s.!]*$", re.I)
_NO = re.compile(r"^(2|tidak bisa|tidak|tdk|ga bisa|gak bisa|enggak|berhalangan)\b[\s,.:;-]*", re.I)
MAX_REASON = 200


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
    session: AsyncSession, kpm_id: int, message: IncomingMessage, *, now: datetime, t: Translator
) -> Reply:
    meeting = await pending_meeting(session, kpm_id, now)
    written = (message.choice or message.text).strip()
    answer = parse_answer(written) if written else None
    if meeting is None:
        return Reply(t("rsvp.no_meeting") if answer else t("kpm.hello"))
    if answer is not None:
        choice, reason = answer
        await record_rsvp(session, meeting.id, kpm_id, choice, reason, now=now)
        if choice is RsvpAnswer.HADIR:
            return Reply(t("rsvp.coming"))
        return Reply(t("rsvp.declined_with_reason" if reason else "rsvp.declined"))
    if written and await add_reason(session, meeting.id, kpm_id, written[:MAX_REASON]):
        return Reply(t("rsvp.reason_saved"))
    return Reply(t("rsvp.how"))
