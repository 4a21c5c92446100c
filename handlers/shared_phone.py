"""Answers from a phone several KPM share (see :mod:`models.households`).

- "1" (or "hadir") confirms everyone on the phone who has a meeting to answer for;
  "1 Rina" confirms Rina only.
- "2 Sri sakit" declines for Sri with the reason "sakit"; a "2" that names nobody asks
  who cannot come, and the next message picks them by number or name ("2", "1 dan 2",
  "Sri", "semua"), keeping a reason given with the "2".
- The reason for a "2" given without one may come as the very next message, as for one KPM.
- Anything else is a pesan KPM: about the one person it names, else about the first on the
  phone, and the pendamping's notice says whose phone it came from.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.i18n import Translator
from handlers.messages import IncomingMessage, Reply
from models.conversations import ConversationState, load_state, save_state
from models.enums import RsvpAnswer
from models.households import Sharer, joined_names, named_in
from models.rsvp import add_reason, has_answered, pending_meeting, record_rsvp
from models.tables import Meeting

WHICH = "rsvp_which"  # the conversation's flow while the phone is asked who cannot come
_YES_HEAD = re.compile(r"^(1|hadir|ya|iya|bisa|datang)\b", re.I)
_NO_HEAD = re.compile(
    r"^(2|tidak bisa|tidak|tdk|ga bisa|gak bisa|enggak|berhalangan)\b", re.I
)
_TOKEN = re.compile(r"[\w']+")
_FILLER = {"dan", "ibu", "bu", "bapak", "pak", "untuk", "yang", "atas", "nama", "an"}
_ALL = {"semua", "semuanya"}
MAX_REASON = 200


def _who(
    words: Sequence[str], people: Sequence[Sharer], *, numbers: bool
) -> tuple[list[Sharer], int]:
    """The people the leading words name (by a word of their name only they have, by their
    number in a list when ``numbers``, or "semua"), and how many words that took."""
    own = {
        word.casefold(): person
        for person in people
        for word in _TOKEN.findall(person.name)
        if len(word) >= 3 and len(named_in(word, people)) == 1
    }
    chosen: list[Sharer] = []
    taken = 0
    for word in words:
        key = word.casefold()
        if key in _ALL:
            chosen = list(people)
        elif key in own:
            chosen.append(own[key])
        elif numbers and key.isdigit() and 1 <= int(key) <= len(people):
            chosen.append(people[int(key) - 1])
        elif key not in _FILLER:
            break
        taken += 1
    while taken and words[taken - 1].casefold() in _FILLER:  # "2 Sri dan" ends at Sri
        taken -= 1
    return list(dict.fromkeys(chosen)), taken


def _rest(text: str, words: Sequence[str], taken: int) -> str | None:
    """What follows the first ``taken`` words of ``text``: a reason, or None."""
    at = 0
    for word in words[:taken]:
        at = text.index(word, at) + len(word)
    rest = text[at:]
    rest = rest.strip(" ,.;:-")
    return rest[:MAX_REASON] or None


def parse(
    written: str, people: Sequence[Sharer]
) -> tuple[RsvpAnswer, list[Sharer], str | None] | None:
    """``(TIDAK, [Sri], "sakit")`` for "2 Sri sakit"; ``(HADIR, [], None)`` for "1" (the
    caller decides what nobody named means); None when the text is not an answer."""
    text = " ".join(written.split())
    for answer, head in ((RsvpAnswer.HADIR, _YES_HEAD), (RsvpAnswer.TIDAK, _NO_HEAD)):
        match = head.match(text)
        if match is None:
            continue
        after = text[match.end() :]
        words = _TOKEN.findall(after)
        chosen, taken = _who(words, people, numbers=False)
        rest = _rest(after, words, taken)
        if answer is RsvpAnswer.HADIR:
            if rest and not re.fullmatch(r"[\s.!]*(insya ?allah|terima kasih|ya)?[\s.!]*",
                                         rest, re.I):
                return None  # "ya, saya mau tanya ...": not an answer
            return answer, chosen, None
        if not chosen and rest and len(named := named_in(rest, people)) == 1:
            chosen = named  # "2 anak Sri sakit"
        return answer, chosen, rest
    return None


async def shared_reply(
    session: AsyncSession,
    people: Sequence[Sharer],
    message: IncomingMessage,
    *,
    now: datetime,
    t: Translator,
    reason_window: timedelta,
) -> Reply | None:
    """The answer to a message from a phone ``people`` share; None when it is not about a
    meeting (a pesan KPM, which the caller keeps)."""
    written = (message.choice or message.text).strip()
    meetings = {p.kpm_id: await pending_meeting(session, p.kpm_id, now) for p in people}
    state = await load_state(session, message.address)
    if state.flow == WHICH:
        if state.expires_at is not None and state.expires_at > now:
            picked = await _picked(session, state, people, meetings, written, now=now, t=t)
            if picked is not None:
                await save_state(session, state, now)
                return picked
        state.clear()  # not a pick: the question lapses, the message is read afresh
        await save_state(session, state, now)
    answer = parse(written, people) if written else None
    if answer is None:
        return await _reason(session, people, meetings, written, now=now, t=t,
                             window=reason_window)
    choice, chosen, reason = answer
    open_people = [p for p in people if meetings[p.kpm_id] is not None]
    if not open_people:
        return Reply(t("rsvp.shared_no_meeting", names=_names(people)))
    if choice is RsvpAnswer.HADIR:
        targets = [p for p in chosen if meetings[p.kpm_id]] or open_people
        await _record(session, targets, meetings, choice, None, now=now)
        return Reply(t("rsvp.shared_coming", names=_names(targets)))
    targets = [p for p in chosen if meetings[p.kpm_id]]
    if not targets:
        state.flow, state.step = WHICH, "which"
        state.data = {"ids": [p.kpm_id for p in open_people], "reason": reason}
        state.expires_at = now + reason_window
        await save_state(session, state, now)
        return Reply(t("rsvp.shared_which", choices=_choices(open_people)))
    await _record(session, targets, meetings, choice, reason, now=now)
    key = "rsvp.shared_declined_with_reason" if reason else "rsvp.shared_declined"
    return Reply(t(key, names=_names(targets)))


async def _picked(
    session: AsyncSession,
    state: ConversationState,
    people: Sequence[Sharer],
    meetings: dict[int, Meeting | None],
    written: str,
    *,
    now: datetime,
    t: Translator,
) -> Reply | None:
    """The answer to "who cannot come?": the people picked declined; None when the text
    picks nobody."""
    listed = [p for p in people if p.kpm_id in state.data.get("ids", [])]
    text = " ".join(written.split())
    words = _TOKEN.findall(text)
    chosen, taken = _who(words, listed, numbers=True)
    chosen = [p for p in chosen if meetings[p.kpm_id] is not None]
    if not chosen:
        return None
    reason = state.data.get("reason") or _rest(text, words, taken)
    await _record(session, chosen, meetings, RsvpAnswer.TIDAK, reason, now=now)
    state.clear()
    key = "rsvp.shared_declined_with_reason" if reason else "rsvp.shared_declined"
    return Reply(t(key, names=_names(chosen)))


async def _reason(
    session: AsyncSession,
    people: Sequence[Sharer],
    meetings: dict[int, Meeting | None],
    written: str,
    *,
    now: datetime,
    t: Translator,
    window: timedelta,
) -> Reply | None:
    """The reason for a "2" given without one, for those it was given for; None when the
    message is not one."""
    if not written:
        return None
    given = []
    for person in people:
        meeting = meetings[person.kpm_id]
        if meeting is not None and await add_reason(
            session, meeting.id, person.kpm_id, written[:MAX_REASON], since=now - window
        ):
            given.append(person)
    if not given:
        return None
    return Reply(t("rsvp.shared_reason_saved", names=_names(given)))


async def still_open(
    session: AsyncSession, people: Sequence[Sharer], now: datetime
) -> bool:
    """Whether someone on the phone has a meeting to answer for and has not answered."""
    for person in people:
        meeting = await pending_meeting(session, person.kpm_id, now)
        if meeting is not None and not await has_answered(session, meeting.id, person.kpm_id):
            return True
    return False


def about(written: str, people: Sequence[Sharer]) -> Sharer:
    """Whom a pesan from the phone is about: the one person it names, else the first."""
    named = named_in(written, people)
    return named[0] if len(named) == 1 else people[0]


async def _record(
    session: AsyncSession,
    people: Sequence[Sharer],
    meetings: dict[int, Meeting | None],
    answer: RsvpAnswer,
    reason: str | None,
    *,
    now: datetime,
) -> None:
    for person in people:
        meeting = meetings[person.kpm_id]
        if meeting is not None:
            await record_rsvp(session, meeting.id, person.kpm_id, answer, reason, now=now)


def _names(people: Sequence[Sharer]) -> str:
    return joined_names([p.addressed for p in people])


def _choices(people: Sequence[Sharer]) -> str:
    return "\n".join(f"{number}. {p.addressed}" for number, p in enumerate(people, 1))
