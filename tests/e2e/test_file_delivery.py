"""Generated files (digest chart and workbook, exports) delivered end to end.

Telegram uploads a stored file when the dispatcher sends its outbox row; WhatsApp gets a
signed, expiring URL that the real web app serves. Everything is wired as `pendamping run`
wires it (``build_app``, ``build_telegram``, ``build_twilio``, ``media_files``), against
the local fakes of the Bot API and the Twilio Messages API.
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import openpyxl
import pytest
from sqlalchemy import select

from bot.bootstrap import (
    App,
    build_app,
    build_engine,
    build_inbox,
    build_telegram,
    build_twilio,
)
from bot.channels.telegram import TelegramChannel
from bot.channels.whatsapp import BODY_LIMIT, TwilioChannel
from bot.config import Settings, TelegramSettings, TwilioSettings, WebSettings
from bot.media import MediaSigner
from bot.runner import media_files, telegram_webhook, twilio_webhooks
from bot.web import TELEGRAM_SECRET_HEADER, create_web_app
from handlers.i18n import Translator
from handlers.inbox import InboxWorkers
from handlers.messages import Document, Option, Reply
from models.enums import Channel, OutboxStatus
from models.messaging.enqueue import Enqueue, Priority, enqueue
from models.messaging.report_files import purge_expired, store_file
from models.messaging.tables import Outbox, ReportFile
from models.messaging.templates import TEMPLATES
from models.rules.clock import FixedClock
from models.tables import ChannelIdentity
from reporting.chart import attendance_chart
from scheduler.dispatcher import Dispatcher
from tests.fakes.telegram_api import BOT_USERNAME, FakeTelegramApi, text_update
from tests.fakes.twilio_api import FakeTwilioApi, inbound_whatsapp_params, twilio_signature
from tests.world import NOW, World, build_world

PUBLIC = "https://pkh.example.org"
SENDER = "+14155238886"
MEDIA_SECRET = "media-url-secret-for-tests"
WEBHOOK_SECRET = "s3cret-token_1"
CHAT = 1001
WA = "whatsapp:+6281211110001"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
t = Translator()
# The first line of Ani's /ringkasan: her name as its scope, figures up to today.
ANI_DIGEST_TITLE = (
    t("digest.title_now", scope="Ani Suryani", date="Minggu, 22 November 2026") + "\n"
)


def png_bytes() -> bytes:
    """A real chart PNG, as the digest makes them."""
    return attendance_chart(
        ["Ani Suryani", "Budi Santoso"],
        [date(2026, 10, 1), date(2026, 11, 1)],
        [[0.9, 0.8], [None, 0.75]],
        title="Kehadiran",
        no_data="-",
        locale="id",
        percent=lambda value: f"{value:.0%}",
    )


def xlsx_bytes(title: str = "Ringkasan") -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    sheet.append(["Kelompok", "Hadir"])
    sheet.append(["Melati", 11])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def store(
    app: App,
    content: bytes,
    filename: str,
    content_type: str,
    ttl: timedelta = timedelta(days=7),
) -> int:
    async with app.sessions.begin() as session:
        return await store_file(
            session,
            filename=filename,
            content_type=content_type,
            content=content,
            now=app.clock.now(),
            ttl=ttl,
        )


async def queue(app: App, channel: Channel, address: str, kind: str, payload: dict) -> None:
    async with app.sessions.begin() as session:
        await enqueue(
            session,
            [
                Enqueue(
                    channel=channel,
                    address=address,
                    kind=kind,
                    payload=payload,
                    priority=Priority.DIGEST,
                )
            ],
            now=app.clock.now(),
        )


async def outbox(app: App) -> list[Outbox]:
    async with app.sessions() as session:
        return list(await session.scalars(select(Outbox).order_by(Outbox.id)))


async def stored_files(app: App) -> list[ReportFile]:
    async with app.sessions() as session:
        return list(await session.scalars(select(ReportFile).order_by(ReportFile.id)))


def clock_of(app: App) -> FixedClock:
    assert isinstance(app.clock, FixedClock)
    return app.clock


# --------------------------------------------------------------------------- Telegram


@dataclass
class TelegramEnv:
    app: App
    fake: FakeTelegramApi
    channel: TelegramChannel
    client: httpx.AsyncClient
    world: World
    inbox: InboxWorkers

    async def dispatch(self) -> None:
        dispatcher = Dispatcher(
            self.app.sessions,
            {Channel.TELEGRAM: self.channel.send_claimed},
            {Channel.TELEGRAM: 30.0},
            self.app.clock,
        )
        await dispatcher.run_once()

    async def say(self, text: str, update_id: int) -> None:
        response = await self.client.post(
            "/telegram/webhook",
            json=text_update(update_id, CHAT, text),
            headers={TELEGRAM_SECRET_HEADER: WEBHOOK_SECRET},
        )
        assert response.status_code == 200
        await self.inbox.drain()
        await self.dispatch()  # the replies were queued with the step: deliver them

    def file_calls(self) -> list[Any]:
        return [
            call
            for call in self.fake.calls
            if call.method.lower() in ("sendmessage", "sendphoto", "senddocument")
        ]


@pytest.fixture
async def tg(db_url: str) -> AsyncIterator[TelegramEnv]:
    async with FakeTelegramApi() as fake:
        settings = Settings(
            database={"url": db_url},
            telegram=TelegramSettings(
                token=fake.token,
                bot_username=BOT_USERNAME,
                mode="webhook",
                api_base_url=fake.base_url,
                api_file_url=fake.base_file_url,
                webhook_secret=WEBHOOK_SECRET,
                # Telegram's own pace (1 a second per chat) would make the tests wait: the
                # limiter still runs, at a rate no test reaches.
                messages_per_second=10_000,
                messages_per_second_per_chat=10_000,
                messages_per_minute_per_group=100_000,
            ),
        )
        app = build_app(settings, clock=FixedClock(NOW))
        try:
            world = await build_world(app.sessions)
            async with app.sessions.begin() as session:
                session.add(
                    ChannelIdentity(
                        address=f"telegram:{CHAT}", channel=Channel.TELEGRAM, staff_id=world.ani
                    )
                )
            inbox = build_inbox(app, build_engine(app))
            channel = build_telegram(app, inbox)
            assert channel is not None
            web = create_web_app(telegram=telegram_webhook(channel, app))
            async with (
                channel.application,
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=web), base_url="http://test"
                ) as client,
            ):
                yield TelegramEnv(app, fake, channel, client, world, inbox)
        finally:
            await app.close()


async def test_telegram_sends_a_stored_png_as_a_photo_upload_with_the_catalog_caption(
    tg: TelegramEnv,
) -> None:
    chart = png_bytes()
    file_id = await store(tg.app, chart, "kehadiran-2026-W47.png", "image/png")
    await queue(
        tg.app,
        Channel.TELEGRAM,
        f"telegram:{CHAT}",
        "digest_file",
        {"key": "digest.chart_caption", "file_id": file_id},
    )
    await tg.dispatch()
    (call,) = tg.file_calls()
    assert call.method == "sendPhoto" and call.status == 200
    assert call.files["photo"] == chart and chart.startswith(b"\x89PNG\r\n\x1a\n")
    assert call.params["photo"]["filename"] == "kehadiran-2026-W47.png"
    assert call.params["chat_id"] == CHAT
    assert call.params["caption"] == t("digest.chart_caption")
    (row,) = await outbox(tg.app)
    assert row.status is OutboxStatus.SENT
    message_id = max(key[1] for key in tg.fake.messages)
    assert row.provider_id == f"{CHAT}:{message_id}"


async def test_telegram_sends_a_stored_workbook_as_a_document_with_its_filename(
    tg: TelegramEnv,
) -> None:
    workbook = xlsx_bytes()
    file_id = await store(tg.app, workbook, "ringkasan-2026-W47.xlsx", XLSX)
    await queue(
        tg.app,
        Channel.TELEGRAM,
        f"telegram:{CHAT}",
        "digest_file",
        {"key": "digest.workbook_caption", "file_id": file_id},
    )
    await tg.dispatch()
    (call,) = tg.file_calls()
    assert call.method == "sendDocument" and call.status == 200
    assert call.files["document"] == workbook
    assert call.params["document"]["filename"] == "ringkasan-2026-W47.xlsx"
    assert call.params["caption"] == t("digest.workbook_caption")
    sheet = openpyxl.load_workbook(io.BytesIO(call.files["document"])).active
    assert sheet["A2"].value == "Melati"
    (row,) = await outbox(tg.app)
    assert row.status is OutboxStatus.SENT and row.provider_id


async def test_telegram_cuts_a_caption_at_telegram_s_limit(tg: TelegramEnv) -> None:
    file_id = await store(tg.app, png_bytes(), "chart.png", "image/png")
    text = "Grafik " + "x" * 1500
    await queue(
        tg.app,
        Channel.TELEGRAM,
        f"telegram:{CHAT}",
        "digest_file",
        {"text": text, "file_id": file_id},
    )
    await tg.dispatch()
    (call,) = tg.file_calls()
    assert call.status == 200  # the fake, like Telegram, refuses captions over 1024
    assert call.params["caption"] == text[:1024]
    assert (await outbox(tg.app))[0].status is OutboxStatus.SENT


@pytest.mark.parametrize("gone", ["expired", "purged", "never stored"])
async def test_telegram_fails_a_row_whose_file_is_gone_without_calling_the_api(
    tg: TelegramEnv, gone: str
) -> None:
    file_id = 4242
    if gone != "never stored":
        file_id = await store(tg.app, png_bytes(), "c.png", "image/png", ttl=timedelta(hours=1))
        clock_of(tg.app).advance(timedelta(hours=1))  # expires_at <= now: expired
        if gone == "purged":
            async with tg.app.sessions.begin() as session:
                assert await purge_expired(session, now=tg.app.clock.now()) == 1
    await queue(
        tg.app,
        Channel.TELEGRAM,
        f"telegram:{CHAT}",
        "digest_file",
        {"key": "digest.chart_caption", "file_id": file_id},
    )
    await tg.dispatch()
    (row,) = await outbox(tg.app)
    assert row.status is OutboxStatus.FAILED
    assert row.error == "file expired or missing"
    assert row.attempts == 1  # final: not retried
    assert tg.file_calls() == []


async def test_telegram_interactive_image_document_is_a_photo_with_the_reply_as_caption(
    tg: TelegramEnv,
) -> None:
    chart = png_bytes()
    await tg.channel.send(
        CHAT, [Reply("Grafik kehadiran", document=Document("grafik.png", chart, "image/png"))]
    )
    (call,) = tg.file_calls()
    assert call.method == "sendPhoto"
    assert call.files["photo"] == chart
    assert call.params["photo"]["filename"] == "grafik.png"
    assert call.params["caption"] == "Grafik kehadiran"


async def test_telegram_interactive_workbook_is_a_document_with_the_reply_as_caption(
    tg: TelegramEnv,
) -> None:
    workbook = xlsx_bytes()
    await tg.channel.send(
        CHAT, [Reply("Data kehadiran", document=Document("data.xlsx", workbook, XLSX))]
    )
    (call,) = tg.file_calls()
    assert call.method == "sendDocument"
    assert call.files["document"] == workbook
    assert call.params["document"]["filename"] == "data.xlsx"
    assert call.params["caption"] == "Data kehadiran"


async def test_telegram_interactive_document_without_text_has_no_caption(
    tg: TelegramEnv,
) -> None:
    await tg.channel.send(CHAT, [Reply("", document=Document("data.xlsx", xlsx_bytes(), XLSX))])
    (call,) = tg.file_calls()
    assert call.method == "sendDocument" and "caption" not in call.params


@pytest.mark.parametrize("why", ["buttons", "long text"])
async def test_telegram_interactive_text_goes_first_as_a_message_when_it_cannot_be_a_caption(
    tg: TelegramEnv, why: str
) -> None:
    chart = png_bytes()
    if why == "buttons":
        reply = Reply(
            "Grafik siap.",
            options=(Option("again", "Lagi"),),
            document=Document("grafik.png", chart, "image/png"),
        )
    else:
        reply = Reply("y" * 1025, document=Document("grafik.png", chart, "image/png"))
    await tg.channel.send(CHAT, [reply])
    message, photo = tg.file_calls()
    assert message.method == "sendMessage" and message.params["text"] == reply.text
    if why == "buttons":
        assert message.params["reply_markup"] == {
            "inline_keyboard": [[{"text": "Lagi", "callback_data": "again"}]]
        }
    assert photo.method == "sendPhoto" and photo.files["photo"] == chart
    assert "caption" not in photo.params


async def test_telegram_ringkasan_in_chat_sends_the_text_then_the_chart_and_the_workbook(
    tg: TelegramEnv,
) -> None:
    await tg.say("/ringkasan", update_id=10)
    calls = tg.file_calls()
    methods = [call.method for call in calls]
    assert methods[-3:] == ["sendMessage", "sendPhoto", "sendDocument"], methods
    text, photo, document = calls[-3:]
    assert text.params["text"].startswith(ANI_DIGEST_TITLE)
    assert photo.files["photo"].startswith(b"\x89PNG\r\n\x1a\n")
    assert photo.params["photo"]["filename"].startswith("kehadiran-2026-W")
    assert photo.params["caption"] == t("digest.chart_caption")
    assert document.params["caption"] == t("digest.workbook_caption")
    book = openpyxl.load_workbook(io.BytesIO(document.files["document"]))
    assert book.sheetnames == [
        t("digest.sheet.kelompok"),
        t("digest.sheet.pendamping"),
        t("digest.sheet.absentees"),
    ]


# --------------------------------------------------------------------------- WhatsApp


@dataclass
class WhatsAppEnv:
    app: App
    fake: FakeTwilioApi
    channel: TwilioChannel
    client: httpx.AsyncClient
    world: World
    inbox: InboxWorkers
    sequence: int = 0

    async def dispatch(self) -> None:
        dispatcher = Dispatcher(
            self.app.sessions,
            {Channel.WHATSAPP: self.channel.send_claimed},
            {Channel.WHATSAPP: 80.0},
            self.app.clock,
        )
        await dispatcher.run_once()

    async def say(self, body: str) -> None:
        self.sequence += 1
        params = inbound_whatsapp_params(from_=WA, body=body, message_sid=f"SM{self.sequence:032x}")
        signed = self.channel.signed_url("/twilio/whatsapp", "")  # without a public URL: a path
        signature = twilio_signature(self.fake.auth_token, signed, params)
        response = await self.client.post(
            "/twilio/whatsapp", data=params, headers={"X-Twilio-Signature": signature}
        )
        assert response.status_code == 200
        await self.inbox.drain()
        await self.dispatch()  # the replies were queued with the step: deliver them

    async def fetch(self, url: str, method: str = "GET") -> httpx.Response:
        """Fetch a media URL from the web app, as Twilio would (its path and query)."""
        assert url.startswith(PUBLIC + "/")
        parts = urlsplit(url)
        return await self.client.request(method, f"{parts.path}?{parts.query}")

    def creates(self) -> list[dict[str, Any]]:
        return [call.params for call in self.fake.calls_to("messages") if call.method == "POST"]


@pytest.fixture
async def wa(db_url: str, request: pytest.FixtureRequest) -> AsyncIterator[WhatsAppEnv]:
    """Signed media URLs by default; ``indirect`` parametrization with False: no
    ``twilio.public_base_url``, so nothing can be signed."""
    public = PUBLIC if getattr(request, "param", True) else None
    async with FakeTwilioApi() as fake:
        settings = Settings(
            database={"url": db_url},
            twilio=TwilioSettings(
                account_sid=fake.account_sid,
                auth_token=fake.auth_token,
                whatsapp_sender=SENDER,
                api_base_url=fake.base_url,
                public_base_url=public,
            ),
            web=WebSettings(media_url_secret=MEDIA_SECRET),
        )
        app = build_app(settings, clock=FixedClock(NOW))
        try:
            world = await build_world(app.sessions)
            async with app.sessions.begin() as session:
                session.add(
                    ChannelIdentity(
                        address=WA,
                        channel=Channel.WHATSAPP,
                        staff_id=world.ani,
                        last_inbound_at=NOW - timedelta(hours=1),  # inside the 24-hour window
                    )
                )
            inbox = build_inbox(app, build_engine(app))
            channel = build_twilio(app, inbox)
            assert channel is not None
            web = create_web_app(twilio=twilio_webhooks(channel), media=media_files(app))
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=web), base_url="http://10.0.0.5:8080"
            ) as client:
                yield WhatsAppEnv(app, fake, channel, client, world, inbox)
            await channel.stop()
        finally:
            await app.close()


async def queue_file_for_whatsapp(wa: WhatsAppEnv, content: bytes, name: str, kind: str) -> int:
    file_id = await store(wa.app, content, name, kind)
    await queue(
        wa.app,
        Channel.WHATSAPP,
        WA,
        "digest_file",
        {"key": "digest.chart_caption", "file_id": file_id},
    )
    return file_id


async def test_whatsapp_sends_a_signed_url_that_the_web_app_serves_with_the_exact_bytes(
    wa: WhatsAppEnv,
) -> None:
    chart = png_bytes()
    file_id = await queue_file_for_whatsapp(wa, chart, "kehadiran-2026-W47.png", "image/png")
    await wa.dispatch()
    (params,) = wa.creates()
    assert params["Body"] == t("digest.chart_caption")
    (url,) = params["MediaUrl"]
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == PUBLIC and parts.path == f"/media/{file_id}"
    query = parse_qs(parts.query)
    assert set(query) == {"e", "s"}
    assert int(query["e"][0]) == int((NOW + timedelta(hours=24)).timestamp())
    assert len(query["s"][0]) == 64  # HMAC-SHA256, hex
    (row,) = await outbox(wa.app)
    assert row.status is OutboxStatus.QUEUED and row.provider_id in wa.fake.messages
    assert wa.fake.messages[row.provider_id]["num_media"] == "1"

    served = await wa.fetch(url)
    assert served.status_code == 200
    assert served.content == chart
    assert served.headers["content-type"] == "image/png"
    assert served.headers["content-disposition"] == 'attachment; filename="kehadiran-2026-W47.png"'
    assert served.headers["cache-control"] == "private, no-store"
    head = await wa.fetch(url, method="HEAD")
    assert head.status_code == 200 and head.content == b""


async def test_whatsapp_a_workbook_url_serves_a_workbook_openpyxl_reads(wa: WhatsAppEnv) -> None:
    workbook = xlsx_bytes("Per kelompok")
    await queue_file_for_whatsapp(wa, workbook, "ringkasan-2026-W47.xlsx", XLSX)
    await wa.dispatch()
    (params,) = wa.creates()
    served = await wa.fetch(params["MediaUrl"][0])
    assert served.status_code == 200 and served.headers["content-type"] == XLSX
    assert openpyxl.load_workbook(io.BytesIO(served.content)).sheetnames == ["Per kelompok"]


def _tampered(url: str, how: str, other_id: int) -> str:
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    path = parts.path
    if how == "signature":
        last = query["s"][-1]
        query["s"] = query["s"][:-1] + ("0" if last != "0" else "1")
    elif how == "id":
        path = f"/media/{other_id}"
    elif how == "expiry extended":
        query["e"] = str(int(query["e"]) + 3600)
    elif how == "no signature":
        del query["s"]
    elif how == "expiry not a number":
        query["e"] = "soon"
    rebuilt = "&".join(f"{key}={value}" for key, value in query.items())
    return f"{PUBLIC}{path}?{rebuilt}"


@pytest.mark.parametrize(
    "how", ["signature", "id", "expiry extended", "no signature", "expiry not a number"]
)
async def test_whatsapp_a_changed_media_url_is_refused(wa: WhatsAppEnv, how: str) -> None:
    first = await queue_file_for_whatsapp(wa, png_bytes(), "a.png", "image/png")
    second_bytes = xlsx_bytes()
    second = await store(wa.app, second_bytes, "b.xlsx", XLSX)  # exists: 403, not 404
    await wa.dispatch()
    (params,) = wa.creates()
    url = params["MediaUrl"][0]
    assert urlsplit(url).path == f"/media/{first}"
    refused = await wa.fetch(_tampered(url, how, second))
    assert refused.status_code == 403 and refused.content == b""
    assert (await wa.fetch(url)).status_code == 200  # the genuine URL still works


async def test_whatsapp_a_media_url_expires_after_24_hours(wa: WhatsAppEnv) -> None:
    chart = png_bytes()
    await queue_file_for_whatsapp(wa, chart, "a.png", "image/png")
    await wa.dispatch()
    url = wa.creates()[0]["MediaUrl"][0]
    clock_of(wa.app).advance(timedelta(hours=24) - timedelta(seconds=1))
    still = await wa.fetch(url)
    assert still.status_code == 200 and still.content == chart
    clock_of(wa.app).advance(timedelta(seconds=2))
    assert (await wa.fetch(url)).status_code == 403  # the file itself is kept for 7 days


async def test_whatsapp_a_validly_signed_url_to_a_file_that_is_gone_is_404(
    wa: WhatsAppEnv,
) -> None:
    file_id = await store(wa.app, png_bytes(), "a.png", "image/png", ttl=timedelta(hours=1))
    await queue(wa.app, Channel.WHATSAPP, WA, "digest_file", {"text": "Grafik", "file_id": file_id})
    await wa.dispatch()
    url = wa.creates()[0]["MediaUrl"][0]
    assert (await wa.fetch(url)).status_code == 200
    clock_of(wa.app).advance(timedelta(hours=2))  # the URL is good for 24 h, the file is not
    assert (await wa.fetch(url)).status_code == 404
    async with wa.app.sessions.begin() as session:
        assert await purge_expired(session, now=wa.app.clock.now()) == 1
    assert await stored_files(wa.app) == []
    assert (await wa.fetch(url)).status_code == 404


@pytest.mark.parametrize("wa", [False], indirect=True)
async def test_whatsapp_without_a_public_base_url_a_file_row_fails_with_the_reason(
    wa: WhatsAppEnv,
) -> None:
    await queue_file_for_whatsapp(wa, png_bytes(), "a.png", "image/png")
    await queue(wa.app, Channel.WHATSAPP, WA, "alert", {"text": "Teks saja"})
    await wa.dispatch()
    file_row, text_row = await outbox(wa.app)
    assert file_row.status is OutboxStatus.FAILED
    assert file_row.error == "media URLs need twilio.public_base_url"
    assert text_row.status is OutboxStatus.QUEUED  # the channel itself works
    assert [params.get("Body") for params in wa.creates()] == ["Teks saja"]
    assert media_files(wa.app) is None
    assert (await wa.client.get("/media/1?e=1&s=x")).status_code == 404  # no media route


def _long_digest_text() -> str:
    lines = [f"{n}. Pendamping {n}: pertemuan 3/4, kehadiran 80% " + "z" * 60 for n in range(40)]
    return "📊 Ringkasan mingguan PKH\n\n" + "\n".join(lines)


async def test_whatsapp_a_long_body_goes_in_parts_in_order_and_the_row_keeps_the_last_sid(
    wa: WhatsAppEnv,
) -> None:
    text = _long_digest_text()
    assert len(text) > 2 * BODY_LIMIT
    await queue(wa.app, Channel.WHATSAPP, WA, "weekly_digest", {"text": text})
    await wa.dispatch()
    bodies = [params["Body"] for params in wa.creates()]
    assert len(bodies) == 3
    assert all(len(body) <= BODY_LIMIT for body in bodies)
    assert "\n".join(bodies) == text  # in order, nothing lost
    assert all("MediaUrl" not in params for params in wa.creates())
    (row,) = await outbox(wa.app)
    sids = list(wa.fake.messages)
    assert len(sids) == 3
    assert row.status is OutboxStatus.QUEUED and row.provider_id == sids[-1]


async def test_whatsapp_a_long_caption_is_split_with_the_media_on_the_last_part(
    wa: WhatsAppEnv,
) -> None:
    chart = png_bytes()
    file_id = await store(wa.app, chart, "a.png", "image/png")
    text = _long_digest_text()
    await queue(wa.app, Channel.WHATSAPP, WA, "digest_file", {"text": text, "file_id": file_id})
    await wa.dispatch()
    creates = wa.creates()
    assert len(creates) == 3
    assert ["MediaUrl" in params for params in creates] == [False, False, True]
    assert "\n".join(params["Body"] for params in creates) == text
    assert (await wa.fetch(creates[-1]["MediaUrl"][0])).content == chart
    (row,) = await outbox(wa.app)
    assert row.provider_id == list(wa.fake.messages)[-1]
    assert wa.fake.messages[row.provider_id]["num_media"] == "1"


async def test_whatsapp_ringkasan_in_chat_stores_the_files_and_sends_signed_urls(
    wa: WhatsAppEnv,
) -> None:
    await wa.say("ringkasan")
    creates = wa.creates()
    with_media = [params for params in creates if "MediaUrl" in params]
    assert [params["Body"] for params in with_media] == [
        t("digest.chart_caption"),
        t("digest.workbook_caption"),
    ]
    assert creates[0]["Body"].startswith(ANI_DIGEST_TITLE)
    chart, workbook = await stored_files(wa.app)
    assert chart.content_type == "image/png" and workbook.content_type == XLSX
    assert chart.expires_at == NOW + timedelta(days=7)
    served_chart = await wa.fetch(with_media[0]["MediaUrl"][0])
    served_book = await wa.fetch(with_media[1]["MediaUrl"][0])
    assert served_chart.content == chart.content and served_chart.content.startswith(b"\x89PNG")
    assert served_book.content == workbook.content
    assert openpyxl.load_workbook(io.BytesIO(served_book.content)).sheetnames == [
        t("digest.sheet.kelompok"),
        t("digest.sheet.pendamping"),
        t("digest.sheet.absentees"),
    ]


@pytest.mark.parametrize("wa", [False], indirect=True)
async def test_whatsapp_ringkasan_without_a_signer_says_the_files_are_unavailable(
    wa: WhatsAppEnv,
) -> None:
    await wa.say("ringkasan")
    creates = wa.creates()
    assert all("MediaUrl" not in params for params in creates)
    assert [params["Body"] for params in creates].count(t("file.unavailable")) == 2
    # The files were kept with the queued replies; they expire like any other.
    for stored in await stored_files(wa.app):
        assert stored.expires_at <= NOW + timedelta(days=7)


# --------------------------------------------------------------------------- MediaSigner


def _settings(*, public: str | None, token: str | None, media: str | None) -> Settings:
    return Settings(
        twilio=TwilioSettings(auth_token=token, public_base_url=public),
        web=WebSettings(media_url_secret=media),
    )


def test_no_signer_without_a_public_base_url() -> None:
    assert MediaSigner.from_settings(Settings()) is None
    assert MediaSigner.from_settings(_settings(public=None, token="tok", media="sec")) is None


def test_no_signer_without_any_secret() -> None:
    assert MediaSigner.from_settings(_settings(public=PUBLIC, token=None, media=None)) is None


def test_the_signer_falls_back_to_the_twilio_auth_token() -> None:
    signer = MediaSigner.from_settings(_settings(public=PUBLIC + "/", token="tok", media=None))
    assert signer is not None
    assert signer.secret == b"tok" and signer.base_url == PUBLIC
    assert signer.ttl == timedelta(hours=24)
    url = signer.url(7, now=NOW)
    assert url.startswith(f"{PUBLIC}/media/7?e=")
    query = parse_qs(urlsplit(url).query)
    expires, signature = query["e"][0], query["s"][0]
    assert signer.valid(7, expires, signature, now=NOW)
    assert not signer.valid(8, expires, signature, now=NOW)
    # the media secret, when set, wins: a URL signed with the auth token no longer holds
    preferred = MediaSigner.from_settings(_settings(public=PUBLIC, token="tok", media="sec"))
    assert preferred is not None and preferred.secret == b"sec"
    assert not preferred.valid(7, expires, signature, now=NOW)
    assert preferred.valid(7, *_query(preferred.url(7, now=NOW)), now=NOW)


def _query(url: str) -> tuple[str, str]:
    query = parse_qs(urlsplit(url).query)
    return query["e"][0], query["s"][0]


def test_a_url_is_valid_until_just_before_its_expiry() -> None:
    signer = MediaSigner(b"k", PUBLIC)
    expires, signature = _query(signer.url(1, now=NOW))
    assert signer.valid(1, expires, signature, now=NOW + timedelta(hours=24, seconds=-1))
    assert not signer.valid(1, expires, signature, now=NOW + timedelta(hours=24))


async def test_a_malformed_media_url_is_refused_not_an_error(wa: WhatsAppEnv) -> None:
    file_id = await store(wa.app, png_bytes(), "kehadiran-2026-W47.png", "image/png")
    expires, signature = _query(MediaSigner.from_settings(wa.app.settings).url(file_id, now=NOW))
    for query in (
        f"e={expires}&s=%C3%A9{signature[2:]}",  # a non-ASCII signature
        f"e={'9' * 5000}&s={signature}",  # a number too long to read
        f"e=-{expires}&s={signature}",
        f"e={expires}&s={signature.upper()}",
    ):
        response = await wa.client.get(f"/media/{file_id}?{query}")
        assert response.status_code == 403, query
    assert (await wa.client.get(f"/media/{file_id}?e={expires}&s={signature}")).status_code == 200


async def _window_closed(wa: WhatsAppEnv) -> None:
    async with wa.app.sessions.begin() as session:
        identity = await session.scalar(
            select(ChannelIdentity).where(ChannelIdentity.address == WA)
        )
        assert identity is not None
        identity.last_inbound_at = NOW - timedelta(days=3)


async def test_whatsapp_outside_the_window_a_file_without_its_template_fails_naming_it(
    wa: WhatsAppEnv,
) -> None:
    await _window_closed(wa)
    await queue_file_for_whatsapp(wa, png_bytes(), "kehadiran-2026-W47.png", "image/png")
    await wa.dispatch()
    assert wa.creates() == []
    (row,) = await outbox(wa.app)
    assert row.status is OutboxStatus.FAILED
    chart = TEMPLATES["digest.chart_caption"]
    assert row.error == (
        "outside the 24-hour window and no approved template is configured for "
        f"{chart.key} (twilio.templates.{chart.name})"
    )


async def test_whatsapp_outside_the_window_a_file_goes_as_its_media_template(
    wa: WhatsAppEnv,
) -> None:
    content_sid = "HX" + "1" * 32
    settings = wa.channel._settings
    name = TEMPLATES["digest.chart_caption"].name
    wa.channel._settings = settings.model_copy(update={"templates": {name: content_sid}})
    await _window_closed(wa)
    chart = png_bytes()
    file_id = await queue_file_for_whatsapp(wa, chart, "kehadiran-2026-W47.png", "image/png")
    await wa.dispatch()
    (params,) = wa.creates()
    assert params["ContentSid"] == content_sid
    assert "Body" not in params and "MediaUrl" not in params  # the template carries both
    variables = json.loads(params["ContentVariables"])
    # One variable, the signed path: the caption is the template's own body.
    assert set(variables) == {"1"}
    assert variables["1"].startswith(f"media/{file_id}?e=")
    served = await wa.fetch(f"{PUBLIC}/{variables['1']}")  # the template's URL: base + {{1}}
    assert served.status_code == 200 and served.content == chart
