"""Flows: small tables of named steps, each a short coroutine (as in
python-telegram-bot's ``conversationbot.py`` and aiogram's ``StatesGroup``).

A step receives the message and a :class:`Ctx`, does its work in the context's session
and returns a :class:`StepResult`: the replies and the name of the next step (``None``
ends the flow). Options shown with a prompt are remembered in the conversation, so the
engine can resolve a tap, a number or a typed label to the same ``ctx.choice`` value.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.i18n import Translator
from handlers.messages import IncomingMessage, Media, Option, Reply, Toggle
from handlers.settings import EngineSettings
from models.rules.text import starts_a_word
from models.tables import Staff

PROMPT_KEY = "_prompt"


class Pick(StrEnum):
    """What an option picks, the first part of its value ``kind:key`` ("k:12" is kelompok
    12). The letters are kept short: they travel in Telegram's 64-byte callback data and
    in the prompts remembered in conversation state."""

    KELOMPOK = "k"
    MEETING = "m"
    SESI = "s"
    MEMBER = "t"  # a member's toggle in a list
    CASE = "c"
    INDICATOR = "i"
    KPM = "p"
    MESSAGE = "q"  # a pesan KPM
    REASON = "r"  # why a KPM left the programme
    STAFF = "u"  # a staff member (a pendamping handed kelompok from or to)
    PROGRAMME = "b"  # a complementary programme (bansos komplementer) of a family


def option_value(kind: Pick, key: int | str) -> str:
    """The value of an option that picks ``key`` of ``kind``."""
    return f"{kind.value}:{key}"


def picked_key(choice: str | None, kind: Pick) -> str | None:
    """The key an option value of ``kind`` carries, or None for anything else (another
    kind, typed text, an empty key)."""
    if not choice:
        return None
    prefix, separator, key = choice.partition(":")
    return key if prefix == kind.value and separator and key else None


def picked_id(choice: str | None, kind: Pick) -> int | None:
    """The id an option value of ``kind`` carries ("k:12" -> 12), or None for anything
    else, a malformed or forged value included (callback data comes from the client)."""
    key = picked_key(choice, kind)
    return int(key) if key is not None and key.isascii() and key.isdigit() else None


@dataclass(frozen=True)
class StepResult:
    replies: tuple[Reply, ...]
    next_step: str | None
    flow: str | None = None
    """Another flow that ``next_step`` belongs to: this flow hands the conversation over
    (a pesan KPM opened as a case goes on in the case flow)."""

    def handed_to(self, flow: str) -> StepResult:
        return StepResult(self.replies, self.next_step, flow)


@dataclass
class Ctx:
    """What a step may use: the transaction, the user, the flow's data and the texts."""

    session: AsyncSession
    staff: Staff
    data: dict[str, Any]
    now: datetime
    t: Translator
    settings: EngineSettings
    step: str
    text: str = ""
    choice: str | None = None
    media: tuple[Media, ...] = ()
    notes: list[Reply] = field(default_factory=list)

    def ask(
        self,
        step: StrEnum,
        text: str,
        options: Sequence[Option] = (),
        toggles: Sequence[Toggle] = (),
        *,
        numbered: bool = True,
        edit_previous: bool = False,
    ) -> StepResult:
        """Show a prompt and wait for the answer in ``step``.

        ``numbered=False`` when typed numbers mean something else at this step (member
        numbers in the attendance list): options are then chosen by tap or label only.
        """
        self.data[PROMPT_KEY] = {
            "text": text,
            "options": [[option.value, option.label] for option in options],
            "toggles": [[toggle.value, toggle.label, toggle.on] for toggle in toggles],
            "numbered": numbered,
        }
        reply = Reply(
            text=text,
            options=tuple(options),
            toggles=tuple(toggles),
            numbered_options=numbered,
            edit_previous=edit_previous,
        )
        return StepResult(replies=(*self.notes, reply), next_step=step)

    def retry(self, problem: str) -> StepResult:
        """Say what was wrong and what is expected, and show the same prompt again."""
        prompt = self.data.get(PROMPT_KEY) or {}
        text = f"{problem}\n\n{prompt.get('text', '')}".strip()
        return StepResult(
            replies=(
                Reply(
                    text=text,
                    options=tuple(
                        Option(value, label) for value, label in prompt.get("options", [])
                    ),
                    toggles=tuple(
                        Toggle(value, label, on) for value, label, on in prompt.get("toggles", [])
                    ),
                    numbered_options=prompt.get("numbered", True),
                ),
            ),
            next_step=self.step,
        )

    def done(self, text: str, options: Sequence[Option] = ()) -> StepResult:
        """End the flow with a last message."""
        self.data.pop(PROMPT_KEY, None)
        return StepResult(
            replies=(*self.notes, Reply(text=text, options=tuple(options))), next_step=None
        )


StepFn = Callable[[IncomingMessage, Ctx], Awaitable[StepResult]]


@dataclass(frozen=True)
class Flow:
    """A named flow: its entry coroutine and its steps, declared in one place."""

    name: str
    entry: StepFn
    steps: Mapping[str, StepFn]  # keyed by the flow's Step members (a StrEnum: the names stored)
    roles: frozenset[str] = frozenset({"pendamping"})
    renamed: Mapping[str, str] = field(default_factory=dict)
    """Keys of the flow's data in an earlier release -> their names now: a conversation
    under way when the bot was upgraded goes on with its data."""


def remembered_options(data: dict[str, Any]) -> tuple[list[list[str]], list[list[Any]]]:
    prompt = data.get(PROMPT_KEY) or {}
    return prompt.get("options", []), prompt.get("toggles", [])


def resolve_choice(message: IncomingMessage, data: dict[str, Any]) -> str | None:
    """A tapped value, an option's number or its label typed in any case; else None."""
    options, toggles = remembered_options(data)
    values = {value for value, _ in options} | {value for value, *_ in toggles}
    if message.choice is not None:
        return message.choice if message.choice in values else None
    typed = message.text.strip().rstrip(".").casefold()
    if not typed:
        return None
    numbered = (data.get(PROMPT_KEY) or {}).get("numbered", True)
    if typed.isascii() and typed.isdecimal() and options and numbered:
        number = int(typed)
        return options[number - 1][0] if 1 <= number <= len(options) else None
    for value, label in options:
        if label.casefold() == typed:
            return value
    return _unique_part(typed, options) if not toggles else None


def _unique_part(typed: str, options: list[list[str]]) -> str | None:
    """The one option whose label has ``typed`` at the start of one of its words
    ("bougenville" for "Kelompok Bougenville", "alpa" for "Alpa (tanpa keterangan)"); None
    when several or none do, or ``typed`` is too short to mean one. Not with toggles: a
    line typed at a list of members says who came, not which option."""
    if len(typed) < 3 or typed.isdecimal():
        return None
    found = [value for value, label in options if starts_a_word(typed, label.casefold())]
    return found[0] if len(found) == 1 else None
