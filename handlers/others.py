"""Messages from anyone but a registered staff member in a private chat: KPM (replies to
reminders, sharing their contact), unknown senders, and group chats."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.i18n import Translator
from handlers.ketua_answers import ketua_reply
from handlers.messages import IncomingMessage, Reply
from handlers.phone_change import PHRASE as PHONE_PHRASE
from handlers.phone_change import kpm_changes_number
from handlers.rsvp import REASON_WINDOW, kpm_reply
from models.conversations import Identity, identify
from models.group_chats import link_group_chat
from models.kpm import link_kpm_by_phone
from models.optout import phone_of
from models.rules.phone import PhoneError, normalize_phone
from models.staff import RedeemProblem

COMMAND = re.compile(r"^/(?P<word>[A-Za-z_]+)(?:@\w+)?(?:\s+(?P<args>.*))?$", re.S)
HELP_WORDS = {"bantuan", "help", "tolong"}


async def not_staff_reply(
    session: AsyncSession,
    message: IncomingMessage,
    identity: Identity,
    now: datetime,
    t: Translator,
    *,
    reason_window: timedelta = REASON_WINDOW,
) -> Reply:
    """A KPM, or someone unknown: a KPM may link by sharing their own contact."""
    kpm_id = identity.kpm_id
    phone = phone_of(message.address)
    if kpm_id is None and phone and await link_kpm_by_phone(
        session, message.address, phone, now=now
    ):
        kpm_id = (await identify(session, message.address, now)).kpm_id  # a roster number
        assert kpm_id is not None
    if kpm_id is not None:
        if change := PHONE_PHRASE.match(message.text.strip()):  # "GANTI NOMOR 0813..."
            return await kpm_changes_number(session, kpm_id, change.group("args"), now=now, t=t)
        if relayed := await ketua_reply(session, kpm_id, message, now=now, t=t):  # for members
            return relayed
        return await kpm_reply(
            session, kpm_id, message, now=now, t=t, reason_window=reason_window
        )
    if message.contact_phone:
        try:
            phone = normalize_phone(message.contact_phone)
        except PhoneError:
            return Reply(t("kpm.contact_unknown"))
        if await link_kpm_by_phone(session, message.address, phone, now=now):
            return Reply(t("kpm.contact_linked"))
        return Reply(t("kpm.contact_unknown"))
    if phone is None:  # the address does not carry the number (Telegram): ask for it
        return Reply(
            t("register.unknown_sender_ask_number"), request_contact=t("kpm.share_contact")
        )
    return Reply(t("register.unknown_sender"))  # the number is known (WhatsApp, SMS)


async def group_replies(
    session: AsyncSession, message: IncomingMessage, now: datetime, t: Translator
) -> list[Reply]:
    """In a group chat only commands are answered, and never with personal data."""
    command = COMMAND.match(message.text.strip())
    if command is None:
        return []
    word, args = command.group("word").casefold(), (command.group("args") or "").strip()
    if word in HELP_WORDS:
        return [Reply(t("group.help"))]
    if word != "hubungkan":
        return [Reply(t("group.private_only"))]
    sender = await identify(session, message.sender_address or "", now)
    if sender.staff is None or not args:
        return [Reply(t("group.link_how"))]
    linked = await link_group_chat(session, sender.staff, args, message.address, now=now)
    if isinstance(linked, RedeemProblem):
        return [Reply(t(f"group.link_{linked.value}"))]
    return [Reply(t("group.linked", name=linked.name))]
