"""A phone shared by several KPM (a neighbour's, the ketua's: common in villages).

The roster phone is the truth: every active, not opted-out KPM whose ``kpm.phone`` is the
number of a ``whatsapp:`` or ``sms:`` address *shares* that address. Reminders go once
per meeting and phone naming everyone on it; answers from the phone speak for all of them
or, when they name someone, for that one (see :mod:`handlers.shared_phone`).

A Telegram address does not carry a number: it belongs to the one KPM it is linked to.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.enums import KpmStatus
from models.optout import phone_of
from models.rules.text import salutation
from models.tables import Kpm

_WORD = re.compile(r"[^\W\d_]+")
MAX_KEY_IDS = 120
"""Characters of KPM ids a shared reminder's dedupe key may end with; a phone holding more
families than that (a ketua's phone for a whole kelompok) is keyed by its first id and
count instead: ``{first}+n{count}``."""


@dataclass(frozen=True)
class Sharer:
    kpm_id: int
    name: str  # nama pengurus
    sapaan: str  # "Ibu" or "Bapak"

    @property
    def addressed(self) -> str:
        """"Ibu Rina Wati"."""
        return f"{self.sapaan} {self.name}"


async def sharers(session: AsyncSession, address: str, kpm_id: int | None) -> list[Sharer]:
    """The KPM an address speaks for, in roster order: everyone active on its phone number
    (a phone address), else the KPM linked to it; empty when nobody."""
    phone = phone_of(address)
    found = await _active(session, Kpm.phone == phone) if phone else []
    if not found and kpm_id is not None:  # Telegram, or linked but off the roster phone
        found = await _active(session, Kpm.id == kpm_id)
    return found


async def _active(session: AsyncSession, condition: ColumnElement[bool]) -> list[Sharer]:
    rows = await session.execute(
        select(Kpm.id, Kpm.nama_pengurus, Kpm.nik)
        .where(condition, Kpm.status == KpmStatus.AKTIF, Kpm.opted_out_at.is_(None))
        .order_by(Kpm.id)
    )
    return [Sharer(row.id, row.nama_pengurus, salutation(row.nik)) for row in rows]


async def shared_phone_counts(session: AsyncSession, phones: Sequence[str]) -> dict[str, int]:
    """How many active KPM each of ``phones`` is the roster phone of, for those held by
    more than one."""
    wanted = sorted(set(phones))
    counts: dict[str, int] = {}
    for start in range(0, len(wanted), 500):
        rows = await session.execute(
            select(Kpm.phone, func.count())
            .where(Kpm.phone.in_(wanted[start : start + 500]), Kpm.status == KpmStatus.AKTIF)
            .group_by(Kpm.phone)
            .having(func.count() > 1)
        )
        counts.update({phone: count for phone, count in rows})
    return counts


def joined_names(names: Sequence[str], limit: int | None = None) -> str:
    """"Ibu Rina", "Ibu Rina dan Ibu Sri", "Ibu Rina, Ibu Sri, dan Bapak Budi".

    ``limit``: at most that many characters (a template's reader name): when everyone's
    names do not fit, as many as do, in roster order, and how many others: "Ibu Rina,
    Ibu Sri, dan 2 lainnya", so a phone four families share still gets its reminder. Only
    when not even one name fits that way do they come back whole (and are refused where
    they are checked)."""
    whole = " dan ".join(names) if len(names) <= 2 else f"{', '.join(names[:-1])}, dan {names[-1]}"
    if limit is None or len(whole) <= limit:
        return whole

    def with_others(shown: list[str]) -> str:
        return f"{', '.join(shown)}, dan {len(names) - len(shown)} lainnya"

    shown: list[str] = []
    for name in names:  # a name too long is left among the others; a later one may fit
        if len(shown) + 1 < len(names) and len(with_others([*shown, name])) <= limit:
            shown.append(name)
    return with_others(shown) if shown else whole


def key_of(kpm_ids: Sequence[int]) -> str:
    """The end of a reminder's dedupe key for the KPM on one phone: ``12`` for one,
    ``12+15`` for two (see :data:`MAX_KEY_IDS`)."""
    key = "+".join(map(str, kpm_ids))
    return key if len(key) <= MAX_KEY_IDS else f"{kpm_ids[0]}+n{len(kpm_ids)}"


def kpm_ids_of(key_end: str) -> list[int]:
    """The KPM ids in the end of a dedupe key made by :func:`key_of` (what it can tell)."""
    return [int(part) for part in key_end.split("+") if part.isdigit()]


def key_patterns(prefix: str, kpm_id: int) -> list[str]:
    """LIKE patterns of the dedupe keys ``{prefix}...:{end}`` whose end names ``kpm_id``
    alone or among others on a shared phone."""
    return [
        f"{prefix}%:{kpm_id}",
        f"{prefix}%:{kpm_id}+%",
        f"{prefix}%+{kpm_id}+%",
        f"{prefix}%+{kpm_id}",
    ]


def named_in(text: str, people: Sequence[Sharer]) -> list[Sharer]:
    """The people whose name a text uses: a word of it that is a word of their name (at
    least three letters), said of exactly one of them."""
    words = {word.casefold() for word in _WORD.findall(text) if len(word) >= 3}
    found = []
    for person in people:
        own = {word.casefold() for word in _WORD.findall(person.name)}
        others = {
            word.casefold()
            for other in people
            if other is not person
            for word in _WORD.findall(other.name)
        }
        if (own - others) & words:
            found.append(person)
    return found
