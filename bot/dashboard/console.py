"""The console's shared parts: who is looking (the viewer), pages that need one, and the
answers every page gives alike (404 for what is not there or not theirs)."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from bot.bootstrap import App, engine_settings
from bot.dashboard.render import page, templates
from bot.dashboard.security import CSRF_FIELD, Cookies, load_secret
from handlers.i18n import Translator
from models.enums import StaffRole
from models.scope import OutOfScope
from models.tables import Staff
from models.web_access import session_staff

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Viewer:
    """The signed-in staff member looking at a page, and the CSRF token of their forms."""

    staff: Staff
    csrf: str

    @property
    def role(self) -> StaffRole:
        return self.staff.role

    @property
    def is_operator(self) -> bool:
        return self.staff.role is StaffRole.ADMIN

    @property
    def oversees(self) -> bool:
        """A coordinator, supervisor or operator: sees more than their own kelompok."""
        return self.staff.role is not StaffRole.PENDAMPING


Page = Callable[[Request, Viewer], Awaitable[Response]]


class Console:
    """What every console route needs: the app, the cookies and the templates."""

    def __init__(self, app: App, *, figures_fresh_seconds: float = 30.0) -> None:
        web = app.settings.web
        self.app = app
        self.engine_settings = engine_settings(app)
        """The chat's rules (case categories, graduation, the digest's options), built once
        for every page."""
        self.figures_fresh_seconds = figures_fresh_seconds
        """How long the Ringkasan shows a viewer's figures again (0: read every time)."""
        self.t = Translator(app.settings.general.locale)
        self.views = templates(self.t)
        self.cookies = Cookies(
            load_secret(
                web.session_secret.get_secret_value() if web.session_secret else None,
                web.session_secret_file,
            ),
            secure=web.secure_cookies,
            idle_seconds=web.session_idle_minutes * 60,
        )
        self.idle = timedelta(minutes=web.session_idle_minutes)

    def render(
        self,
        request: Request,
        template: str,
        viewer: Viewer | None = None,
        status_code: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        context.setdefault("viewer", viewer)
        context.setdefault("csrf", viewer.csrf if viewer else "")
        context.setdefault("simulator", self.app.settings.web.simulator)
        return page(self.views, request, template, context, status_code=status_code)

    async def viewer(self, request: Request) -> Viewer | None:
        token = self.cookies.session_token(request)
        if token is None:
            return None
        async with self.app.sessions() as session:
            staff = await session_staff(session, token, now=self.app.clock.now(), idle=self.idle)
            await session.commit()
        if staff is None:
            return None
        return Viewer(staff, self.cookies.csrf_token(token))

    def staff_page(self, handler: Page) -> Callable[[Request], Awaitable[Response]]:
        """A page for signed-in staff: others are sent to the login page; a POST must
        carry the form's CSRF token; a record outside the viewer's scope is a 404."""

        async def endpoint(request: Request) -> Response:
            viewer = await self.viewer(request)
            if viewer is None:
                if request.method == "GET":
                    return RedirectResponse("/masuk?habis=1", status_code=303)
                raise HTTPException(403)
            if request.method == "POST":
                form = await request.form()
                token = self.cookies.session_token(request)
                if not self.cookies.csrf_valid(token, form.get(CSRF_FIELD)):
                    raise HTTPException(403)
            try:
                return await handler(request, viewer)
            except (OutOfScope, LookupError):
                raise HTTPException(404) from None

        return endpoint

    @staticmethod
    def new_browser_id() -> str:
        return secrets.token_urlsafe(24)

    async def http_error(self, request: Request, exc: Exception) -> Response:
        """404 and 403 as pages (never a traceback); the webhooks keep their plain answers."""
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        if request.url.path.startswith(("/twilio/", "/telegram/", "/media/", "/health")):
            return Response(status_code=status)
        key = {403: "web.error_403", 404: "web.error_404", 429: "web.error_429"}.get(
            status, "web.error_other"
        )
        return self.render(request, "error.html", None, status_code=status, message=self.t(key))
