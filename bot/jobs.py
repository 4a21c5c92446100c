"""The scheduler process: APScheduler sweeps and the outbox dispatcher.

Each sweep is a thin module-level job that calls the same model functions the chat flows
use; what is due lives in the database, so a restart loses and repeats nothing, and every
sweep runs once at start-up to catch up. On PostgreSQL a sweep holds an advisory lock, so
several scheduler processes may run and each sweep runs in one of them at a time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.bootstrap import (
    App,
    commitment_rules,
    configured_channels,
    digest_options,
    holiday_calendar,
    komponen_catalog,
)
from bot.channels.telegram import TelegramChannel
from bot.channels.whatsapp import TwilioChannel
from bot.media_store import media_housekeeping
from bot.retention_command import retention_policy
from bot.senders import Routing
from handlers.engine import Engine
from handlers.i18n import Translator
from handlers.inbox import InboxWorkers
from models.conversations import forget_inbound_before
from models.db.locks import sweep_lock
from models.enums import Channel
from models.komponen_ends import refresh_end_dates
from models.messaging.inbox import forget_done_before
from models.messaging.outbox import expire_overdue
from models.messaging.sending import Sender
from models.retention import apply_retention
from models.web_access import forget_stale
from scheduler.alerts import AlertReport, enqueue_alerts
from scheduler.digests import enqueue_digests
from scheduler.dispatcher import Dispatcher, Pacer, Pacing, SharedPacer
from scheduler.ketua_relay import enqueue_ketua_relays
from scheduler.nudges import Advocacy, enqueue_nudges
from scheduler.planner import plan_meetings
from scheduler.reminder_capacity import SenderOf
from scheduler.reminders import enqueue_reminders

log = logging.getLogger(__name__)
T = TypeVar("T")
SWEEP_MINUTES = {
    "planner": 360,
    "reminders": 5,
    "ketua": 5,
    "nudges": 5,
    "alerts": 30,
    "digests": 10,
    "housekeeping": 360,
    "expiry": 5,
}


def channel_rates(app: App) -> dict[Channel, float]:
    settings = app.settings
    return {
        Channel.TELEGRAM: settings.telegram.messages_per_second,
        Channel.WHATSAPP: float(settings.twilio.messages_per_second),
        Channel.SMS: float(settings.twilio.messages_per_second),
    }


def regional_senders(app: App) -> SenderOf | None:
    """With ``[[twilio.senders]]``: the sender a WhatsApp or SMS message to a region goes
    from and its rate, for the reminder sweep's capacity check ("" for the default)."""
    routing = Routing(app.settings.twilio)
    if not routing.regional:
        return None

    def sender(channel: Channel, region: str | None) -> tuple[str, float]:
        if channel not in (Channel.WHATSAPP, Channel.SMS):
            return "", 0.0
        route = routing.for_region(channel, region)
        if route is routing.default:
            return "", route.messages_per_second
        return route.name, route.messages_per_second

    return sender


async def _locked(app: App, name: str, sweep: Callable[[], Awaitable[T]]) -> T | None:
    async with sweep_lock(app.engine, name) as granted:
        if not granted:
            log.info("sweep %s runs in another process", name)
            return None
        report = await sweep()
        log.info("sweep %s: %s", name, report)
        return report


async def planner_sweep(app: App) -> None:
    """Create the coming meetings from each kelompok's rule."""
    s = app.settings.scheduler
    await _locked(
        app,
        "planner",
        lambda: plan_meetings(
            app.sessions,
            now=app.clock.now(),
            quiet_start=s.quiet_hours_start,
            quiet_end=s.quiet_hours_end,
            calendar=holiday_calendar(app.settings),
        ),
    )


async def reminders_sweep(app: App) -> None:
    """Enqueue the KPM and group-chat reminders that are due."""
    s = app.settings.scheduler
    report = await _locked(
        app,
        "reminders",
        lambda: enqueue_reminders(
            app.sessions,
            now=app.clock.now(),
            rates=channel_rates(app),
            window=s.sending_window,
            senders=regional_senders(app),
            **s.reminder_timing,
        ),
    )
    if report is not None:
        _warn_unconfigured(app, report.new_by_channel)


async def ketua_sweep(app: App) -> None:
    """Enqueue, with each meeting's first reminder, the ketua kelompok's list of the
    members no reminder reaches and the text to forward to the kelompok's group."""
    s = app.settings.scheduler
    await _locked(
        app,
        "ketua",
        lambda: enqueue_ketua_relays(app.sessions, now=app.clock.now(), **s.reminder_timing),
    )


def _warn_unconfigured(app: App, new_by_channel: dict[str, int]) -> None:
    """One line per channel the settings cannot send on that new reminders were queued for."""
    configured = configured_channels(app.settings)
    for channel, count in sorted(new_by_channel.items()):
        if Channel(channel) not in configured:
            log.warning(
                "reminders: %d new messages for %s, which is not configured; they wait in the "
                "outbox until it is, and fail at their deadline if it never is",
                count,
                channel,
            )


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def advocacy(app: App) -> Advocacy | None:
    """The weekly advocacy line of ``[reporting]`` (None when advocacy_weekday = "off")."""
    reporting = app.settings.reporting
    if reporting.advocacy_weekday not in WEEKDAYS:
        return None
    return Advocacy(
        programmes=tuple(
            (key, programme.label)
            for key, programme in reporting.complementary_programmes.items()
        ),
        weekday=WEEKDAYS.index(reporting.advocacy_weekday),
    )


async def nudges_sweep(app: App) -> None:
    """Enqueue the pendamping's meeting-day, missing-attendance, follow-up, pesan KPM,
    end-of-period commitment-check and weekly advocacy nudges."""
    s = app.settings.scheduler
    await _locked(
        app,
        "nudges",
        lambda: enqueue_nudges(
            app.sessions,
            now=app.clock.now(),
            morning_time=s.morning_nudge_time,
            quiet_start=s.quiet_hours_start,
            quiet_end=s.quiet_hours_end,
            pesan_after=timedelta(hours=app.settings.pesan.nudge_after_hours),
            commitments=commitment_rules(app),
            advocacy=advocacy(app),
        ),
    )


async def alerts_sweep(app: App) -> None:
    """Enqueue the graduasi alamiah, absence-streak and commitment alerts (peringatan
    1..N; the last one to the coordinators too)."""
    s, r = app.settings.scheduler, app.settings.reporting
    catalog = komponen_catalog(app)

    async def alerts() -> AlertReport:
        async with app.sessions.begin() as session:  # the end dates the rules say now
            refreshed = await refresh_end_dates(session, catalog)
        if refreshed:
            log.info("alerts: %d komponen end dates recomputed from the rules", refreshed)
        return await enqueue_alerts(
            app.sessions,
            now=app.clock.now(),
            horizon_days=r.graduation_horizon_days,
            absence_streak=r.absence_streak_alert,
            quiet_start=s.quiet_hours_start,
            quiet_end=s.quiet_hours_end,
            commitments=commitment_rules(app),
            catalog=catalog,
        )

    await _locked(app, "alerts", alerts)


async def digests_sweep(app: App) -> None:
    """Build and enqueue the weekly coordinator digests that are due."""
    r = app.settings.reporting
    await _locked(
        app,
        "digests",
        lambda: enqueue_digests(
            app.sessions,
            now=app.clock.now(),
            weekday=r.digest_weekday,
            at=r.digest_time,
            options=digest_options(app),
            translate=Translator(app.settings.general.locale),
            quiet=(
                app.settings.scheduler.quiet_hours_start,
                app.settings.scheduler.quiet_hours_end,
            ),
            read_sessions=app.read_sessions,
        ),
    )


async def housekeeping_sweep(app: App) -> None:
    """Forget the inbound message ids older than any provider redelivers, and the inbox
    rows handled as long ago (failed ones stay for the operator); then delete the personal
    data past its ``[retention]`` months, in batches (figures stay)."""
    now = app.clock.now()
    cutoff = now - timedelta(days=app.settings.scheduler.inbound_id_retention_days)

    async def forget() -> dict[str, int]:
        return {
            "inbound_ids": await forget_inbound_before(app.sessions, cutoff),
            "inbox_rows": await forget_done_before(app.sessions, cutoff),
            **await apply_retention(app.sessions, retention_policy(app.settings), now=now),
            **await media_housekeeping(
                app.sessions, app.settings.media, now,
                keep_months=app.settings.retention.media_months,
            ),
            "web_access": await _forget_web_access(app, now),
        }

    await _locked(app, "housekeeping", forget)


async def _forget_web_access(app: App, now: datetime) -> int:
    """Login links a day past their time and console sessions past their idle time."""
    idle = timedelta(minutes=app.settings.web.session_idle_minutes)
    async with app.sessions.begin() as session:
        return await forget_stale(session, now=now, idle=idle)


async def expiry_sweep(app: App) -> None:
    """Fail the waiting messages whose deadline has passed, on every channel (those of a
    channel no process sends included), so none waits for ever or vanishes unreported."""

    async def expire() -> dict[str, int]:
        async with app.sessions.begin() as session:
            expired = await expire_overdue(session, now=app.clock.now())
        return {str(channel): count for channel, count in expired.items()}

    await _locked(app, "expiry", expire)


SWEEPS = {
    "planner": planner_sweep,
    "reminders": reminders_sweep,
    "ketua": ketua_sweep,
    "nudges": nudges_sweep,
    "alerts": alerts_sweep,
    "digests": digests_sweep,
    "housekeeping": housekeeping_sweep,
    "expiry": expiry_sweep,
}


def build_scheduler(app: App) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=UTC)
    for name, sweep in SWEEPS.items():
        scheduler.add_job(
            sweep,
            "interval",
            minutes=SWEEP_MINUTES[name],
            kwargs={"app": app},
            id=name,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=3600,
            next_run_time=app.clock.now(),  # catch up at start-up
        )
    return scheduler


def build_dispatcher(
    app: App, telegram: TelegramChannel | None, twilio: TwilioChannel | None
) -> Dispatcher | None:
    senders: dict[Channel, Sender] = {}
    if telegram is not None:
        senders[Channel.TELEGRAM] = telegram.send_claimed
    if twilio is not None:
        senders[Channel.WHATSAPP] = twilio.send_claimed
        senders[Channel.SMS] = twilio.send_claimed
    if not senders:
        return None
    regional = twilio is not None and twilio.routing.regional
    return Dispatcher(
        app.sessions,
        senders,
        channel_rates(app),
        app.clock,
        max_attempts=app.settings.scheduler.max_attempts,
        quiet=(app.settings.scheduler.quiet_hours_start, app.settings.scheduler.quiet_hours_end),
        default_zone=app.settings.general.timezone,
        sms_budget=app.settings.sms.monthly_budget_segments,
        pacers=shared_pacers(app, senders),
        router=twilio.routes if twilio is not None and regional else None,
        sender_pacing=sender_pacing(app, twilio) if twilio is not None and regional else None,
    )


def sender_pacing(app: App, twilio: TwilioChannel) -> Callable[[Channel, str], Pacing]:
    """Each regional sender's pace (``whatsapp:jateng``) at its own rate: shared by every
    scheduler process on PostgreSQL, this process's own on SQLite."""
    shared = app.engine.dialect.name == "postgresql"

    def pacing(channel: Channel, sender: str) -> Pacing:
        key, rate = twilio.pace_key(channel, sender)
        return SharedPacer(app.sessions, key, rate) if shared else Pacer(rate)

    return pacing


def shared_pacers(app: App, senders: Mapping[Channel, Sender]) -> dict[Channel, SharedPacer]:
    """On PostgreSQL, where several scheduler processes may dispatch, each sender's pace
    is kept in the database for all of them; SQLite has one process (its own pace)."""
    if app.engine.dialect.name != "postgresql":
        return {}
    twilio = app.settings.twilio
    service = twilio.messaging_service_sid
    names = {
        Channel.TELEGRAM: "telegram",
        Channel.WHATSAPP: f"whatsapp:{service or twilio.whatsapp_sender or 'twilio'}",
        Channel.SMS: f"sms:{service or twilio.sms_sender or 'twilio'}",
    }
    rates = channel_rates(app)
    return {
        channel: SharedPacer(app.sessions, names[channel], rates[channel])
        for channel in senders
    }


@asynccontextmanager
async def scheduling(
    app: App,
    telegram: TelegramChannel | None,
    twilio: TwilioChannel | None,
    engine: Engine | None = None,
    inbox: InboxWorkers | None = None,
) -> AsyncIterator[None]:
    """Run the sweeps and the dispatcher for as long as the block runs; the replies the
    engine (and the inbox's apologies) queue wake the dispatcher at once."""
    scheduler = build_scheduler(app)
    scheduler.start()
    dispatcher = build_dispatcher(app, telegram, twilio)
    if dispatcher is not None:
        for source in (engine, inbox):
            if source is not None:
                source.on_queued(dispatcher.notify)
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stop)) if dispatcher is not None else None
    if dispatcher is None:
        log.warning("no channel configured: messages stay in the outbox until one is")
    try:
        yield
    finally:
        stop.set()
        scheduler.shutdown(wait=False)
        if task is not None:
            await task
