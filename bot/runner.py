"""`pendamping run`: the web app, the Telegram bot (polling or webhook), the inbox workers
and the scheduler, in one process; `pendamping scheduler`: the sweeps and the dispatcher."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn

from bot.bootstrap import (
    App,
    build_engine,
    build_inbox,
    build_media_fetcher,
    build_telegram,
    build_twilio,
    file_loader,
)
from bot.channels.telegram import TelegramChannel
from bot.channels.whatsapp import TwilioChannel
from bot.dashboard import build_console
from bot.jobs import scheduling
from bot.media import MediaSigner
from bot.media_fetch import MediaFetcher
from bot.process import serving_alone, tune_garbage_collector
from bot.simulator import simulating
from bot.web import MediaFiles, TelegramWebhook, TwilioWebhooks, create_web_app
from models.db.locks import sweep_lock

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
        accept=channel.accept,
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


async def serve(app: App, *, sweeps: bool = True) -> None:
    """Run until interrupted: every message that arrives is stored in the inbox before it
    is acknowledged, and the inbox workers run the engine. ``sweeps``: the scheduler's
    sweeps and the dispatcher run here too (`pendamping run`); without, this is one of
    the `pendamping web` processes and `pendamping scheduler` sends."""
    command = "run" if sweeps else "web"
    with serving_alone(app.settings.database.url, command) as alone:
        engine = build_engine(app)
        inbox = build_inbox(app, engine)
        telegram = build_telegram(app, inbox)
        twilio = build_twilio(app, inbox)
        # Files are fetched where messages are sent: here for `run`; for the `web`
        # processes, in `pendamping scheduler`, so downloads never slow a webhook.
        fetcher = build_media_fetcher(app, telegram, twilio) if sweeps else None
        if fetcher is not None:
            engine.on_queued(fetcher.notify)  # a message handled may have brought files

        @asynccontextmanager
        async def lifespan(_: object) -> AsyncIterator[None]:
            if alone:  # what a killed predecessor held goes on now, not after its lease
                released = await inbox.release_claims()
                if released:
                    log.info(
                        "inbox: %d messages a stopped process held are handled again", released
                    )
            if twilio is not None:
                log.info("whatsapp/sms: webhooks at /twilio/whatsapp, /twilio/sms, /twilio/status")
            stop = asyncio.Event()
            workers = asyncio.create_task(inbox.run(stop), name="inbox")
            try:
                async with (
                    scheduling(app, telegram, twilio, engine, inbox)
                    if sweeps
                    else _no_sweeps(),
                    _telegram_running(
                        app, telegram, polling=app.settings.telegram.mode == "polling"
                    ),
                    # files are fetched once the bot is initialised (Telegram's getFile)
                    _fetching(fetcher),
                    # the web simulator's phones, where messages are sent ([web] simulator)
                    simulating(app, engine) if sweeps else contextlib.nullcontext(),
                ):
                    yield
            finally:
                stop.set()
                inbox.notify()
                await workers
                if twilio is not None:
                    await twilio.stop()

        web = create_web_app(
            telegram=telegram_webhook(telegram, app),
            twilio=twilio_webhooks(twilio),
            media=media_files(app),
            lifespan=lifespan,
            console=build_console(app),
        )
        web_settings = app.settings.web
        tune_garbage_collector()
        server = uvicorn.Server(
            uvicorn.Config(
                web,
                host=web_settings.host,
                port=web_settings.port,
                log_level="warning",
                lifespan="on",
            )
        )
        log.info(
            "serving on %s:%s (%s event loop)",
            web_settings.host,
            web_settings.port,
            type(asyncio.get_running_loop()).__module__.partition(".")[0],
        )
        await server.serve()


@asynccontextmanager
async def _fetching(fetcher: MediaFetcher | None) -> AsyncIterator[None]:
    """The media fetch workers run while the block runs (none: not in this process)."""
    if fetcher is None:
        yield
        return
    stop = asyncio.Event()
    fetching = asyncio.create_task(fetcher.run(stop), name="media")
    try:
        yield
    finally:
        stop.set()
        fetcher.notify()
        await fetching
        await fetcher.close()


@asynccontextmanager
async def _no_sweeps() -> AsyncIterator[None]:
    log.info("sweeps and dispatcher: not in this process (`pendamping scheduler` sends)")
    yield


POLLING_LOCK = "telegram-polling"


async def poll_alone(
    app: App, telegram: TelegramChannel, stop: asyncio.Event
) -> None:
    """Poll Telegram while this process holds the polling lock (on PostgreSQL several
    processes may serve, and Telegram allows one poller per bot); a process that does not
    get it serves webhooks only, and tries again every ``poll_takeover_seconds``, so it
    takes over when the poller stops. On SQLite one process serves: always granted."""
    told = False
    while not stop.is_set():
        async with sweep_lock(app.engine, POLLING_LOCK) as granted:
            if granted:
                log.info("telegram: polling")
                await telegram.poll(stop)
                return
        if not told:
            log.info("telegram: another process polls; this one serves webhooks only "
                     "and takes over if that one stops")
            told = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                stop.wait(), timeout=app.settings.telegram.poll_takeover_seconds
            )


@asynccontextmanager
async def _telegram_running(
    app: App, telegram: TelegramChannel | None, *, polling: bool
) -> AsyncIterator[None]:
    if telegram is None:
        log.info("telegram: not configured")
        yield
        return
    application = telegram.application
    await application.initialize()
    stop = asyncio.Event()
    poller = None
    if polling:
        poller = asyncio.create_task(poll_alone(app, telegram, stop), name="telegram-poll")
    else:
        log.info("telegram: webhook at /telegram/webhook")
    try:
        yield
    finally:
        stop.set()
        if poller is not None:
            poller.cancel()  # a long poll in progress: what it fetched is not confirmed
            with contextlib.suppress(asyncio.CancelledError):
                await poller
        await application.shutdown()


async def run_scheduler(app: App) -> None:
    """`pendamping scheduler`: sweeps and dispatcher only, for deployments that run the
    web app and the scheduler in separate processes (several on PostgreSQL)."""
    telegram = build_telegram(app)
    twilio = build_twilio(app)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    bot = telegram.application.bot if telegram is not None else None
    tune_garbage_collector()
    with serving_alone(app.settings.database.url, "scheduler"):
        try:
            if bot is not None:
                await bot.initialize()
            async with (
                scheduling(app, telegram, twilio),
                _fetching(build_media_fetcher(app, telegram, twilio)),
                simulating(app),
            ):
                log.info("scheduler running")
                await stop.wait()
        finally:
            if bot is not None:
                await bot.shutdown()
            if twilio is not None:
                await twilio.stop()
