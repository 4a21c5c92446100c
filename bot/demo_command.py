"""`pendamping demo` (what `make run` does): the demo data, then the console and the web
simulator served on the configured address, with a login link for the coordinator."""

from __future__ import annotations

import sys

from rich.console import Console

from bot import commands, staff_command
from bot.bootstrap import App
from handlers.i18n import Translator
from models.demo.names import COORDINATOR


async def demo(app: App, out: Console) -> None:
    """Seed the demo (once), print where to go, and serve until interrupted."""
    from bot.runner import serve

    t = Translator(app.settings.general.locale)
    await commands.init(app, out, demo=True)
    base = app.settings.web.base_url
    out.print(t("cli.demo.serving", url=base, simulator=f"{base}/simulator"), markup=False,
              soft_wrap=True)
    await staff_command.web_login(app, out, COORDINATOR)
    out.print(t("cli.demo.stop"), markup=False, soft_wrap=True)
    sys.stdout.flush()
    await serve(app)
