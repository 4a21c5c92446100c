"""Erased values taken out of the text and JSON the system copied them into: the outbox's
payloads (a digest naming an absentee, a pesan KPM forwarded to the pendamping), the
inbox's (a coordinator typing a family's name), conversation state and audit details.

A :class:`Needles` is what to look for (a name, a NIK, a phone number in its written
forms, the texts of erased messages) and what each becomes (the pseudonym for the name,
nothing for the rest), matched without regard to case. The tables are searched with a
``LIKE`` on the column cast to text (the JSON's own escaping applied to the needle), and
only the rows that match are read and rewritten."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Text, cast, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from models.messaging.tables import Conversation, Inbox, Outbox
from models.tables import AuditLog

MIN_NEEDLE = 3
"""Shorter values are never searched for: they would match inside other words."""

SCRUBBED_COLUMNS: tuple[tuple[InstrumentedAttribute[Any], InstrumentedAttribute[Any]], ...] = (
    (Outbox.id, Outbox.payload),
    (Inbox.id, Inbox.payload),
    (Conversation.id, Conversation.data),
    (AuditLog.id, AuditLog.detail),
)
"""(primary key, JSON column) of the places the system copies names and texts into."""


@dataclass(frozen=True)
class Needles:
    """Values to take out of text, each with what replaces it, longest first."""

    pairs: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, pairs: Iterable[tuple[str | None, str]]) -> Needles:
        kept: dict[str, tuple[str, str]] = {}
        for needle, replacement in pairs:
            if needle and len(needle.strip()) >= MIN_NEEDLE:
                kept.setdefault(needle.strip().casefold(), (needle.strip(), replacement))
        return cls(tuple(sorted(kept.values(), key=lambda pair: -len(pair[0]))))

    def __add__(self, other: Needles) -> Needles:
        return Needles.of([*self.pairs, *other.pairs])

    def __bool__(self) -> bool:
        return bool(self.pairs)

    def _pattern(self) -> re.Pattern[str]:
        alternatives = "|".join(re.escape(needle) for needle, _ in self.pairs)
        return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)

    def text(self, value: str) -> str:
        """``value`` with every needle replaced where it stands as whole words ("Ani"
        is not taken out of "Suryani")."""
        if not self.pairs:
            return value
        replacements = {needle.casefold(): replacement for needle, replacement in self.pairs}
        return self._pattern().sub(lambda found: replacements[found.group(0).casefold()], value)

    def json(self, value: Any) -> Any:
        """A JSON value with every needle replaced in its strings (keys included)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.json(item) for item in value]
        if isinstance(value, dict):
            return {self.text(str(key)): self.json(item) for key, item in value.items()}
        return value

    def found_in(self, column: Any) -> Any:
        """A condition: the column, cast to text, holds one of the needles (as JSON
        writes it, in any case: ASCII letters on SQLite)."""
        written = func.lower(cast(column, Text))
        return or_(
            *(
                written.contains(orjson.dumps(needle).decode()[1:-1].lower(), autoescape=True)
                for needle, _ in self.pairs
            )
        )


async def scrub_rows(
    session: AsyncSession,
    key: InstrumentedAttribute[Any],
    column: InstrumentedAttribute[Any],
    needles: Needles,
    *,
    only: Any = None,
) -> int:
    """Rewrite the rows of ``column``'s table whose ``column`` holds a needle (and that
    ``only`` selects, when given); returns how many changed."""
    if not needles:
        return 0
    statement = select(key, column).where(needles.found_in(column))
    if only is not None:
        statement = statement.where(only)
    changed = 0
    for row_id, value in (await session.execute(statement)).all():
        cleaned = needles.json(value)
        if cleaned != value:
            await session.execute(update(key.class_).where(key == row_id).values({column: cleaned}))
            changed += 1
    return changed


async def scrub_everywhere(session: AsyncSession, needles: Needles) -> dict[str, int]:
    """Take the needles out of every place in :data:`SCRUBBED_COLUMNS`."""
    return {
        column.class_.__tablename__: await scrub_rows(session, key, column, needles)
        for key, column in SCRUBBED_COLUMNS
    }


PERSONAL_KEYS = frozenset({"phone", "nik", "name", "nama", "nama_pengurus"})
"""Keys of an audit detail whose values are personal data (a phone change keeps both
numbers, masked): emptied in the rows about an erased family."""


def blank_personal(value: Any) -> Any:
    """A JSON value with the values of :data:`PERSONAL_KEYS` emptied, at any depth."""
    if isinstance(value, list):
        return [blank_personal(item) for item in value]
    if isinstance(value, dict):
        return {
            key: "" if key in PERSONAL_KEYS and item else blank_personal(item)
            for key, item in value.items()
        }
    return value


async def blank_rows(
    session: AsyncSession,
    key: InstrumentedAttribute[Any],
    column: InstrumentedAttribute[Any],
    only: Any,
) -> int:
    """Empty the personal values (:func:`blank_personal`) of the rows ``only`` selects."""
    changed = 0
    for row_id, value in (await session.execute(select(key, column).where(only))).all():
        cleaned = blank_personal(value)
        if cleaned != value:
            await session.execute(update(key.class_).where(key == row_id).values({column: cleaned}))
            changed += 1
    return changed


def phone_forms(phone: str | None) -> Sequence[str]:
    """A stored (E.164) number as people and payloads write it: ``+62812...``,
    ``62812...`` and ``0812...``."""
    if not phone:
        return ()
    digits = phone.lstrip("+")
    forms = [phone, digits]
    if digits.startswith("62"):
        forms.append("0" + digits[2:])
    return forms
