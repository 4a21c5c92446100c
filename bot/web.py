"""The web app (Starlette): provider webhooks, signed media and a health check.

Routes only check, parse and store: an inbound message is in the inbox (committed) before
the provider gets its 200; the inbox workers and the engine do the work.
Resources are opened in the lifespan given by the runner, never at import.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.dashboard import Console, SecurityHeaders, console_routes

log = logging.getLogger(__name__)
TELEGRAM_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
TWILIO_SIGNATURE_HEADER = "X-Twilio-Signature"


@dataclass(frozen=True)
class TwilioWebhooks:
    """What the Twilio routes need from the channel."""

    signed_url: Callable[[str, str], str]
    authentic: Callable[[str, dict[str, str], str | None], bool]
    accept: Callable[[dict[str, str]], Awaitable[None]]
    status: Callable[[dict[str, str]], Awaitable[bool]]


@dataclass(frozen=True)
class TelegramWebhook:
    secret: str
    feed: Callable[[dict[str, Any]], Awaitable[None]]
    respond: Callable[[dict[str, Any]], dict[str, Any] | None] = lambda data: None


@dataclass(frozen=True)
class MediaFiles:
    """What the media route needs: the URL check and the file (filename, type, bytes)."""

    valid: Callable[[int, str, str], bool]
    load: Callable[[int], Awaitable[tuple[str, str, bytes] | None]]


def create_web_app(
    *,
    telegram: TelegramWebhook | None = None,
    twilio: TwilioWebhooks | None = None,
    media: MediaFiles | None = None,
    lifespan: Callable[[Starlette], AbstractAsyncContextManager[None]] | None = None,
    console: Console | None = None,
) -> Starlette:
    """The app: the webhooks, signed media, health, and the web console when given
    (its pages, the simulator when enabled, and the security headers on every answer)."""
    routes: list[BaseRoute] = [Route("/health", health, methods=["GET"])]
    if media is not None:
        routes.append(Route("/media/{file_id:int}", _media_route(media), methods=["GET", "HEAD"]))
    if telegram is not None:
        routes.append(Route("/telegram/webhook", _telegram_route(telegram), methods=["POST"]))
    if twilio is not None:
        inbound = _twilio_inbound_route(twilio)
        routes.append(Route("/twilio/whatsapp", inbound, methods=["POST"]))
        routes.append(Route("/twilio/sms", inbound, methods=["POST"]))
        routes.append(Route("/twilio/status", _twilio_status_route(twilio), methods=["POST"]))
    if console is None:
        return Starlette(routes=routes, lifespan=lifespan)
    routes.extend(console_routes(console))
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={HTTPException: console.http_error, 500: console.http_error},
    )


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def _telegram_route(webhook: TelegramWebhook) -> Callable[[Request], Awaitable[Response]]:
    expected = webhook.secret.encode()

    async def telegram_webhook(request: Request) -> Response:
        given = request.headers.get(TELEGRAM_SECRET_HEADER, "").encode()
        if not given or not hmac.compare_digest(given, expected):
            log.warning("telegram webhook refused: missing or wrong secret")
            return Response(status_code=403)
        try:
            data = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return Response(status_code=400)
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return Response(status_code=400)
        await webhook.feed(data)
        answer = webhook.respond(data)
        return JSONResponse(answer) if answer is not None else Response(status_code=200)

    return telegram_webhook


async def _signed_form(twilio: TwilioWebhooks, request: Request) -> dict[str, str] | None:
    """The form Twilio posted, or None when its signature does not match."""
    form = await request.form()
    params = {key: str(value) for key, value in form.multi_items()}
    url = twilio.signed_url(request.url.path, request.url.query)
    if not twilio.authentic(url, params, request.headers.get(TWILIO_SIGNATURE_HEADER)):
        log.warning("twilio webhook refused: missing or wrong signature")
        return None
    return params


def _twilio_inbound_route(twilio: TwilioWebhooks) -> Callable[[Request], Awaitable[Response]]:
    async def twilio_inbound(request: Request) -> Response:
        params = await _signed_form(twilio, request)
        if params is None:
            return Response(status_code=403)
        if not params.get("From") or not (params.get("MessageSid") or params.get("SmsMessageSid")):
            return Response(status_code=400)
        await twilio.accept(params)  # in the inbox before Twilio hears 200; workers reply
        return Response(EMPTY_TWIML, media_type="text/xml")

    return twilio_inbound


def _twilio_status_route(twilio: TwilioWebhooks) -> Callable[[Request], Awaitable[Response]]:
    async def twilio_status(request: Request) -> Response:
        params = await _signed_form(twilio, request)
        if params is None:
            return Response(status_code=403)
        await twilio.status(params)
        return Response(status_code=204)

    return twilio_status


def _media_route(media: MediaFiles) -> Callable[[Request], Awaitable[Response]]:
    async def media_file(request: Request) -> Response:
        file_id = int(request.path_params["file_id"])
        expires = request.query_params.get("e", "")
        signature = request.query_params.get("s", "")
        if not media.valid(file_id, expires, signature):
            log.warning("media request refused: bad or expired signature")
            return Response(status_code=403)
        found = await media.load(file_id)
        if found is None:
            return Response(status_code=404)
        filename, content_type, content = found
        return Response(
            content,
            media_type=content_type,
            headers={
                "Content-Disposition": f'attachment; filename="{filename}"',
                "Cache-Control": "private, no-store",
            },
        )

    return media_file
