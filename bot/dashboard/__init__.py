"""The web console (dasbor): server-rendered pages for staff, behind one-time login links,
on the same Starlette app as the webhooks.

Each page is a module with its routes; the data comes from ``reporting`` and ``models``
through the same scope as the chat (:mod:`models.scope`). Templates and the small vendored
stylesheet and script are package data; nothing is fetched from elsewhere.
"""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from bot.bootstrap import App
from bot.dashboard.auth import auth_routes
from bot.dashboard.console import Console
from bot.dashboard.ringkasan import ringkasan_routes
from bot.dashboard.security import SecurityHeaders

STATIC = Path(__file__).parent / "static"

__all__ = ["Console", "SecurityHeaders", "build_console", "console_routes"]


def console_routes(console: Console) -> list[BaseRoute]:
    """Every route of the console (the simulator's too, when the configuration enables it)."""
    routes: list[BaseRoute] = [
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
        *auth_routes(console),
        *ringkasan_routes(console),
    ]
    return routes


def build_console(app: App) -> Console | None:
    return Console(app) if app.settings.web.console else None
