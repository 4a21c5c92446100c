"""`pendamping run`: the web app, the Telegram bot (polling or webhook) and, later, the
scheduler, in one process."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn

from bot.bootstrap import App, build_engine, build_telegram, build_twilio, file_loader
from bot.channels.telegram import TelegramChannel
from bot.channels.whatsapp import TwilioChannel
from bot.media import MediaSigner
from bot.process import tune_garbage_collector
from bot.scheduling import scheduling
from bot.web import MediaFiles, TelegramWebhook, TwilioWebhooks, create_web_app

log = logging.getLogger(__name__)


def telegram_webhook(channel: TelegramChannel | None, app: App) -> TelegramWebhook | None:
    secret = app.settings.telegram.webhook_secret
    if channel is None or app.settings.telegram.mode != "webhook" or secret is None:
        return None
    return TelegramWebhook(
        secret=secret.get_secret_value(), feed=channel.feed, respond=channel.webhook_response
    )


def twilio_webhooks(channel: TwilioChannel | None) -> TwilioWebhooks | None:
    if channel is None:
        return None
    return TwilioWebhooks(
        signed_url=channel.signed_url,
        authentic=channel.authentic,
        enqueue=channel.enqueue,
        status=channel.status,
    )


def media_files(app: App) -> MediaFiles | None:
    """The signed media route, when media URLs can be signed (public URL and secret)."""
    signer = MediaSigner.from_settings(app.settings)
    if signer is None:
        return None

    def valid(file_id: int, expires: str, signature: str) -> bool:
        return signer.valid(file_id, expires, signature, now=app.clock.now())

    return MediaFiles(valid=valid, load=file_loader(app))


async def serve(app: App) -> None:
    """Run until interrupted."""
    engine = build_engine(app)
    telegram = build_telegram(app, engine)
    twilio = build_twilio(app, engine)

    @asynccontextmanager
    async def lifespan(_: object) -> AsyncIterator[None]:
        if twilio is not None:
            await twilio.start()
            log.info("whatsapp/sms: webhooks at /twilio/whatsapp, /twilio/sms, /twilio/status")
        try:
            async with _telegram_running(telegram), scheduling(app, telegram, twilio, engine):
                yield
        finally:
            if twilio is not None:
                await twilio.stop()

    web = create_web_app(
        telegram=telegram_webhook(telegram, app),
        twilio=twilio_webhooks(twilio),
        media=media_files(app),
        lifespan=lifespan,
    )
    web_settings = app.settings.web
    tune_garbage_collector()
    server = uvicorn.Server(
        uvicorn.Config(
            web, host=web_settings.host, port=web_settings.port, log_level="warning", lifespan="on"
        )
    )
    log.info("serving on %s:%s", web_settings.host, web_settings.port)
    await server.serve()


@asynccontextmanager
async def _telegram_running(telegram: TelegramChannel | None) -> AsyncIterator[None]:
    if telegram is None:
        log.info("telegram: not configured")
        yield
        return
    application = telegram.application
    await application.initialize()
    await application.start()
    if application.updater is not None:
        await application.updater.start_polling(
            allowed_updates=["message", "callback_query", "my_chat_member"]
        )
        log.info("telegram: polling")
    else:
        log.info("telegram: webhook at /telegram/webhook")
    try:
        yield
    finally:
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        await application.stop()
        await application.shutdown()


async def run_scheduler(app: App) -> None:
    """`pendamping scheduler`: sweeps and dispatcher only, for deployments that run the
    web app and the scheduler in separate processes (several on PostgreSQL)."""
    engine = build_engine(app)
    telegram = build_telegram(app, engine)
    twilio = build_twilio(app, engine)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    bot = telegram.application.bot if telegram is not None else None
    tune_garbage_collector()
    try:
        if bot is not None:
            await bot.initialize()
        async with scheduling(app, telegram, twilio, engine):
            log.info("scheduler running")
            await stop.wait()
    finally:
        if bot is not None:
            await bot.shutdown()
        if twilio is not None:
            await twilio.http.close()
