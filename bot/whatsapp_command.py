"""`pendamping whatsapp templates`: the WhatsApp template pack, printed, written as the
JSON Twilio's Content API accepts, and (``--create``) created there.

Creating goes through the twilio SDK's Content API (``client.content.v1.contents``) at
``twilio.api_base_url`` when one is set (a mock, a regional edge), else Twilio's. Templates
already under ``[twilio.templates]`` are not created again. The answer is the lines to
put under ``[twilio.templates]``; each template must then be approved by WhatsApp (in
the Twilio console, or through the Content API's approval requests) before it delivers.
What it says is in the configured locale (``cli.whatsapp.*``); the config lines, the JSON
and the template bodies (the catalog's texts) are as they are.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from rich.console import Console
from rich.table import Table
from twilio.base.exceptions import TwilioRestException
from twilio.rest.content.v1.content import ContentList

from bot.bootstrap import App
from bot.channels.whatsapp import TimedHttpClient, twilio_client
from bot.commands import CommandError, translator
from bot.whatsapp_templates import PackEntry, PackProblem, pack_document, template_pack
from handlers.i18n import Translator

PLACEHOLDER_BASE_URL = "https://pkh.example.org"
"""Stands for ``twilio.public_base_url`` in a printed pack when it is not configured."""


def _pack(app: App, *, need_base_url: bool) -> list[PackEntry]:
    base_url = app.settings.twilio.public_base_url
    if need_base_url and not base_url:
        raise CommandError(translator(app)("cli.whatsapp.base_url_needed"))
    try:
        return template_pack(Translator(app.settings.general.locale), base_url or
                             PLACEHOLDER_BASE_URL)
    except PackProblem as problem:
        raise CommandError(str(problem)) from problem


def _show(
    out: Console, t: Translator, entries: list[PackEntry], configured: dict[str, str]
) -> None:
    headers = [t(f"cli.whatsapp.col_{name}") for name in ("variable", "kind", "holds", "example")]
    for entry in entries:
        template = entry.template
        sid = configured.get(template.name)
        out.print(
            f"[bold]{template.name}[/bold] ({entry.content_type}, {template.purpose}) "
            + (
                t("cli.whatsapp.configured", sid=sid)
                if sid
                else f"[yellow]{t('cli.whatsapp.not_configured')}[/yellow]"
            )
        )
        out.print(entry.body, markup=False, soft_wrap=True)
        if entry.media_url:
            out.print(t("cli.whatsapp.media", url=entry.media_url), markup=False)
        if template.buttons:
            buttons = (
                t("cli.whatsapp.button", title=b.title, payload=b.payload)
                for b in template.buttons
            )
            out.print(t("cli.whatsapp.buttons", buttons=", ".join(buttons)), markup=False)
        table = Table("{{n}}", *headers, box=None, pad_edge=False)
        for number, variable in enumerate(template.variables, 1):
            table.add_row(
                str(number), variable.name, variable.kind.value, variable.holds, variable.example
            )
        if template.variables:
            out.print(table)
        out.print()


async def whatsapp_templates(
    app: App, out: Console, *, json_out: Path | None = None, create: bool = False
) -> int:
    """Print the pack (and write it as JSON); with ``create``, create the templates not
    configured yet and print their Content SIDs as config lines. Returns how many
    creations failed."""
    t = translator(app)
    twilio = app.settings.twilio
    if create and not twilio.configured:
        raise CommandError(t("cli.whatsapp.needs_credentials"))
    entries = _pack(app, need_base_url=create)
    _show(out, t, entries, dict(twilio.templates))
    if not twilio.public_base_url:
        out.print(t("cli.whatsapp.placeholder_url", url=PLACEHOLDER_BASE_URL), markup=False)
    if json_out is not None:
        document = json.dumps(pack_document(entries), ensure_ascii=False, indent=2) + "\n"
        await asyncio.to_thread(json_out.write_text, document, encoding="utf-8")
        out.print(
            t("cli.whatsapp.wrote", count=len(entries), path=json_out),
            markup=False,
            soft_wrap=True,
        )
    if not create:
        return 0
    missing = [e for e in entries if e.template.name not in twilio.templates]
    return await _create(app, out, t, missing)


async def _create(app: App, out: Console, t: Translator, entries: list[PackEntry]) -> int:
    if not entries:
        out.print(t("cli.whatsapp.nothing_to_create"), markup=False)
        return 0
    http = TimedHttpClient(30.0)
    client = twilio_client(app.settings.twilio, http)
    created: list[tuple[str, str]] = []
    failed = 0
    try:
        for entry in entries:
            request = ContentList.ContentCreateRequest(entry.request())
            try:
                content = await client.content.v1.contents.create_async(request)
            except TwilioRestException as exc:
                failed += 1
                out.print(
                    t(
                        "cli.whatsapp.not_created",
                        name=entry.template.name,
                        code=exc.code or exc.status,
                        error=exc.msg,
                    ),
                    markup=False,
                    soft_wrap=True,
                )
                continue
            created.append((entry.template.name, str(content.sid)))
    finally:
        await http.close()
    if created:
        out.print(t("cli.whatsapp.created", count=len(created)), markup=False, soft_wrap=True)
        for name, sid in created:
            out.print(f'{name} = "{sid}"', markup=False)
    return failed
