"""The web app (Starlette): provider webhooks and a health check.

Routes only check, parse and queue; the work happens in the channels and the engine.
Resources are opened in the lifespan given by the runner, never at import.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

log = logging.getLogger(__name__)
TELEGRAM_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass(frozen=True)
class TelegramWebhook:
    secret: str
    feed: Callable[[dict[str, Any]], Awaitable[None]]
    respond: Callable[[dict[str, Any]], dict[str, Any] | None] = lambda data: None


def create_web_app(
    *,
    telegram: TelegramWebhook | None = None,
    lifespan: Callable[[Starlette], AbstractAsyncContextManager[None]] | None = None,
) -> Starlette:
    routes = [Route("/health", health, methods=["GET"])]
    if telegram is not None:
        routes.append(Route("/telegram/webhook", _telegram_route(telegram), methods=["POST"]))
    return Starlette(routes=routes, lifespan=lifespan)


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
            data = json.loads(await request.body())
        except ValueError:
            return Response(status_code=400)
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return Response(status_code=400)
        await webhook.feed(data)
        answer = webhook.respond(data)
        return JSONResponse(answer) if answer is not None else Response(status_code=200)

    return telegram_webhook
