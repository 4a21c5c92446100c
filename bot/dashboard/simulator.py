"""The web simulator (/simulator, only with ``[web] simulator = true``): three phones on
the demo data — the pendamping, a KPM of her kelompok and the coordinator — each a chat
on the console channel driving the real engine (see :mod:`bot.simulator`).

No staff login (it is a demo), but every POST carries a CSRF token bound to the browser's
cookie, as the login form's. A line sent is stored in the inbox; the answer waits a few
seconds for its replies, then goes back (303) to the page, which shows each phone's
transcript; ``/static/simulator.js`` polls ``/simulator/pesan.json`` for what the sweeps
send later, without reloading.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.channels.console import render as render_reply
from bot.channels.text import payload_text
from bot.dashboard.console import Console
from bot.dashboard.security import CSRF_FIELD
from bot.simulator import ADDRESS, PHONES, Cast, read_cast, run_now
from handlers.outgoing import reply_of
from models.enums import Channel
from models.messaging.inbox import Arrival, store
from reporting.simulator_feed import FeedEntry, settled, transcript

MAX_TEXT = 1000
WAIT_SECONDS = 8.0
"""How long a send waits for its replies before showing the page (a person is waiting)."""


def simulator_routes(console: Console) -> list[BaseRoute]:
    app, t = console.app, console.t
    zone = ZoneInfo(app.settings.general.timezone)

    def line_of(entry: FeedEntry) -> dict[str, Any]:
        if entry.incoming:
            text = str(entry.payload.get("text") or "")
        else:
            payload = entry.payload
            text = render_reply(reply_of(payload, payload_text(payload, t)))
        meta = [t("web.simulator_you" if entry.incoming else "web.simulator_bot"),
                entry.at.astimezone(zone).strftime("%H.%M")]
        channel = entry.address.partition(":")[0]
        if channel != Channel.CONSOLE.value:  # the family's number on a channel not configured
            meta.append(t("web.simulator_via", channel=t(f"web.simulator_channel_{channel}")))
        return {"key": entry.key, "incoming": entry.incoming, "text": text,
                "meta": " · ".join(meta)}

    async def feeds(cast: Cast) -> dict[str, list[dict[str, Any]]]:
        async with app.read_sessions() as session:
            return {
                phone: [line_of(e) for e in await transcript(session, cast.addresses[phone])]
                for phone in PHONES
            }

    async def wait_until_settled(external_id: str | None, cast: Cast) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            await asyncio.sleep(0.25)
            async with app.read_sessions() as session:
                if await settled(
                    session, external_id, cast.all_addresses, now=app.clock.now()
                ):
                    return

    def check_csrf(request: Request, form: Any) -> None:
        browser = console.cookies.browser_id(request)
        if not console.cookies.csrf_valid(browser, form.get(CSRF_FIELD)):
            raise HTTPException(403)

    async def page(request: Request) -> Response:
        cast = await read_cast(app)
        viewer = await console.viewer(request)
        known = console.cookies.browser_id(request)
        browser = known or console.new_browser_id()
        notice = None
        if "dijalankan" in request.query_params:
            count = request.query_params["dijalankan"]
            notice = t("web.simulator_ran", count=int(count) if count.isdigit() else 0)
        problem = {"kosong": t("web.simulator_empty"),
                   "panjang": t("web.simulator_too_long", limit=MAX_TEXT)}.get(
            request.query_params.get("galat", ""))
        response = console.render(
            request, "simulator.html", viewer, cast=cast, phones=PHONES,
            feeds=await feeds(cast) if cast.ready else {},
            sim_csrf=console.cookies.csrf_token(browser), notice=notice, problem=problem,
            problem_phone=request.query_params.get("ponsel", ""),
        )
        if known is None:
            console.cookies.set_browser(response, browser)
        return response

    async def send(request: Request) -> Response:
        form = await request.form()
        check_csrf(request, form)
        phone = str(form.get("ponsel", ""))
        if phone not in PHONES:
            raise HTTPException(404)
        text = str(form.get("pesan", "")).strip()
        if not text or len(text) > MAX_TEXT:
            problem = "kosong" if not text else "panjang"
            return RedirectResponse(
                f"/simulator?galat={problem}&ponsel={phone}#ponsel-{phone}", status_code=303
            )
        cast = await read_cast(app)
        if not cast.ready:
            raise HTTPException(404)
        # Text only: a "/foto PATH" typed here is not a file of this server.
        arrival = Arrival(Channel.CONSOLE, f"simulator-{uuid.uuid4().hex}", ADDRESS[phone],
                          {"text": text, "media": []})
        async with app.sessions.begin() as session:
            await store(session, [arrival], now=app.clock.now())
        await wait_until_settled(arrival.external_id, cast)
        return RedirectResponse(f"/simulator#ponsel-{phone}", status_code=303)

    async def run(request: Request) -> Response:
        form = await request.form()
        check_csrf(request, form)
        cast = await read_cast(app)
        if not cast.ready:
            raise HTTPException(404)
        count = await run_now(app, cast)
        await wait_until_settled(None, cast)
        return RedirectResponse(f"/simulator?dijalankan={count}", status_code=303)

    async def feed(request: Request) -> Response:
        cast = await read_cast(app)
        body = {"phones": await feeds(cast) if cast.ready else {},
                "at": datetime.now(zone).isoformat(timespec="seconds")}
        return JSONResponse(body, headers={"cache-control": "no-store"})

    return [
        Route("/simulator", page, methods=["GET"]),
        Route("/simulator/kirim", send, methods=["POST"]),
        Route("/simulator/jalankan", run, methods=["POST"]),
        Route("/simulator/pesan.json", feed, methods=["GET"]),
    ]
