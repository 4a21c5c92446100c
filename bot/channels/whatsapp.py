"""WhatsApp (and SMS) through Twilio: signed webhooks in, the REST API out.

Inbound requests are checked with Twilio's ``RequestValidator`` against the URL Twilio
signed (rebuilt from the configured public base URL) and stored in the inbox before the
webhook answers; the inbox workers run the engine. Replies go out through the REST API
with the ``twilio`` SDK's async HTTP client; each one is an outbox row whose status the
delivery callbacks advance.

Messages the business starts are sent as approved templates outside WhatsApp's 24-hour
window, one per catalog key (``models.messaging.templates``; the Content SIDs under
``[twilio.templates]`` by template name); without a configured template they are not sent
but marked failed with a reason.
SMS (``sms:+62...`` addresses) shares all of this, minus templates: its bodies are
written in GSM-7 and a message the business starts is its catalog text's SMS variant,
fitted within ``[sms] max_segments`` (:func:`bot.channels.text.sms_text`); the segments
Twilio bills are recorded. A KPM's WhatsApp message that fails because the number is not
on WhatsApp (``[sms] not_on_whatsapp_codes``, at once or through the status callback) is
said so in the result, and the dispatcher (or the callback) sends it again by SMS
(:mod:`models.messaging.sms_fallback`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot.channels.text import payload_text, sms_text, split_text
from bot.config import SmsSettings, TwilioSettings
from bot.media import MediaSigner
from bot.senders import Route, Routing
from handlers.i18n import Translator
from handlers.messages import IncomingMessage, Media, Reply
from handlers.outgoing import REPLY_KIND, reply_of
from models.conversations import INBOUND_TIME_PRECISION
from models.enums import Channel, OutboxStatus
from models.messaging.inbox import Arrival
from models.messaging.inbox import Claimed as InboxRow
from models.messaging.outbox import (
    BUSINESS_INITIATED_KINDS,
    Claimed,
    record_status,
)
from models.messaging.sending import SendResult
from models.messaging.sms_fallback import fall_back_to_sms
from models.messaging.tables import Outbox
from models.messaging.template_checks import template_variables, variable_text
from models.messaging.templates import Template, TemplateProblem, VariableKind, template_of
from models.messaging.written_to import last_inbox_to, note_written_to, written_to
from models.optout import OPTED_OUT
from models.rules.clock import Clock
from models.rules.sms import gsm7, segments
from models.tables import ChannelIdentity

log = logging.getLogger(__name__)
Store = Callable[[Sequence[Arrival]], Awaitable[int]]
"""Keeps arrivals in the inbox (``handlers.inbox.InboxWorkers.store``)."""
BODY_LIMIT = 1600  # characters Twilio accepts in one WhatsApp or SMS body
SESSION_WINDOW = timedelta(hours=24)
PERMANENT_CODES = {21211, 21408, 21610, 21612, 21614, 63016, 63018, 63024, 63032}
TWILIO_STATUS = {
    "accepted": OutboxStatus.QUEUED,
    "scheduled": OutboxStatus.QUEUED,
    "queued": OutboxStatus.QUEUED,
    "sending": OutboxStatus.SENDING,
    "sent": OutboxStatus.SENT,
    "delivered": OutboxStatus.DELIVERED,
    "read": OutboxStatus.READ,
    "undelivered": OutboxStatus.UNDELIVERED,
    "failed": OutboxStatus.FAILED,
    "canceled": OutboxStatus.CANCELLED,
}
NOT_ON_WHATSAPP = "the number is not on WhatsApp: sent by SMS instead"
"""The refusal of a WhatsApp message to an address marked as not on WhatsApp."""


class TimedHttpClient(AsyncTwilioHttpClient):
    """The SDK's async HTTP client with a timeout that holds (the SDK's own client accepts
    a ``timeout`` argument but never applies it), and that sends a JSON request's body as
    JSON: the SDK's async client hands the dict to aiohttp as form data under a JSON
    header, which Twilio refuses (twilio/twilio-python#932; the Content API's create is
    such a request, the Messages API is not)."""

    def __init__(self, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self._limit = timeout

    async def request(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.pop("timeout", None)
        headers = kwargs.get("headers") or {}
        if headers.get("Content-Type") == "application/json" and isinstance(
            kwargs.get("data"), dict
        ):
            kwargs["data"] = json.dumps(kwargs["data"])
        async with asyncio.timeout(self._limit):
            return await super().request(*args, **kwargs)


def twilio_client(settings: TwilioSettings, http: AsyncTwilioHttpClient) -> Client:
    """The SDK client; with ``api_base_url`` its calls go to a regional edge or a mock."""
    assert settings.account_sid and settings.auth_token
    client = Client(settings.account_sid, settings.auth_token.get_secret_value(), http_client=http)
    if settings.api_base_url:
        client.api.base_url = settings.api_base_url.rstrip("/")
        client.content.base_url = settings.api_base_url.rstrip("/")  # the templates' API
        client.edge = client.region = None  # these would rewrite the host again
    return client


def address_of(sender: str) -> tuple[str, str]:
    """Twilio's ``From`` as our (channel, address): ``whatsapp:+62...`` or ``sms:+62...``."""
    if sender.startswith("whatsapp:"):
        return "whatsapp", sender
    return "sms", f"sms:{sender}"


def to_incoming(params: Mapping[str, str], now: datetime) -> IncomingMessage:
    """A Twilio webhook parameter set as the engine's message."""
    channel, address = address_of(params.get("From", ""))
    media = tuple(
        Media(
            ref=params[f"MediaUrl{n}"],
            content_type=params.get(f"MediaContentType{n}", "application/octet-stream"),
        )
        for n in range(int(params.get("NumMedia", "0") or 0))
        if params.get(f"MediaUrl{n}")
    )
    return IncomingMessage(
        channel=channel,
        address=address,
        received_at=now,
        text=params.get("Body", ""),
        choice=params.get("ButtonPayload") or None,
        media=media,
        external_id=params.get("MessageSid") or params.get("SmsMessageSid"),
    )


def from_inbox(row: InboxRow) -> IncomingMessage:
    """A stored webhook's parameters as the engine's message, at its arrival time."""
    return to_incoming(row.payload, row.received_at)


_TOGGLE_MARKS = {True: "✅", False: "❌", None: "⬜"}  # None: not decided yet


def render(reply: Reply, t: Translator) -> str:
    """Options as a numbered list to answer by typing; toggles as a checked list."""
    lines = [reply.text]
    if reply.toggles:
        lines.append("")
        lines.extend(f"{_TOGGLE_MARKS[toggle.on]} {toggle.label}" for toggle in reply.toggles)
    if reply.options and reply.numbered_options:
        lines.append("")
        lines.append(t("whatsapp.reply_with_number"))
        lines.extend(f"{n}. {option.label}" for n, option in enumerate(reply.options, start=1))
    elif reply.options:
        lines.append("")
        lines.append(
            t(
                "whatsapp.reply_with_word",
                words=" · ".join(option.label.upper() for option in reply.options),
            )
        )
    return "\n".join(lines)


def split_body(text: str, limit: int = BODY_LIMIT) -> list[str]:
    """Split at the body length Twilio accepts."""
    return split_text(text, limit)


def content_variables(
    template: Template, payload: Mapping[str, Any], file_path: str | None
) -> dict[str, str]:
    """The ContentVariables of a payload sent as ``template``: those enqueue checked and
    stored, else made from the payload's values now; a media template's file path (its
    signed URL after the public base URL) is known only here."""
    stored = payload.get("template_variables")
    variables = (
        dict(stored)
        if isinstance(stored, dict)
        else template_variables(template, payload.get("values") or {}, skip_files=True)
    )
    for number, variable in enumerate(template.variables, 1):
        if variable.kind is VariableKind.FILE:
            if file_path is None:
                raise TemplateProblem(f"template {template.name}: no file to send")
            variables[str(number)] = variable_text(template, variable, file_path)
    return variables


def _time(value: Any) -> datetime | None:
    """An ISO time from a payload, or None."""
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _count(value: Any) -> int | None:
    """Twilio's ``num_segments`` (a string) as a number, or None."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _open(opened: datetime | None, now: datetime) -> bool:
    """Whether the 24-hour window an inbound message opened at ``opened`` is still open."""
    return opened is not None and now - opened < SESSION_WINDOW - INBOUND_TIME_PRECISION


def _retryable(error: BaseException) -> bool:
    if isinstance(error, TwilioRestException):
        return error.status == 429 or error.status >= 500
    return isinstance(error, aiohttp.ClientError | TimeoutError)


@dataclass(frozen=True)
class Outgoing:
    """One message to send: free text, or a template for business-initiated messages."""

    address: str
    kind: str
    body: str = ""
    media_urls: Sequence[str] = ()
    template: Template | None = None  # what it goes out as outside the 24-hour window
    template_variables: Mapping[str, str] | None = None
    template_problem: str | None = None  # why it cannot go out as its template
    business_initiated: bool = False
    in_reply_to_at: datetime | None = None  # the inbound message this answers
    sender: str | None = None  # the sender's name (bot.senders), once routed
    region: str | None = None  # the recipient's region, when not routed yet


class TwilioChannel:
    """Receives Twilio webhooks and sends messages through the Twilio REST API."""

    def __init__(
        self,
        settings: TwilioSettings,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        translator: Translator,
        *,
        retry_attempts: int = 4,
        retry_wait: float = 0.5,
        timeout: float = 15.0,
        media: MediaSigner | None = None,
        inbox: Store | None = None,
        sms: SmsSettings | None = None,
    ) -> None:
        assert settings.account_sid and settings.auth_token
        self._sms = sms or SmsSettings()
        self._not_on_whatsapp = {str(code) for code in self._sms.not_on_whatsapp_codes}
        self._media = media
        self._settings = settings
        self._sessions = sessions
        self._clock = clock
        self._t = translator
        self._validator = RequestValidator(settings.auth_token.get_secret_value())
        self.http = TimedHttpClient(timeout)
        self.client = twilio_client(settings, self.http)
        self._retry_attempts = retry_attempts
        self._retry_wait = retry_wait
        self._store = inbox
        self.routing = Routing(settings)

    # -- inbound -----------------------------------------------------------------------

    def signed_url(self, path: str, query: str) -> str:
        """The URL Twilio signed: the public base URL (behind a TLS proxy the request's
        own URL differs) plus the path and query."""
        base = (self._settings.public_base_url or "").rstrip("/")
        return f"{base}{path}" + (f"?{query}" if query else "")

    def authentic(self, url: str, params: Mapping[str, str], signature: str | None) -> bool:
        return bool(signature) and self._validator.validate(url, dict(params), signature)

    async def accept(self, params: Mapping[str, str]) -> None:
        """An inbound message: stored in the inbox before the webhook answers (a
        redelivery of the same MessageSid is stored once)."""
        assert self._store is not None, "a Twilio channel that receives needs an inbox"
        channel, address = address_of(params.get("From", ""))
        external_id = params.get("MessageSid") or params.get("SmsMessageSid") or ""
        to = params.get("To", "").removeprefix("whatsapp:")
        if self.routing.regional and self.routing.for_number(Channel(channel), to):
            # Before the message is stored: its reply is routed from the number it went to.
            async with self._sessions.begin() as session:
                await note_written_to(session, address, to)
        await self._store([Arrival(Channel(channel), external_id, address, dict(params))])

    async def stop(self) -> None:
        await self.http.close()

    async def status(self, params: Mapping[str, str]) -> bool:
        """A delivery status callback; out-of-order receipts never move a status back."""
        status = TWILIO_STATUS.get(params.get("MessageStatus", ""))
        sid = params.get("MessageSid")
        if status is None or not sid:
            return False
        error_code = params.get("ErrorCode") or None
        now = self._clock.now()
        async with self._sessions.begin() as session:
            recorded = await record_status(session, sid, status, now=now, error_code=error_code)
            if recorded and error_code in self._not_on_whatsapp and status in (
                OutboxStatus.FAILED,
                OutboxStatus.UNDELIVERED,
            ):
                failed = await session.scalar(
                    select(Outbox.id).where(
                        Outbox.provider_id == sid, Outbox.channel == Channel.WHATSAPP
                    )
                )
                if failed is not None:
                    await fall_back_to_sms(session, [failed], now=now)
            return recorded

    # -- outbound ----------------------------------------------------------------------

    async def _request(
        self, session: AsyncSession, outgoing: Outgoing, now: datetime
    ) -> tuple[str | None, dict[str, Any]]:
        whatsapp = outgoing.address.startswith("whatsapp:")
        identity = None
        if whatsapp or outgoing.business_initiated or self.routing.regional:
            # the window, opt-out and the number they wrote to need it
            identity = await session.scalar(
                select(ChannelIdentity).where(ChannelIdentity.address == outgoing.address)
            )
        if outgoing.business_initiated and identity is not None and identity.opted_out_at:
            # the dispatcher withholds these (models.optout.withheld); this catches a
            # "berhenti" that came between its look and this send
            return OPTED_OUT, {}
        if whatsapp and identity is not None and identity.not_on_whatsapp_at is not None:
            return NOT_ON_WHATSAPP, {}
        in_window = any(
            _open(opened, now)
            for opened in (
                identity.last_inbound_at if identity is not None else None,
                outgoing.in_reply_to_at,  # a reply: the window its message opened
            )
        )
        channel = Channel.WHATSAPP if whatsapp else Channel.SMS
        route = self.routing.routes.get(outgoing.sender or "")
        if route is None:
            route = await self._route(
                session, channel, outgoing.address, outgoing.region,
                written=identity.last_to if identity is not None else None,
                in_window=in_window, reply=not outgoing.business_initiated,
            )
        sender = route.whatsapp_sender if whatsapp else route.sms_sender
        service = route.messaging_service_sid
        if not sender and not service:
            return f"no {'WhatsApp' if whatsapp else 'SMS'} sender configured", {}
        to = outgoing.address if whatsapp else outgoing.address.removeprefix("sms:")
        request: dict[str, Any] = {"to": to}
        if service:  # a Messaging Service: Twilio picks a sender of its pool and paces it
            request["messaging_service_sid"] = service
        else:
            request["from_"] = f"whatsapp:{sender}" if whatsapp else sender
        if self._settings.public_base_url:
            request["status_callback"] = self.signed_url("/twilio/status", "")
        if whatsapp and not in_window and outgoing.business_initiated:
            template = outgoing.template
            if template is None:
                return "outside the 24-hour window and no WhatsApp template is declared", {}
            content_sid = self._settings.templates.get(template.name)
            if content_sid is None:
                return (
                    f"outside the 24-hour window and no approved template is configured "
                    f"for {template.key} (twilio.templates.{template.name})"
                ), {}
            if outgoing.template_problem is not None:
                return outgoing.template_problem, {}
            request["content_sid"] = content_sid
            request["content_variables"] = json.dumps(dict(outgoing.template_variables or {}))
            return None, request
        if whatsapp and not in_window:
            return "outside the 24-hour window: a reply can no longer be sent", {}
        if outgoing.body:
            request["body"] = outgoing.body
        if outgoing.media_urls:
            request["media_url"] = list(outgoing.media_urls)
        return None, request

    async def _attempt(self, request: dict[str, Any]) -> SendResult:
        """One call to the Messages API; provider errors become a result, not a raise."""
        try:
            message = await self.client.messages.create_async(**request)
        except TwilioRestException as exc:
            return SendResult(
                OutboxStatus.FAILED,
                error_code=str(exc.code or exc.status),
                error=(exc.msg or "")[:500],
                temporary=_retryable(exc),
            )
        except (TimeoutError, aiohttp.ClientError) as exc:
            return SendResult(
                OutboxStatus.FAILED, error_code="network", error=type(exc).__name__, temporary=True
            )
        return SendResult(
            TWILIO_STATUS.get(str(message.status), OutboxStatus.QUEUED),
            provider_id=message.sid,
            segments=_count(message.num_segments),
        )

    async def send_claimed(self, message: Claimed) -> SendResult:
        """For the outbox dispatcher: one attempt at a queued message (it owns retries)."""
        media_urls: list[str] = []
        payload = message.payload
        file_path: str | None = None
        if payload.get("file_id") is not None and self._media is None:
            if message.kind != REPLY_KIND:
                return SendResult(
                    OutboxStatus.FAILED, error="media URLs need twilio.public_base_url"
                )
            log.warning("file not sent: media URLs need twilio.public_base_url")
            payload = {"text": self._t("file.unavailable")}  # say so, in the file's place
        body = payload_text(payload, self._t)
        if payload.get("file_id") is not None and self._media is not None:
            url = self._media.url(int(payload["file_id"]), now=self._clock.now())
            media_urls.append(url)
            # Outside the 24-hour window: a media template whose URL is the public base
            # URL followed by {{1}} (the signed path).
            file_path = url.removeprefix(self._media.base_url + "/")
        sms = message.address.startswith("sms:")
        business = message.kind in BUSINESS_INITIATED_KINDS
        if message.kind == REPLY_KIND:  # a conversation's reply: options as a numbered list
            reply = reply_of(payload, body)
            body = render(reply, self._t)
            media_urls = [media.ref for media in reply.media] + media_urls
        elif sms:  # short, GSM-7, within the configured segments
            body = sms_text(payload, self._t, self._sms.max_segments)
        if sms:
            body = gsm7(body)
        template = template_of(payload) if business else None
        variables: dict[str, str] | None = None
        problem: str | None = None
        if template is not None:
            try:
                variables = content_variables(template, payload, file_path)
            except TemplateProblem as refused:
                problem = str(refused)
        outgoing = Outgoing(
            address=message.address,
            kind=message.kind,
            body=body,
            media_urls=media_urls,
            template=template,
            template_variables=variables,
            template_problem=problem,
            business_initiated=business,
            in_reply_to_at=_time(payload.get("in_reply_to_at")),
            sender=message.sender,
            region=message.region,
        )
        async with self._sessions() as session:
            refusal, request = await self._request(session, outgoing, self._clock.now())
        if refusal == OPTED_OUT:
            return SendResult(OutboxStatus.CANCELLED, error=OPTED_OUT)
        if refusal is not None:
            return SendResult(
                OutboxStatus.FAILED, error=refusal, not_on_whatsapp=refusal == NOT_ON_WHATSAPP
            )
        parts = split_body(request.pop("body")) if "body" in request else [None]
        result = SendResult(OutboxStatus.FAILED, error="nothing to send")
        billed = 0
        for index, part in enumerate(parts):  # a long text (a digest) goes in parts, in order
            attempt = dict(request)
            if part is not None:
                attempt["body"] = part
            if index < len(parts) - 1:
                attempt.pop("media_url", None)  # media rides with the last part
            result = await self._attempt(attempt)
            tries = 1
            while index and result.temporary and tries < self._retry_attempts:
                # A later part is retried here: the dispatcher's retry would send the
                # earlier parts again.
                await asyncio.sleep(random.uniform(0.5, 1.0) * self._retry_wait * 2**tries)
                result = await self._attempt(attempt)
                tries += 1
            if result.provider_id is None:
                if not sms and result.error_code in self._not_on_whatsapp:
                    return replace(result, not_on_whatsapp=True)
                return result
            billed += result.segments or segments(part or "")
        return replace(result, segments=billed or None) if sms else replace(result, segments=None)

    async def _route(
        self,
        session: AsyncSession,
        channel: Channel,
        address: str,
        region: str | None,
        *,
        written: str | None,
        in_window: bool,
        reply: bool,
        owner_known: bool = False,
    ) -> Route:
        """The sender of one message (:meth:`Routing.choose`); someone not linked yet has
        no identity to remember the number they wrote to: their last inbox message says.
        ``owner_known``: the caller looked up the address's owner already (its region)."""
        if not self.routing.regional:
            return self.routing.default
        if region is None and not owner_known:  # enqueued without it: its owner's region
            known = (await written_to(session, [address])).get(address)
            region = known.region if known is not None else None
        if written is None and (reply or (channel is Channel.WHATSAPP and in_window)):
            written = await last_inbox_to(session, address)  # not linked when they wrote
        return self.routing.choose(
            channel, region, written_to=written, in_window=in_window, reply=reply
        )

    async def routes(self, messages: Sequence[Claimed]) -> list[Claimed]:
        """For the dispatcher: the claimed WhatsApp and SMS messages with the sender each
        goes from (``Claimed.sender``), which it paces them by; one query for a batch."""
        twilio = [m for m in messages if m.channel in (Channel.WHATSAPP, Channel.SMS)]
        if not self.routing.regional or not twilio:
            return list(messages)
        now = self._clock.now()
        routed: dict[int, str] = {}
        async with self._sessions() as session:
            known = await written_to(session, [m.address for m in twilio])
            for message in twilio:
                wrote = known.get(message.address)
                reply = message.kind not in BUSINESS_INITIATED_KINDS
                in_window = _open(wrote.last_inbound_at if wrote else None, now) or _open(
                    _time(message.payload.get("in_reply_to_at")), now
                )
                route = await self._route(
                    session, message.channel, message.address,
                    message.region or (wrote.region if wrote else None),
                    written=wrote.number if wrote else None, in_window=in_window, reply=reply,
                    owner_known=True,
                )
                routed[message.id] = route.name
        return [
            replace(m, sender=routed[m.id]) if m.id in routed else m for m in messages
        ]

    def pace_key(self, channel: Channel, sender: str) -> tuple[str, float]:
        """A sender's shared pace key and its rate (per second)."""
        route = self.routing.routes[sender]
        return self.routing.pace_key(channel, route), route.messages_per_second

    async def check(self) -> str:
        """For `doctor`: the account's name and status (the credentials work)."""
        account = await self.client.api.v2010.accounts(self._settings.account_sid).fetch_async()
        return f"{account.friendly_name} ({account.status})"
