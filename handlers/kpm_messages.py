"""/pesan: the pesan KPM waiting for the pendamping: open one, reply through the bot (the
KPM gets it on their own chat, told it comes from their pendamping), or mark it done.
A tap on the button of a pushed pesan KPM opens that message here directly."""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum
from typing import TypedDict, cast

from handlers.cases import open_from_message
from handlers.flow import Ctx, Flow, Pick, StepResult, option_value, picked_id
from handlers.local_time import staff_zone
from handlers.messages import Document, IncomingMessage, Option, Reply
from handlers.outgoing import REPLY_KIND
from handlers.parsing.dates import format_date_id
from models.enums import KpmMessageStatus, MediaStatus
from models.households import joined_names, sharers
from models.kpm_messages import (
    KpmMessageView,
    close_message,
    message_for,
    move_message,
    open_messages,
)
from models.media_views import media_of_message
from models.messaging.enqueue import Enqueue, Priority, enqueue
from models.rules.text import shorten
from models.staff import channel_of

LABEL_PREVIEW = 40
AUDIO_EXTENSIONS = {"audio/ogg": "ogg", "audio/mpeg": "mp3", "audio/mp4": "m4a",
                    "audio/amr": "amr"}
ABOUT = "about:"  # an option's value: the pesan is about this other KPM on a shared phone


class Step(StrEnum):
    """The steps of this flow, as kept in conversation state."""

    PICK = "pick"
    ACTION = "action"
    REPLY = "reply"


class Action(StrEnum):
    REPLY = "reply"
    CASE = "case"
    DONE = "done"


class PesanData(TypedDict, total=False):
    """What the flow keeps between steps (conversation state, stored as JSON)."""

    message_id: int


def _data(ctx: Ctx) -> PesanData:
    return cast(PesanData, ctx.data)


async def entry(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """Start: the message a button named, or the list of those waiting."""
    if ctx.text.isascii() and ctx.text.isdigit():
        return await _show(ctx, int(ctx.text))
    waiting = await open_messages(ctx.session, ctx.staff)
    if not waiting:
        return ctx.done(ctx.t("pesan.none"))
    options = [Option(option_value(Pick.MESSAGE, m.id), _label(m)) for m in waiting]
    return ctx.ask(Step.PICK, ctx.t("pesan.pick", count=len(waiting)), options)


async def pick(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """One message from the list."""
    message_id = picked_id(ctx.choice, Pick.MESSAGE)
    if message_id is None:
        return ctx.retry(ctx.t("pesan.pick_invalid"))
    return await _show(ctx, message_id)


async def action(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """Reply, or mark done."""
    view = await _kept(ctx)
    if view is None:
        return ctx.done(ctx.t("pesan.not_found"))
    if ctx.choice == Action.REPLY:
        return ctx.ask(Step.REPLY, ctx.t("pesan.ask_reply", name=view.kpm_name))
    if ctx.choice == Action.CASE:
        return open_from_message(ctx, view.kpm_id, view.kpm_name, view.id, view.text)
    if ctx.choice and ctx.choice.startswith(ABOUT) and ctx.choice[len(ABOUT):].isdigit():
        kpm_id = int(ctx.choice[len(ABOUT):])
        if not await move_message(ctx.session, ctx.staff, view.id, kpm_id, now=ctx.now):
            return ctx.retry(ctx.t("pesan.action_invalid"))
        return await _show(ctx, view.id)
    if ctx.choice == Action.DONE:
        await close_message(
            ctx.session, view.id, KpmMessageStatus.DONE, staff_id=ctx.staff.id, now=ctx.now
        )
        return ctx.done(ctx.t("pesan.marked_done", name=view.kpm_name))
    return ctx.retry(ctx.t("pesan.action_invalid"))


async def reply(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """The reply's text: sent to the KPM's own chat, the message marked answered."""
    view = await _kept(ctx)
    if view is None:
        return ctx.done(ctx.t("pesan.not_found"))
    if not ctx.text:
        return ctx.retry(ctx.t("pesan.reply_empty"))
    if not await close_message(
        ctx.session, view.id, KpmMessageStatus.ANSWERED, staff_id=ctx.staff.id, now=ctx.now
    ):
        return ctx.done(ctx.t("pesan.not_found"))
    channel = channel_of(view.address)
    payload = {
        "key": "pesan.from_pendamping",
        "values": {"name": ctx.staff.name, "text": ctx.text},
        # The KPM's message opened WhatsApp's 24-hour window: the reply goes inside it.
        "in_reply_to_at": view.received_at.isoformat(),
    }
    await enqueue(
        ctx.session,
        [Enqueue(channel, view.address, REPLY_KIND, payload, Priority.REPLY)],
        now=ctx.now,
    )
    return ctx.done(ctx.t("pesan.reply_sent", name=view.kpm_name))


async def _show(ctx: Ctx, message_id: int) -> StepResult:
    view = await message_for(ctx.session, ctx.staff, message_id)
    if view is None or view.status is not KpmMessageStatus.OPEN:
        return ctx.done(ctx.t("pesan.not_found"))
    _data(ctx)["message_id"] = view.id
    when = view.received_at.astimezone(await staff_zone(ctx))
    text = view.text or "-"
    if view.media_count:
        text = ctx.t("pesan.with_photos", text=text, count=view.media_count)
    shown = ctx.t(
        "pesan.show",
        name=view.kpm_name,
        kelompok=view.kelompok_name,
        when=f"{format_date_id(when.date())} {when:%H.%M}",
        text=text,
    )
    options = [
        Option(Action.REPLY, ctx.t("pesan.action_reply")),
        Option(Action.CASE, ctx.t("pesan.action_case")),
        Option(Action.DONE, ctx.t("pesan.action_done")),
    ]
    people = await sharers(ctx.session, view.address, None)
    if len(people) > 1:  # a shared phone: the pendamping may say whom it is about
        shown += "\n" + ctx.t("pesan.shared_note", names=joined_names(
            [person.addressed for person in people]
        ))
        options += [
            Option(f"{ABOUT}{person.kpm_id}", ctx.t("pesan.action_about", name=person.addressed))
            for person in people
            if person.kpm_id != view.kpm_id
        ]
    asked = ctx.ask(Step.ACTION, shown, options)
    voice = await _voice_note(ctx, view.id)
    if voice is None:
        return asked
    return replace(asked, replies=(Reply(ctx.t("pesan.voice_note"), document=voice),
                                   *asked.replies))


async def _voice_note(ctx: Ctx, message_id: int) -> Document | None:
    """The first voice note or audio of the pesan, as we keep it, to hear in the chat."""
    if ctx.settings.read_media is None:
        return None
    for kept in await media_of_message(ctx.session, message_id):
        if (kept.status is MediaStatus.STORED and kept.storage_key
                and (kept.content_type or "").startswith("audio/")):
            content = await ctx.settings.read_media(kept.storage_key)
            if content is not None:
                kind = kept.content_type or "audio/ogg"
                name = f"pesan-{message_id}.{AUDIO_EXTENSIONS.get(kind, 'bin')}"
                return Document(name, content, kind)
    return None


async def _kept(ctx: Ctx) -> KpmMessageView | None:
    message_id = _data(ctx).get("message_id")
    if message_id is None:
        return None
    view = await message_for(ctx.session, ctx.staff, message_id)
    return view if view is not None and view.status is KpmMessageStatus.OPEN else None


def _label(view: KpmMessageView) -> str:
    return f"{view.kpm_name} ({view.kelompok_name}): {shorten(view.text or '-', LABEL_PREVIEW)}"


FLOW = Flow(
    name="kpm_message",
    entry=entry,
    steps={Step.PICK: pick, Step.ACTION: action, Step.REPLY: reply},
)
