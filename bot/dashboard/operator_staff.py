"""Staff and invites for operators: the list `pendamping staff list` prints (from
:func:`models.staff.list_staff`), and a one-time invite for a staff member, made by
:func:`models.staff.create_invite` (audited with the operator's id) and shown as the code,
the links that send "daftar CODE" to the bot (a Telegram deep link when Telegram is
configured, a WhatsApp link when a WhatsApp number is) and a QR code of the first.

Only the code's hash is stored, so the code is carried from the form to the page it
redirects to in a signed, HttpOnly cookie of that page's path, for ten minutes.
"""

from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass
from urllib.parse import quote

import segno
from itsdangerous import BadSignature
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.config import Settings
from bot.dashboard.console import Console, Viewer
from bot.dashboard.operator import operator_only
from models.staff import create_invite, list_staff
from models.tables import Staff

INVITE_COOKIE = "pdm_invite"
INVITE_PATH = "/operator/staff"
INVITE_SECONDS = 600


@dataclass(frozen=True)
class InviteLink:
    label_key: str  # the catalog key naming where it leads
    url: str


def invite_links(settings: Settings, code: str) -> list[InviteLink]:
    """Where a staff member sends "daftar CODE" (or Telegram's /start CODE) from."""
    links = []
    username = settings.telegram.bot_username
    if settings.telegram.configured and username:
        links.append(
            InviteLink("web.operator_invite_telegram",
                       f"https://t.me/{username}?start={code.replace('-', '')}")
        )
    number = settings.twilio.whatsapp_sender
    if settings.twilio.configured and number:
        text = quote(f"daftar {code}")
        links.append(
            InviteLink("web.operator_invite_whatsapp",
                       f"https://wa.me/{number.lstrip('+')}?text={text}")
        )
    return links


def qr_data_uri(text: str) -> str:
    """A QR code of ``text`` as an inline SVG image (the CSP allows ``data:`` images)."""
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="svg", scale=5, border=2, xmldecl=False)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def operator_staff_routes(console: Console) -> list[BaseRoute]:
    app = console.app
    signer = console.cookies.signer

    def invite_shown(request: Request) -> tuple[int, str] | None:
        written = request.cookies.get(INVITE_COOKIE)
        if not written:
            return None
        try:
            kept = json.loads(signer.unsign(written))
            return int(kept["staff"]), str(kept["code"])
        except (BadSignature, ValueError, KeyError, TypeError):
            return None

    async def staff_list(request: Request, viewer: Viewer) -> Response:
        async with app.read_sessions() as session:
            rows = await list_staff(session, now=app.clock.now())
        invite = None
        shown = invite_shown(request)
        if shown is not None:
            staff_id, code = shown
            member = next((row for row in rows if row.id == staff_id), None)
            if member is not None:
                links = invite_links(app.settings, code)
                invite = {
                    "name": member.name,
                    "code": code,
                    "links": links,
                    "qr": qr_data_uri(links[0].url if links else f"daftar {code}"),
                    "days": app.settings.general.invite_valid_days,
                }
        problem = request.query_params.get("tidak") == "aktif"
        return console.render(
            request, "operator_staff.html", viewer, rows=rows, invite=invite,
            inactive=problem,
        )

    async def new_invite(request: Request, viewer: Viewer) -> Response:
        staff_id = request.path_params["id"]
        async with app.sessions() as session:
            member = await session.get(Staff, staff_id)
            if member is None:
                raise HTTPException(404)
            if not member.active:
                return RedirectResponse(f"{INVITE_PATH}?tidak=aktif", status_code=303)
            code = await create_invite(
                session, member, now=app.clock.now(),
                valid_days=app.settings.general.invite_valid_days, by=viewer.staff,
            )
            await session.commit()
        response = RedirectResponse(f"{INVITE_PATH}#undangan", status_code=303)
        response.set_cookie(
            INVITE_COOKIE,
            signer.sign(json.dumps({"staff": staff_id, "code": code})).decode(),
            max_age=INVITE_SECONDS, httponly=True, samesite="lax",
            secure=console.cookies.secure, path=INVITE_PATH,
        )
        return response

    return [
        Route(INVITE_PATH, operator_only(console, staff_list), methods=["GET"]),
        Route(
            INVITE_PATH + "/{id:int}/undangan", operator_only(console, new_invite),
            methods=["POST"],
        ),
    ]
