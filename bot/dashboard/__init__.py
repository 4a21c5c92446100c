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
from bot.dashboard.ekspor import ekspor_routes
from bot.dashboard.graduasi import graduasi_routes
from bot.dashboard.jadwal import jadwal_routes
from bot.dashboard.kasus import kasus_routes
from bot.dashboard.kpm import kpm_routes
from bot.dashboard.operator import operator_routes
from bot.dashboard.operator_roster import operator_roster_routes
from bot.dashboard.operator_staff import operator_staff_routes
from bot.dashboard.ringkasan import ringkasan_routes
from bot.dashboard.security import SecurityHeaders
from bot.dashboard.simulator import simulator_routes

STATIC = Path(__file__).parent / "static"

__all__ = ["Console", "SecurityHeaders", "build_console", "console_routes"]


def console_routes(console: Console) -> list[BaseRoute]:
    """Every route of the console (the simulator's too, when the configuration enables it)."""
    routes: list[BaseRoute] = [
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
        *auth_routes(console),
        *ringkasan_routes(console),
        *jadwal_routes(console),
        *operator_routes(console),
        *operator_roster_routes(console),
        *operator_staff_routes(console),
        *ekspor_routes(console),
        *kpm_routes(console),
        *kasus_routes(console),
        *graduasi_routes(console),
    ]
    if console.app.settings.web.simulator:  # never on by default
        routes.extend(simulator_routes(console))
    return routes


def build_console(app: App) -> Console | None:
    return Console(app) if app.settings.web.console else None
