"""The one place that builds engines, session factories and clocks and wires them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.channels.console import from_inbox as console_from_inbox
from bot.channels.telegram import FileLoader, TelegramChannel, build_application
from bot.channels.telegram import from_inbox as telegram_from_inbox
from bot.channels.telegram_media import TelegramMediaSource
from bot.channels.twilio_media import TwilioMediaSource
from bot.channels.whatsapp import TwilioChannel
from bot.channels.whatsapp import from_inbox as whatsapp_from_inbox
from bot.config import Settings
from bot.media import MediaSigner
from bot.media_fetch import FetchPolicy, LocalFileSource, MediaFetcher, MediaSource
from bot.media_store import build_media_store, install_media_eraser, media_reader
from handlers.engine import Engine
from handlers.i18n import Translator
from handlers.inbox import InboxWorkers, Translate
from handlers.registry import COMMANDS, FLOWS
from handlers.settings import EngineSettings, WebLogin
from models.db import create_engine, read_only_factory, session_factory
from models.enums import Channel
from models.messaging.report_files import load_file
from models.rules.calendar import HolidayCalendar, RegionalHoliday
from models.rules.clock import Clock, SystemClock
from models.rules.commitments import Commitment, CommitmentRules
from models.rules.graduation import GraduationRules, Indicator, Programme, Stage
from models.rules.komponen import KomponenCatalog
from models.rules.p2k2 import P2k2Modul, P2k2Session
from reporting.digest import DigestOptions


@dataclass
class App:
    """Everything a command, a web route or a job needs, opened once per process."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    read_sessions: async_sessionmaker[AsyncSession]
    clock: Clock = field(default_factory=SystemClock)
    read_engine: AsyncEngine | None = None  # a PostgreSQL replica, when one is configured

    async def close(self) -> None:
        await self.engine.dispose()
        if self.read_engine is not None:
            await self.read_engine.dispose()


def build_app(settings: Settings, *, clock: Clock | None = None) -> App:
    """The app; reports, exports and listings (``read_sessions``) read from
    ``database.read_url`` when it is set (a PostgreSQL replica), so their long reads do
    not weigh on the primary that takes the writes."""
    database = settings.database
    install_media_eraser(settings.media)  # erasure and retention remove our copies too
    engine = create_engine(
        database.url,
        echo=database.echo,
        pool_size=database.pool_size,
        sqlite_busy_timeout_ms=database.sqlite_busy_timeout_ms,
    )
    replica = (
        create_engine(database.read_url, echo=database.echo, pool_size=database.pool_size)
        if database.read_url
        else None
    )
    return App(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        read_sessions=read_only_factory(replica or engine),
        clock=clock or SystemClock(),
        read_engine=replica,
    )


def komponen_catalog(app: App) -> KomponenCatalog:
    """The komponen rules of the configured programme year."""
    return KomponenCatalog.from_mapping(
        {name: rule.model_dump() for name, rule in app.settings.programme.komponen.items()}
    )


def commitment_rules(app: App) -> CommitmentRules:
    """The commitments verified, their periods, warning levels and reasons."""
    configured = app.settings.programme.commitments
    return CommitmentRules.build(
        (
            Commitment(
                key,
                c.label,
                tuple(c.komponen),
                c.due,
                c.every_months,
                c.min_percent,
                c.min_checks,
            )
            for key, c in configured.types.items()
        ),
        period_months=configured.period_months,
        warning_levels=configured.warning_levels,
        remind_days_before_end=configured.remind_days_before_end,
        reasons=configured.reasons.items(),
    )


def holiday_calendar(settings: Settings) -> HolidayCalendar:
    """National holidays, cuti bersama (unless turned off) and the regional holidays of
    ``[programme.holidays]``: one calendar for the planner and for moves in /jadwal."""
    configured = settings.programme.holidays
    return HolidayCalendar(
        cuti_bersama=configured.cuti_bersama,
        regional=(
            RegionalHoliday(
                region=holiday.region,
                name=holiday.name,
                day=holiday.date,
                month_day=(
                    (int(holiday.month_day[:2]), int(holiday.month_day[3:]))
                    if holiday.month_day
                    else None
                ),
            )
            for holiday in configured.regional
        ),
    )


def p2k2_curriculum(settings: Settings) -> tuple[tuple[P2k2Modul, ...], tuple[P2k2Session, ...]]:
    """The P2K2 modules and their sessions of ``[[programme.p2k2.modules]]``."""
    modules = settings.programme.p2k2.modules
    return (
        tuple(P2k2Modul(m.number, m.title) for m in modules),
        tuple(P2k2Session(s.number, m.number, s.title) for m in modules for s in m.sessions),
    )


def engine_settings(app: App) -> EngineSettings:
    settings = app.settings
    modules, sessions = p2k2_curriculum(settings)
    return EngineSettings(
        catalog=komponen_catalog(app),
        commitments=commitment_rules(app),
        modules=modules,
        sessions=sessions,
        holidays=holiday_calendar(settings),
        locale=settings.general.locale,
        default_timezone=settings.general.timezone,
        conversation_timeout_minutes=settings.general.conversation_timeout_minutes,
        quiet_hours=(settings.scheduler.quiet_hours_start, settings.scheduler.quiet_hours_end),
        graduation=graduation_rules(settings),
        digest=digest_options(app),
        pesan_reason_minutes=settings.pesan.reason_window_minutes,
        case_rules=settings.programme.case_rules(),
        read_media=media_reader(settings.media),
        web=(
            WebLogin(
                settings.web.base_url,
                settings.web.login_link_minutes,
                settings.web.login_links_per_hour,
            )
            if settings.web.console
            else None
        ),
    )


def digest_options(app: App) -> DigestOptions:
    """What the weekly digest needs from ``[reporting]``, ``[general]`` and the
    commitments of ``[programme.commitments]``."""
    settings = app.settings
    reporting = settings.reporting
    return DigestOptions(
        horizon_days=reporting.graduation_horizon_days,
        threshold=reporting.graduation_threshold,
        target_per_year=reporting.graduation_target_per_year,
        locale=settings.general.locale,
        default_timezone=settings.general.timezone,
        pesan_late_hours=settings.pesan.nudge_after_hours,
        commitments=commitment_rules(app),
        categories=tuple(settings.programme.case_categories),
        category_labels=settings.programme.case_rules().labels(),
        programmes=tuple(reporting.complementary_programmes),
    )


def graduation_rules(settings: Settings) -> GraduationRules:
    """The /graduasi indicators, weights, threshold, gates, stages and complementary
    programmes from ``[reporting]``."""
    reporting = settings.reporting
    return GraduationRules(
        indicators=tuple(
            Indicator(key, indicator.label, indicator.weight)
            for key, indicator in reporting.indicators.items()
        ),
        threshold=reporting.graduation_threshold,
        attendance_weight=reporting.graduation_attendance_weight,
        gates=tuple(reporting.graduation_gates),
        stages=tuple(
            Stage(key, stage.label, stage.when, stage.min_score)
            for key, stage in reporting.graduation_stages.items()
        ),
        programmes=tuple(
            Programme(key, programme.label, tuple(programme.aliases))
            for key, programme in reporting.complementary_programmes.items()
        ),
    )


QUEUED_CHANNELS = (Channel.TELEGRAM, Channel.WHATSAPP, Channel.SMS, Channel.CONSOLE)
"""Channels whose replies go through the outbox: all of them."""


def build_engine(app: App) -> Engine:
    """The conversation engine with every flow, on the app's database and clock; replies
    on the chat channels are queued in the outbox with the step (see handlers.outgoing)."""
    return Engine(
        app.sessions,
        engine_settings(app),
        app.clock,
        FLOWS,
        COMMANDS,
        queued_channels=[channel.value for channel in QUEUED_CHANNELS],
        read_sessions=app.read_sessions,
    )


def file_loader(app: App) -> FileLoader:
    """Reads a stored report file (digest chart, workbook, export) for a channel: from the
    primary, never a replica (the file was stored a moment ago; a replica may lag)."""
    primary = read_only_factory(app.engine)

    async def load(file_id: int) -> tuple[str, str, bytes] | None:
        async with primary() as session:
            row = await load_file(session, file_id, now=app.clock.now())
            return None if row is None else (row.filename, row.content_type, row.content)

    return load


def configured_channels(settings: Settings) -> frozenset[Channel]:
    """The channels these settings can send on: those a dispatcher of this deployment
    has a sender for (every process reads the same settings)."""
    channels = set()
    if settings.telegram.configured:
        channels.add(Channel.TELEGRAM)
    if settings.twilio.configured:
        channels |= {Channel.WHATSAPP, Channel.SMS}
    return frozenset(channels)


def build_inbox(app: App, engine: Engine) -> InboxWorkers:
    """The inbox workers of this process: every configured channel's messages, stored on
    arrival, handled by the engine."""
    translators: dict[Channel, Translate] = {}
    if app.settings.telegram.configured:
        username = app.settings.telegram.bot_username
        translators[Channel.TELEGRAM] = lambda row: telegram_from_inbox(row, username)
    if app.settings.twilio.configured:
        translators[Channel.WHATSAPP] = translators[Channel.SMS] = whatsapp_from_inbox
    if app.settings.web.simulator:  # the web simulator's phones type on the console channel
        translators[Channel.CONSOLE] = console_from_inbox
    inbox = app.settings.inbox
    database = app.settings.database
    # SQLite has one connection per process; on PostgreSQL one of the pool's is left for
    # the webhooks' stores and the dispatcher.
    sqlite = database.url.startswith("sqlite")
    turns = 1 if sqlite else max(1, database.pool_size - 1)
    return InboxWorkers(
        app.sessions,
        engine,
        translators,
        app.clock,
        Translator(app.settings.general.locale),
        concurrency=inbox.workers,
        database_turns=turns,
        lease=timedelta(seconds=inbox.lease_seconds),
        max_attempts=inbox.max_attempts,
    )


def build_telegram(app: App, inbox: InboxWorkers | None = None) -> TelegramChannel | None:
    """The Telegram channel when a token is configured, else None; ``inbox`` keeps what
    it receives (a process that only sends needs none)."""
    settings = app.settings.telegram
    if not settings.configured:
        return None
    application = build_application(settings)
    return TelegramChannel(
        application,
        bot_username=settings.bot_username,
        clock=app.clock.now,
        inbox=inbox.store if inbox is not None else None,
        answer_in_webhook=settings.mode == "webhook",
        translator=Translator(app.settings.general.locale),
        files=file_loader(app),
    )


def build_twilio(app: App, inbox: InboxWorkers | None = None) -> TwilioChannel | None:
    """The WhatsApp/SMS channel when Twilio credentials are configured, else None;
    ``inbox`` keeps what it receives."""
    if not app.settings.twilio.configured:
        return None
    return TwilioChannel(
        app.settings.twilio,
        app.sessions,
        app.clock,
        Translator(app.settings.general.locale),
        media=MediaSigner.from_settings(app.settings),
        inbox=inbox.store if inbox is not None else None,
        sms=app.settings.sms,
    )


def build_media_fetcher(
    app: App, telegram: TelegramChannel | None, twilio: TwilioChannel | None
) -> MediaFetcher:
    """The media fetch workers of this process: files of every configured channel (and
    the terminal chat's) downloaded into the configured store (``[media]``)."""
    settings = app.settings.media
    sources: dict[Channel, MediaSource] = {Channel.CONSOLE: LocalFileSource()}
    if telegram is not None:
        bot = telegram.application.bot
        sources[Channel.TELEGRAM] = TelegramMediaSource(bot, timeout=settings.timeout_seconds)
    if twilio is not None:
        source = TwilioMediaSource(
            app.settings.twilio, twilio.client, timeout=settings.timeout_seconds
        )
        sources[Channel.WHATSAPP] = sources[Channel.SMS] = source
    return MediaFetcher(
        app.sessions,
        build_media_store(settings),
        sources,
        app.clock,
        Translator(app.settings.general.locale),
        FetchPolicy.from_settings(settings),
        concurrency=settings.workers,
    )
