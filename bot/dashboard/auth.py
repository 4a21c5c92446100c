"""Signing in with a one-time link, and out.

``GET /masuk/{token}`` only shows whose link it is and a button: chat apps open links to
draw previews, and a GET that used the link would spend it. ``POST`` uses it (once),
opens a session and sets the cookie. Failed attempts are limited per address.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict, deque

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.dashboard.console import Console
from bot.dashboard.security import CSRF_FIELD
from models.tables import Staff
from models.web_access import LinkProblem, end_session, link_holder, redeem_login_link

log = logging.getLogger(__name__)
FAILURES_ALLOWED = 10
FAILURE_WINDOW_SECONDS = 600


class FailureLimit:
    """At most ``allowed`` failed link uses per client address within the window."""

    def __init__(self, allowed: int = FAILURES_ALLOWED, window: float = FAILURE_WINDOW_SECONDS):
        self.allowed, self.window = allowed, window
        self.failures: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, client: str) -> deque[float]:
        failures, now = self.failures[client], time.monotonic()
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures

    def blocked(self, client: str) -> bool:
        return len(self._recent(client)) >= self.allowed

    def failed(self, client: str) -> None:
        self._recent(client).append(time.monotonic())


def auth_routes(console: Console) -> list[BaseRoute]:
    limit = FailureLimit()
    t = console.t

    def client_of(request: Request) -> str:
        return request.client.host if request.client else "-"

    async def login_help(request: Request) -> Response:
        viewer = await console.viewer(request)
        if viewer is not None:
            return RedirectResponse("/dasbor", status_code=303)
        expired = request.query_params.get("habis") == "1"
        return console.render(request, "login_help.html", expired=expired)

    async def login_link(request: Request) -> Response:
        token = request.path_params["token"]
        client = client_of(request)
        if limit.blocked(client):
            raise HTTPException(429)
        async with console.app.read_sessions() as session:
            holder = await link_holder(session, token, now=console.app.clock.now())
        if not isinstance(holder, Staff):
            limit.failed(client)
            return console.render(
                request, "login_help.html", status_code=410 if holder.value != "unknown" else 404,
                problem=t(f"web.link_{holder.value}"), expired=False,
            )
        known = console.cookies.browser_id(request)
        browser = known or console.new_browser_id()
        response = console.render(
            request, "login_confirm.html", name=holder.name,
            csrf=console.cookies.csrf_token(browser),
        )
        if known is None:
            console.cookies.set_browser(response, browser)
        return response

    async def login(request: Request) -> Response:
        token = request.path_params["token"]
        client = client_of(request)
        if limit.blocked(client):
            raise HTTPException(429)
        form = await request.form()
        browser = console.cookies.browser_id(request)
        if not console.cookies.csrf_valid(browser, form.get(CSRF_FIELD)):
            raise HTTPException(403)
        async with console.app.sessions() as session:
            opened = await redeem_login_link(session, token, now=console.app.clock.now())
            await session.commit()
        if isinstance(opened, LinkProblem):
            limit.failed(client)
            return console.render(
                request, "login_help.html", status_code=410,
                problem=t(f"web.link_{opened.value}"), expired=False,
            )
        log.info("web: staff %s signed in", opened.staff_id)
        response = RedirectResponse("/dasbor", status_code=303)
        console.cookies.set_session(response, opened.token)
        return response

    async def logout(request: Request) -> Response:
        form = await request.form()
        token = console.cookies.session_token(request)
        if not console.cookies.csrf_valid(token, form.get(CSRF_FIELD)):
            raise HTTPException(403)
        assert token is not None
        async with console.app.sessions() as session:
            await end_session(session, token)
            await session.commit()
        response = RedirectResponse("/masuk", status_code=303)
        console.cookies.clear_session(response)
        return response

    async def home(request: Request) -> Response:
        return RedirectResponse("/dasbor", status_code=303)

    return [
        Route("/", home, methods=["GET"]),
        Route("/masuk", login_help, methods=["GET"]),
        Route("/masuk/{token}", login_link, methods=["GET"]),
        Route("/masuk/{token}", login, methods=["POST"]),
        Route("/keluar", logout, methods=["POST"]),
    ]
