"""`pendamping whatsapp templates`: the pack printed and written as Content API requests,
and ``--create`` through the real twilio SDK against the local Content API fake; the
created templates then carry real messages whose ContentVariables match them."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from bot.bootstrap import build_app, build_twilio
from bot.cli import cli
from bot.commands import CommandError
from bot.config import Settings
from bot.whatsapp_command import whatsapp_templates
from handlers.i18n import Translator
from models.db import migrate
from models.enums import Channel, OutboxStatus
from models.messaging.enqueue import Enqueue, Priority, enqueue
from models.messaging.tables import Outbox
from models.messaging.templates import TEMPLATES
from scheduler.dispatcher import Dispatcher
from tests.cli_text import said
from tests.fakes.twilio_api import FakeTwilioApi

t = Translator()
PUBLIC = "https://pkh.example.org"
KPM = "whatsapp:+6281234567890"


def console() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, width=250), buffer


def settings(db_url: str, fake: FakeTwilioApi | None, **twilio: object) -> Settings:
    section: dict[str, object] = {"public_base_url": PUBLIC, **twilio}
    if fake is not None:
        section |= {
            "account_sid": fake.account_sid,
            "auth_token": fake.auth_token,
            "whatsapp_sender": "+14155238886",
            "api_base_url": fake.base_url,
        }
    return Settings(database={"url": db_url}, twilio=section)


def test_the_pack_is_printed_and_written_as_content_api_requests(tmp_path: Path) -> None:
    pack = tmp_path / "pack.json"
    result = CliRunner().invoke(cli, ["whatsapp", "templates", "--json", str(pack)], env={})
    assert result.exit_code == 0, result.output
    assert "reminder_kpm (twilio/quick-reply" in result.output
    assert "Yth. {{1}}, pertemuan {{2}} hari {{3}}, jam {{4}} di {{5}}." in result.output
    assert "– {{6}} (pendamping PKH)" in result.output
    buttons = ", ".join([
        t("cli.whatsapp.button", title="Hadir", payload="1"),
        t("cli.whatsapp.button", title="Tidak bisa", payload="2"),
    ])
    assert t("cli.whatsapp.buttons", buttons=buttons) in result.output
    assert t("cli.whatsapp.wrote", count=len(TEMPLATES), path=pack) in " ".join(
        result.output.split()
    )
    document = json.loads(pack.read_text(encoding="utf-8"))
    names = [entry["name"] for entry in document["templates"]]
    assert names == [template.name for template in TEMPLATES.values()]
    streak = next(e for e in document["templates"] if e["name"] == "alert_absence_streak")
    assert [v["name"] for v in streak["variables"]] == ["kpm", "kelompok", "streak", "date"]
    request = streak["content_api_request"]
    assert request["language"] == "id" and request["friendly_name"] == "alert_absence_streak"
    assert request["types"]["twilio/text"]["body"].startswith("KPM {{1}} ({{2}}) tidak hadir")


async def test_create_makes_each_missing_template_and_prints_the_config_lines(db_url) -> None:
    configured = "HX" + "a" * 32
    async with FakeTwilioApi() as fake:
        app = build_app(settings(db_url, fake, templates={"reminder_kpm": configured}))
        try:
            out, buffer = console()
            failed = await whatsapp_templates(app, out, create=True)
        finally:
            await app.close()
    report = buffer.getvalue()
    assert failed == 0
    created = {resource["friendly_name"]: sid for sid, resource in fake.contents.items()}
    assert set(created) == {tpl.name for tpl in TEMPLATES.values()} - {"reminder_kpm"}
    assert t("cli.whatsapp.created", count=len(created)) in report
    for name, sid in created.items():
        assert f'{name} = "{sid}"' in report  # config lines, as they go in the file
    changed = fake.contents[created["reminder_changed"]]
    assert changed["types"]["twilio/quick-reply"]["actions"] == [
        {"title": "Hadir", "id": "1"},
        {"title": "Tidak bisa", "id": "2"},
    ]
    chart = fake.contents[created["digest_chart_caption"]]
    assert chart["types"]["twilio/media"]["media"] == [f"{PUBLIC}/{{{{1}}}}"]
    assert len(fake.calls_to("content")) == len(created)


async def test_create_reports_a_refused_template_and_goes_on(db_url) -> None:
    async with FakeTwilioApi() as fake:
        fake.fail_next(status=400, endpoint="content")
        app = build_app(settings(db_url, fake))
        try:
            out, buffer = console()
            failed = await whatsapp_templates(app, out, create=True)
        finally:
            await app.close()
    assert failed == 1
    assert said("cli.whatsapp.not_created", name="reminder_kpm", code=20001).search(
        buffer.getvalue()
    )
    assert len(fake.contents) == len(TEMPLATES) - 1


async def test_create_needs_credentials_and_the_public_base_url(db_url) -> None:
    app = build_app(settings(db_url, None))
    try:
        with pytest.raises(CommandError) as refused:
            await whatsapp_templates(app, console()[0], create=True)
        assert str(refused.value) == t("cli.whatsapp.needs_credentials")
    finally:
        await app.close()
    async with FakeTwilioApi() as fake:
        app = build_app(settings(db_url, fake, public_base_url=None))
        try:
            with pytest.raises(CommandError) as refused:
                await whatsapp_templates(app, console()[0], create=True)
            assert str(refused.value) == t("cli.whatsapp.base_url_needed")
        finally:
            await app.close()


async def test_a_created_template_carries_a_real_alert_with_matching_variables(db_url) -> None:
    """Created through the Content API, configured, then an alert to a number outside its
    window: the request carries the template's ContentSid and variables the fake checks
    against the created content (keys and values), and it renders the catalog text."""
    async with FakeTwilioApi() as fake:
        fake.enforce_window()
        app = build_app(settings(db_url, fake))
        try:
            out, buffer = console()
            assert await whatsapp_templates(app, out, create=True) == 0
        finally:
            await app.close()
        sids = {r["friendly_name"]: sid for sid, r in fake.contents.items()}
        app = build_app(settings(db_url, fake, templates=sids))
        values = {"kpm": "Siti Aminah", "kelompok": "Melati 2", "streak": 3,
                  "date": "Selasa, 8 Desember 2026"}
        try:
            await migrate.upgrade(app.engine)
            async with app.sessions.begin() as session:
                await enqueue(
                    session,
                    [Enqueue(Channel.WHATSAPP, KPM, "alert",
                             {"key": "alert.absence_streak", "values": values},
                             Priority.ALERT)],
                    now=app.clock.now(),
                )
            channel = build_twilio(app)
            assert channel is not None
            await Dispatcher(app.sessions, {Channel.WHATSAPP: channel.send_claimed},
                             {Channel.WHATSAPP: 80.0}, app.clock).run_once()
            await channel.http.close()
            async with app.sessions() as session:
                row = (await session.execute(Outbox.__table__.select())).one()
        finally:
            await app.close()
    assert row.status is OutboxStatus.QUEUED, row.error
    call = fake.calls_to("messages")[-1]
    assert call.params["ContentSid"] == sids["alert_absence_streak"]
    assert json.loads(call.params["ContentVariables"]) == {
        "1": "Siti Aminah", "2": "Melati 2", "3": "3", "4": "Selasa, 8 Desember 2026"
    }
    sent = fake.messages[row.provider_id]["body"]
    assert sent == t("alert.absence_streak", **values)
