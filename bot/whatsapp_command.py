"""`pendamping whatsapp templates`: the WhatsApp template pack, printed, written as the
JSON Twilio's Content API accepts, and (``--create``) created there.

Creating goes through the twilio SDK's Content API (``client.content.v1.contents``) at
``twilio.api_base_url`` when one is set (a mock, a regional edge), else Twilio's. Templates
already under ``[twilio.templates]`` are not created again. The answer is the lines to
put under ``[twilio.templates]``; each template must then be approved by WhatsApp (in
the Twilio console, or through the Content API's approval requests) before it delivers.
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
from bot.commands import CommandError
from bot.whatsapp_templates import PackEntry, PackProblem, pack_document, template_pack
from handlers.i18n import Translator

PLACEHOLDER_BASE_URL = "https://pkh.example.org"
"""Stands for ``twilio.public_base_url`` in a printed pack when it is not configured."""


def _pack(app: App, *, need_base_url: bool) -> list[PackEntry]:
    base_url = app.settings.twilio.public_base_url
    if need_base_url and not base_url:
        raise CommandError(
            "twilio.public_base_url is needed: the digest's media templates are sent from "
            "its URL (set it in the config file, then run again)"
        )
    try:
        return template_pack(Translator(app.settings.general.locale), base_url or
                             PLACEHOLDER_BASE_URL)
    except PackProblem as problem:
        raise CommandError(str(problem)) from problem


def _show(out: Console, entries: list[PackEntry], configured: dict[str, str]) -> None:
    for entry in entries:
        template = entry.template
        sid = configured.get(template.name)
        out.print(
            f"[bold]{template.name}[/bold] ({entry.content_type}, {template.purpose}) "
            + (f"configured: {sid}" if sid else "[yellow]not configured[/yellow]")
        )
        out.print(entry.body, markup=False, soft_wrap=True)
        if entry.media_url:
            out.print(f"media: {entry.media_url}", markup=False)
        if template.buttons:
            buttons = (f"{b.title} (answers {b.payload})" for b in template.buttons)
            out.print("buttons: " + ", ".join(buttons), markup=False)
        table = Table("{{n}}", "variable", "kind", "holds", "example", box=None, pad_edge=False)
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
    twilio = app.settings.twilio
    if create and not twilio.configured:
        raise CommandError("--create needs twilio.account_sid and twilio.auth_token")
    entries = _pack(app, need_base_url=create)
    _show(out, entries, dict(twilio.templates))
    if not twilio.public_base_url:
        out.print(
            f"(media URLs shown with {PLACEHOLDER_BASE_URL}: set twilio.public_base_url)",
            markup=False,
        )
    if json_out is not None:
        document = json.dumps(pack_document(entries), ensure_ascii=False, indent=2) + "\n"
        await asyncio.to_thread(json_out.write_text, document, encoding="utf-8")
        out.print(f"wrote {len(entries)} templates to {json_out}", markup=False, soft_wrap=True)
    if not create:
        return 0
    return await _create(app, out, [e for e in entries if e.template.name not in twilio.templates])


async def _create(app: App, out: Console, entries: list[PackEntry]) -> int:
    if not entries:
        out.print("every template is configured already; nothing to create")
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
                    f"{entry.template.name}: not created: {exc.code or exc.status} {exc.msg}",
                    markup=False,
                    soft_wrap=True,
                )
                continue
            created.append((entry.template.name, str(content.sid)))
    finally:
        await http.close()
    if created:
        out.print(
            f"created {len(created)}; submit each for WhatsApp approval in the Twilio console, "
            "and add under [twilio.templates]:"
        )
        for name, sid in created:
            out.print(f'{name} = "{sid}"', markup=False)
    return failed
