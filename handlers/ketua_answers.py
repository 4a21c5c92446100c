"""A ketua kelompok answers a meeting reminder for members of the kelompok: "hadir semua"
(every member on the list of those no reminder reaches), "hadir semua kecuali Siti",
"Siti tidak bisa, sakit", "Siti dan Ani hadir" (see :mod:`handlers.parsing.relay_answer`).
Each answer is recorded as the member's RSVP, marked as given by the ketua, and the ketua
is told what was recorded; a name that fits several members is asked about (the
candidates numbered), one that fits nobody is said so with an example.

Called for what a KPM writes before their own answer is read (handlers.others): only a
text that is not a plain "1"/"2" answer, from a KPM who leads a kelompok with a coming
meeting, and that reads as answers for members, is taken here; anything else goes on to
:func:`handlers.rsvp.kpm_reply` as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.i18n import Translator
from handlers.messages import IncomingMessage, Reply
from handlers.parsing.attendance_line import Member, match_member_name
from handlers.parsing.relay_answer import (
    RelayAnswer,
    looks_like_a_name,
    names_of,
    parse_relay,
    plausible,
)
from handlers.rsvp import parse_answer
from models.enums import RsvpAnswer
from models.ketua import LedMeeting, answers_given, led_meetings, record_relayed
from models.kpm import addressee
from models.meeting_changes import reminder_values
from models.messaging.sweeps import meeting_info
from models.optout import phone_of
from models.reach import unreachable_members

Answer = tuple[RsvpAnswer, str | None]


class _Read:
    """The answers a message gives, member by member, and what could not be placed."""

    def __init__(self) -> None:
        self.answers: dict[int, Answer] = {}
        self.ambiguous: list[tuple[str, tuple[Member, ...]]] = []
        self.unknown: list[str] = []
        self.undecided: list[Member] = []
        self.named = False  # some written name fits a member


async def ketua_reply(
    session: AsyncSession,
    kpm_id: int,
    message: IncomingMessage,
    *,
    now: datetime,
    t: Translator,
) -> Reply | None:
    """The reply to a ketua's answers for members, or None when the message is not one."""
    written = (message.choice or message.text).strip()
    if not written or parse_answer(written) is not None or not plausible(written):
        return None
    led = await led_meetings(session, kpm_id, phone_of(message.address), now=now)
    if not led:
        return None
    members = [
        Member(number, member_id, name)
        for number, (member_id, name) in enumerate(
            (member for meeting in led for member in meeting.members), start=1
        )
    ]

    def is_name(part: str) -> bool:
        names = names_of(part)
        return bool(names) and all(match_member_name(n, members) is not None for n in names)

    parsed = parse_relay(written, is_name)
    if parsed is None:
        return None
    listed = await unreachable_members(session, [meeting.meeting_id for meeting in led])
    listed_ids = {
        member.kpm_id
        for meeting in led
        for member in listed.get(meeting.meeting_id, [])
        if member.kpm_id != meeting.ketua_id
    }
    read = _read(parsed, members, listed_ids)
    if not (parsed.everyone or read.named or (parsed.entries and read.unknown)):
        return None  # names nobody: a message of the ketua's own (a pesan KPM)
    given = await answers_given(session, [meeting.meeting_id for meeting in led])
    everyone_new = 0
    if parsed.everyone:
        for meeting in led:
            for member_id, _ in meeting.members:
                unanswered = (meeting.meeting_id, member_id) not in given
                if member_id in listed_ids and member_id not in read.answers and unanswered:
                    read.answers[member_id] = (RsvpAnswer.HADIR, None)
                    everyone_new += 1
    return await _recorded(session, led, read, parsed, everyone_new, bool(listed_ids), now, t)


def _read(parsed: RelayAnswer, members: Sequence[Member], listed: set[int]) -> _Read:
    read = _Read()
    for entry in parsed.entries:
        for name in entry.names:
            hit = _member(name, members, listed, read)
            if hit is not None:
                read.answers[hit.kpm_id] = (entry.answer, entry.reason)
    for name in parsed.undecided:
        hit = _member(name, members, listed, read)
        if hit is not None and hit.kpm_id not in read.answers:
            read.undecided.append(hit)
    return read


def _member(name: str, members: Sequence[Member], listed: set[int], read: _Read) -> Member | None:
    """The member ``name`` means, noting a name that fits several (one of them on the
    ketua's list is the one meant) or nobody."""
    hit = match_member_name(name, members)
    if isinstance(hit, tuple):
        on_list = [member for member in hit if member.kpm_id in listed]
        if len(on_list) != 1:
            read.named = True
            read.ambiguous.append((name, hit))
            return None
        hit = on_list[0]
    if hit is None:
        if looks_like_a_name(name):
            read.unknown.append(name)
        return None
    read.named = True
    return hit


async def _recorded(
    session: AsyncSession,
    led: Sequence[LedMeeting],
    read: _Read,
    parsed: RelayAnswer,
    everyone_new: int,
    anyone_listed: bool,
    now: datetime,
    t: Translator,
) -> Reply:
    """Record the answers, meeting by meeting, and say what was recorded and what not."""
    to = await addressee(session, led[0].ketua_id)
    names = {member_id: name for meeting in led for member_id, name in meeting.members}
    example = next(
        (name for meeting in led for member_id, name in meeting.members
         if member_id != meeting.ketua_id), to["name"],
    ).split()[0]
    said: list[str] = []
    for meeting in led:
        mine = [(member_id, *read.answers[member_id]) for member_id, _ in meeting.members
                if member_id in read.answers]
        if not mine:
            continue
        await record_relayed(session, meeting.meeting_id, mine, ketua_id=meeting.ketua_id, now=now)
        info = await meeting_info(session, meeting.meeting_id)
        date = reminder_values(info)["date"] if info is not None else "-"
        lines = "\n".join(_line(t, names[member_id], answer, reason)
                          for member_id, answer, reason in mine)
        said.append(t("ketua.recorded", **to, kelompok=meeting.kelompok, date=date, lines=lines))
    if parsed.everyone and not everyone_new:
        key = "ketua.all_answered" if anyone_listed else "ketua.nobody_listed"
        said.append(t(key, **to, kelompok=led[0].kelompok, example=example))
    for written, candidates in read.ambiguous:
        numbered = ", ".join(f"{n}. {member.name}" for n, member in enumerate(candidates, 1))
        said.append(t("ketua.ambiguous", query=written[:40], candidates=numbered,
                      example=candidates[0].name))
    for written in read.unknown:
        said.append(t("ketua.not_found", query=written[:40], kelompok=led[0].kelompok,
                      example=example))
    if read.undecided:
        said.append(t("ketua.need_answer", names=", ".join(m.name for m in read.undecided),
                      example=read.undecided[0].name.split()[0]))
    return Reply("\n\n".join(said))


def _line(t: Translator, name: str, answer: RsvpAnswer, reason: str | None) -> str:
    if answer is RsvpAnswer.HADIR:
        return t("ketua.line_hadir", name=name)
    if reason:
        return t("ketua.line_tidak_reason", name=name, reason=reason)
    return t("ketua.line_tidak", name=name)
