"""The conversation engine: one incoming message in, replies out, one transaction.

Order of work for a message: drop a redelivery (by external id), find who sent it,
lock and read their conversation, run global commands (/batal, /bantuan, /mulai,
registration) or the current flow step, write the new state, commit. Any error rolls
the whole transaction back, is logged once here (ids only) and answered politely.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.flow import PROMPT_KEY, Ctx, Flow, StepResult, remembered_options, resolve_choice
from handlers.holiday_move import move_to_offered_day
from handlers.i18n import Translator
from handlers.messages import IncomingMessage, Option, Outcome, Reply
from handlers.others import COMMAND, HELP_WORDS, group_replies, not_staff_reply
from handlers.outgoing import queue_replies
from handlers.phone_change import PHRASE as PHONE_PHRASE
from handlers.settings import EngineSettings
from models.conversations import (
    ConversationState,
    Identity,
    first_delivery,
    identify_and_lock,
    load_state,
    save_state,
)
from models.db import READ_ONLY, transaction
from models.media import register_media
from models.messaging.inbox import mark_done
from models.optout import opt_in, opt_out
from models.rules.clock import Clock
from models.scope import OutOfScope
from models.staff import RedeemProblem, redeem_invite

log = logging.getLogger(__name__)

MAX_TEXT = 1000
_REGISTER = re.compile(r"^(?:/start|daftar)\s+(?P<code>[A-Za-z0-9-]{4,20})\s*$", re.I)
CANCEL_WORDS = {"batal", "cancel"}
MENU_WORDS = {"mulai", "menu", "start"}
OPT_OUT_WORDS = {"berhenti", "stop", "stopall", "unsubscribe"}
OPT_IN_WORDS = {"mulai", "start", "unstop"}  # only when opted out; else "mulai" is the menu


MENU = (
    "attendance",
    "commitment",
    "case",
    "my_cases",
    "kpm_card",
    "schedule",
    "ketua",
    "graduation",
    "digest",
    "export",
    "kpm_message",
    "referral",
    "web_login",
)
"""The main menu's flows, in this order; each role sees those it may start."""
BUTTON_FLOWS = {"pesan": "kpm_message", "case": "case_view"}
"""Buttons of pushed messages ("pesan:12" on a pesan KPM notice, "case:7" on an urgent-case
alert) and the flow each opens on the record it names."""


def _role(identity: Identity) -> str:
    return identity.staff.role.value if identity.staff is not None else "pendamping"


class Engine:
    """Routes messages to flows; stateless between messages (state is in the database)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: EngineSettings,
        clock: Clock,
        flows: Iterable[Flow],
        commands: dict[str, str],
        *,
        queued_channels: Iterable[str] = (),
        read_sessions: async_sessionmaker[AsyncSession] | None = None,
    ) -> None:
        self._sessions = sessions
        self._read_sessions = read_sessions or sessions  # deferred reports: a replica
        self._settings = settings
        self._clock = clock
        self._flows = {flow.name: flow for flow in flows}
        self._commands = commands
        missing = set(commands.values()) - set(self._flows)
        if missing:
            raise ValueError(f"commands start flows that do not exist: {sorted(missing)}")
        self._t = Translator(settings.locale)
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}
        self._queued_channels = frozenset(queued_channels)
        self._queued_listeners: list[Callable[[], None]] = []
        self.failures = 0

    def on_queued(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after replies were committed to the outbox (the dispatcher's
        wake-up), for the channels the engine queues replies for."""
        self._queued_listeners.append(listener)

    async def handle(self, message: IncomingMessage) -> Outcome:
        """Process one message; never raises (a failure becomes a polite reply)."""
        message = _clean(message)
        lock, users = self._locks.get(message.address, (asyncio.Lock(), 0))
        self._locks[message.address] = (lock, users + 1)
        try:
            async with lock:  # one user's messages are handled in order, one at a time
                try:
                    outcome = await self._handle_in_transaction(message)
                except DBAPIError as error:
                    if not error.connection_invalidated:
                        raise
                    # The database dropped the connection (a restart): nothing was written,
                    # so the message runs again on a new one.
                    log.warning("database connection lost; message handled again")
                    outcome = await self._handle_in_transaction(message)
                if any(reply.later for reply in outcome.replies):
                    outcome = await self._queued(message, await self._run_later(outcome))
                if outcome.queued:
                    for listener in self._queued_listeners:
                        listener()
                return outcome
        except OutOfScope as exc:
            log.warning("out-of-scope request refused (channel=%s): %s", message.channel, exc)
            return await self._refused(
                message, Outcome(replies=(Reply(self._t("access.not_yours")),))
            )
        except Exception as exc:
            self.failures += 1
            log.exception(
                "message handling failed (channel=%s, external_id=%s)",
                message.channel,
                message.external_id,
            )
            return Outcome(replies=(Reply(self._t("error.generic")),), failed=type(exc).__name__)
        finally:
            lock, users = self._locks[message.address]
            if users == 1:
                del self._locks[message.address]
            else:
                self._locks[message.address] = (lock, users - 1)

    async def _run_later(self, outcome: Outcome) -> Outcome:
        """Replace each deferred reply by what it produces, read after the commit."""
        replies: list[Reply] = []
        async with self._read_sessions() as session:
            await session.connection(execution_options=READ_ONLY)
            for reply in outcome.replies:
                replies.extend(await reply.later(session) if reply.later else (reply,))
        return Outcome(replies=tuple(replies), duplicate=outcome.duplicate)

    async def _handle_in_transaction(self, message: IncomingMessage) -> Outcome:
        """The step and, for the queued channels, its replies: one transaction (replies
        still to be made after the commit are queued when they are made)."""
        now = self._clock.now()
        async with transaction(self._sessions) as session:
            outcome = await self._produce(session, message, now)
            if any(reply.later for reply in outcome.replies):
                return outcome
            return await self._queue(session, message, outcome, now)

    async def _refused(self, message: IncomingMessage, outcome: Outcome) -> Outcome:
        """A refusal is the message's answer: its inbox row is done and the reply queued,
        in one transaction of their own (the step's rolled back)."""
        if message.inbox_id is None:
            return outcome
        async with transaction(self._sessions) as session:
            if not await mark_done(session, message.inbox_id, now=self._clock.now()):
                return Outcome(duplicate=True)
            return await self._queue(session, message, outcome, self._clock.now())

    async def _queued(self, message: IncomingMessage, outcome: Outcome) -> Outcome:
        """Queue replies made after the step's transaction, in a transaction of their own."""
        if message.channel not in self._queued_channels or not outcome.replies:
            return outcome
        async with transaction(self._sessions) as session:
            return await self._queue(session, message, outcome, self._clock.now())

    async def _queue(
        self, session: AsyncSession, message: IncomingMessage, outcome: Outcome, now: datetime
    ) -> Outcome:
        """For the queued channels: the replies go to the outbox, and the channel sends none."""
        if message.channel not in self._queued_channels or not outcome.replies:
            return outcome
        await queue_replies(session, message, outcome.replies, now=now)
        return replace(outcome, queued=True)

    async def _produce(
        self, session: AsyncSession, message: IncomingMessage, now: datetime
    ) -> Outcome:
        if message.inbox_id is not None:  # from the inbox: done with this step, or before
            if not await mark_done(session, message.inbox_id, now=now):
                return Outcome(duplicate=True)
        elif message.external_id and not await first_delivery(
            session, message.channel, message.external_id, now
        ):
            return Outcome(duplicate=True)
        if message.group:
            return Outcome(replies=tuple(await group_replies(session, message, now, self._t)))
        word = message.text.strip().strip("!.").casefold()
        identity, state = await identify_and_lock(session, message.address, now)
        if message.media:  # fetched later by the media workers, never while the sender waits
            await register_media(
                session,
                channel=message.channel,
                address=message.address,
                external_id=message.external_id,
                media=[(media.ref, media.content_type) for media in message.media],
                kpm_id=identity.kpm_id,
                now=now,
            )
        # Opting out is for KPM and strangers (reminders): a staff member's "berhenti"
        # mid-flow is a cancel, and their alerts (urgent cases) are never silenced.
        if word in OPT_OUT_WORDS and identity.staff is None:
            stopped = await opt_out(session, message.address, now=now)
            return Outcome(replies=(Reply(self._t("optout.stopped")),) if stopped else ())
        if word in OPT_IN_WORDS and await opt_in(session, message.address, now=now):
            return Outcome(replies=(Reply(self._t("optout.resumed")),))
        registration = _REGISTER.match(message.text.strip())
        if registration:
            return Outcome(replies=(await self._register(session, message, registration),))
        if identity.former_staff:  # deactivated: not "unknown", and nothing else is done
            return Outcome(replies=(Reply(self._t("access.ended")),))
        if identity.staff is None:
            reply = await not_staff_reply(
                session,
                message,
                identity,
                now,
                self._t,
                reason_window=timedelta(minutes=self._settings.pesan_reason_minutes),
            )
            return Outcome(replies=(reply,))
        if state is None:  # a staff member's first message: the row is made now
            state = await load_state(session, message.address)
        replies = await self._route(session, message, identity, state)
        if state.flow is None and replies and replies[-1].options:
            state.data = {PROMPT_KEY: _prompt_of(replies[-1])}
        state.expires_at = (
            now + timedelta(minutes=self._settings.conversation_timeout_minutes)
            if state.flow
            else None
        )
        await save_state(session, state, now)
        return Outcome(replies=tuple(replies))

    async def _register(
        self, session: AsyncSession, message: IncomingMessage, match: re.Match[str]
    ) -> Reply:
        redeemed = await redeem_invite(
            session, match.group("code"), message.address, now=self._clock.now()
        )
        if redeemed.staff is not None:
            return self._menu(
                self._t("register.welcome", name=redeemed.staff.name), redeemed.staff.role.value
            )
        key = {
            RedeemProblem.UNKNOWN: "register.code_unknown",
            RedeemProblem.USED: "register.code_used",
            RedeemProblem.EXPIRED: "register.code_expired",
        }[redeemed.problem or RedeemProblem.UNKNOWN]
        return Reply(self._t(key))

    async def _route(
        self,
        session: AsyncSession,
        message: IncomingMessage,
        identity: Identity,
        state: ConversationState,
    ) -> list[Reply]:
        notes: list[Reply] = []
        now = self._clock.now()
        if state.flow and state.expires_at and state.expires_at <= now:
            state.clear()
            notes.append(
                Reply(
                    self._t(
                        "conversation.timed_out",
                        minutes=self._settings.conversation_timeout_minutes,
                    )
                )
            )
        text = message.text.strip()
        command = COMMAND.match(text)
        word = (command.group("word") if command else text).casefold()
        args = (command.group("args") or "").strip() if command else ""
        if word in CANCEL_WORDS or word in OPT_OUT_WORDS:
            had_flow = state.flow is not None
            state.clear()
            return [
                *notes,
                self._menu(
                    self._t("cancel.done" if had_flow else "cancel.nothing"), _role(identity)
                ),
            ]
        if word in HELP_WORDS:
            return [*notes, self._help(state)]
        if word in MENU_WORDS:
            state.clear()
            return [*notes, self._menu(self._t("menu.title"), _role(identity))]
        if len(text) > MAX_TEXT:
            return [*notes, Reply(self._t("input.too_long", limit=MAX_TEXT))]
        if command and word in self._commands:
            state.clear()
            return [
                *notes,
                *await self._start(session, message, identity, state, self._commands[word], args),
            ]
        if command:
            return [*notes, self._menu(self._t("command.unknown", command=word), _role(identity))]
        if phrase := PHONE_PHRASE.match(text):  # "ganti nomor Rina 0813...": a command
            return [
                *notes,
                *await self._start(
                    session, message, identity, state, "kpm_phone", phrase.group("args")
                ),
            ]
        prefix, _, record = (message.choice or "").partition(":")
        if record and prefix in BUTTON_FLOWS:  # a pushed message's button
            flow_name = BUTTON_FLOWS[prefix]
            return [
                *notes,
                *await self._start(session, message, identity, state, flow_name, record),
            ]
        if message.choice and message.choice.startswith("move:"):  # a holiday notice button
            ctx = self._ctx(session, message, identity, state, "holiday")
            return [*notes, Reply(await move_to_offered_day(ctx, message.choice))]
        if state.flow and state.step and state.flow in self._flows:
            return [*notes, *await self._step(session, message, identity, state)]
        chosen = resolve_choice(message, state.data)
        if chosen and chosen.startswith("menu:"):
            state.clear()
            return [
                *notes,
                *await self._start(
                    session, message, identity, state, chosen.removeprefix("menu:"), ""
                ),
            ]
        if not command and word in self._commands:
            state.clear()
            return [
                *notes,
                *await self._start(session, message, identity, state, self._commands[word], ""),
            ]
        return [*notes, self._menu(self._t("menu.idle"), _role(identity))]

    def _ctx(
        self,
        session: AsyncSession,
        message: IncomingMessage,
        identity: Identity,
        state: ConversationState,
        step: str,
    ) -> Ctx:
        assert identity.staff is not None
        return Ctx(
            session=session,
            staff=identity.staff,
            data=state.data,
            now=self._clock.now(),
            t=self._t,
            settings=self._settings,
            step=step,
            text=message.text.strip(),
            choice=resolve_choice(message, state.data),
            media=message.media,
        )

    async def _start(
        self,
        session: AsyncSession,
        message: IncomingMessage,
        identity: Identity,
        state: ConversationState,
        flow_name: str,
        args: str,
    ) -> list[Reply]:
        flow = self._flows[flow_name]
        assert identity.staff is not None
        if identity.staff.role.value not in flow.roles:
            return [self._menu(self._t("access.flow_not_for_role"), _role(identity))]
        state.clear()
        ctx = self._ctx(session, message, identity, state, "entry")
        ctx.text = args
        ctx.choice = None
        result = await flow.entry(message, ctx)
        return self._apply(state, flow, result)

    async def _step(
        self,
        session: AsyncSession,
        message: IncomingMessage,
        identity: Identity,
        state: ConversationState,
    ) -> list[Reply]:
        flow = self._flows[state.flow or ""]
        step = flow.steps.get(state.step or "")
        if step is None:  # a step renamed by an upgrade: start over politely
            state.clear()
            return [self._menu(self._t("conversation.lost"), _role(identity))]
        for old, new in flow.renamed.items():  # data kept by an earlier release
            if old in state.data:
                state.data[new] = state.data.pop(old)
        ctx = self._ctx(session, message, identity, state, state.step or "")
        if not ctx.text and not ctx.media and ctx.choice is None and message.choice is not None:
            return list(ctx.retry(self._t("input.stale_button")).replies)
        result = await step(message, ctx)
        return self._apply(state, flow, result)

    def _apply(self, state: ConversationState, flow: Flow, result: StepResult) -> list[Reply]:
        if result.next_step is None:
            state.clear()
        else:
            state.flow, state.step = result.flow or flow.name, result.next_step
        return list(result.replies)

    def _menu(self, title: str, role: str = "pendamping") -> Reply:
        """The main menu: the flows this role may start, in a fixed order."""
        options = tuple(
            Option(f"menu:{name}", self._t(f"menu.{name}"))
            for name in MENU
            if name in self._flows and role in self._flows[name].roles
        )
        return Reply(text=title, options=options)

    def _help(self, state: ConversationState) -> Reply:
        if state.flow and state.step:
            expected = self._t_or_none(f"expect.{state.flow}.{state.step}")
            text = self._t("help.in_flow", expected=expected or self._t("help.expected_options"))
            options, _ = remembered_options(state.data)
            return Reply(text=text, options=tuple(Option(v, label) for v, label in options))
        return Reply(self._t("help.general"))

    def _t_or_none(self, key: str) -> str | None:
        try:
            return self._t(key)
        except KeyError:
            return None


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _clean(message: IncomingMessage) -> IncomingMessage:
    """Drop control characters (NUL cannot even be stored in PostgreSQL text)."""
    if _CONTROL.search(message.text) or (message.choice and _CONTROL.search(message.choice)):
        return replace(
            message,
            text=_CONTROL.sub("", message.text),
            choice=_CONTROL.sub("", message.choice) if message.choice else None,
        )
    return message


def _prompt_of(reply: Reply) -> dict[str, object]:
    return {
        "text": reply.text,
        "options": [[o.value, o.label] for o in reply.options],
        "toggles": [],
        "numbered": True,
    }
