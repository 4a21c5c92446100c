"""What every console page carries: security headers, signed cookies and CSRF tokens.

The session cookie holds the session's random token, signed (itsdangerous), HttpOnly,
SameSite=Lax, Secure when the public URL is https. A form's CSRF token is an HMAC of that
token (or, before login, of a signed random browser cookie), so it is bound to the one
browser and needs no storage; a POST without the right token is refused with 403.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path

from itsdangerous import BadSignature, Signer
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from models.private_files import write_private

SESSION_COOKIE = "pdm_session"
BROWSER_COOKIE = "pdm_browser"
CSRF_FIELD = "csrf"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
}


class SecurityHeaders:
    """Pure ASGI middleware: every response gets the headers above; HTML pages are not
    cached (they hold personal data)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)
                if headers.get("content-type", "").startswith("text/html"):
                    headers.setdefault("cache-control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)


def load_secret(configured: str | None, file: str) -> str:
    """The configured key, or one made once and kept (0600) in ``file``, so that every
    process on this machine signs alike and a restart keeps people signed in."""
    if configured:
        return configured
    path = Path(file)
    if path.exists():
        return path.read_text().strip()
    secret = secrets.token_urlsafe(48)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private(path, secret.encode())
    return secret


class Cookies:
    """Signing and reading the console's cookies, and the CSRF tokens bound to them."""

    def __init__(self, secret: str, *, secure: bool, idle_seconds: int) -> None:
        self.signer = Signer(secret, salt="pendamping.console")
        self.csrf_key = hashlib.sha256(("csrf:" + secret).encode()).digest()
        self.secure = secure
        self.idle_seconds = idle_seconds

    def _read(self, request: Request, name: str) -> str | None:
        value = request.cookies.get(name)
        if not value:
            return None
        try:
            return self.signer.unsign(value).decode()
        except BadSignature:
            return None

    def session_token(self, request: Request) -> str | None:
        return self._read(request, SESSION_COOKIE)

    def browser_id(self, request: Request) -> str | None:
        return self._read(request, BROWSER_COOKIE)

    def _set(self, response: Response, name: str, value: str, max_age: int | None) -> None:
        response.set_cookie(
            name,
            self.signer.sign(value).decode(),
            max_age=max_age,
            httponly=True,
            samesite="lax",
            secure=self.secure,
            path="/",
        )

    def set_session(self, response: Response, token: str) -> None:
        self._set(response, SESSION_COOKIE, token, None)  # ends with the browser or idle

    def clear_session(self, response: Response) -> None:
        response.delete_cookie(
            SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=self.secure
        )

    def set_browser(self, response: Response, browser: str) -> None:
        """The browser's id, which binds the login form's CSRF token before a session."""
        self._set(response, BROWSER_COOKIE, browser, 60 * 60 * 24)

    def csrf_token(self, bound_to: str) -> str:
        return hmac.new(self.csrf_key, bound_to.encode(), hashlib.sha256).hexdigest()

    def csrf_valid(self, bound_to: str | None, given: object) -> bool:
        if not bound_to or not isinstance(given, str):
            return False
        return hmac.compare_digest(self.csrf_token(bound_to), given)
