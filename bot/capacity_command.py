"""`pendamping capacity [--date D]`, and its line in `pendamping doctor`: per channel and
sender, the messages due on a day, the hours they need at the configured rate, and whether
they finish inside the day's sending window (the hours outside quiet hours).

Due on a day: what waits in the outbox with its time on that day (for today, also what
is late), plus the reminders the sweep has still to enqueue for it (read as the sweep
reads them, without writing). Days are the deployment's (``general.timezone``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from bot.bootstrap import App
from bot.jobs import channel_rates
from bot.senders import DEFAULT, Routing
from handlers.i18n import Translator
from models.db import READ_ONLY
from models.enums import Channel, OutboxStatus
from models.messaging.tables import Outbox
from models.rules.calendar import zone
from scheduler.reminders import planned_reminders

SENDERS = {Channel.WHATSAPP: "whatsapp_sender", Channel.SMS: "sms_sender"}


@dataclass(frozen=True)
class ChannelLoad:
    channel: Channel
    sender: str  # the business's own sender (number or bot); "-" when none is set
    queued: int  # in the outbox for the day
    planned: int  # reminders the sweep has still to enqueue for the day
    rate: float  # messages per second
    window_hours: float  # sending hours left that day
    name: str = DEFAULT  # a regional sender's name ([[twilio.senders]])

    @property
    def label(self) -> str:
        """The channel, and a regional sender's name: "whatsapp", "whatsapp/jateng"."""
        return self.channel.value if self.name == DEFAULT else f"{self.channel.value}/{self.name}"

    @property
    def total(self) -> int:
        return self.queued + self.planned

    @property
    def hours(self) -> float:
        return self.total / self.rate / 3600 if self.rate > 0 else float("inf")

    @property
    def fits(self) -> bool:
        return self.total == 0 or self.hours <= self.window_hours


def _window(
    day: date,
    now: datetime,
    quiet: tuple[time, time],
    tz_name: str,
    sending: tuple[time, time] | None = None,
) -> tuple[datetime, datetime, float]:
    """The day's bounds (UTC) and its sending hours left: from the end of quiet hours (or
    the configured sending window's start; or now, today) to their start (its end)."""
    tz = zone(tz_name)
    start = datetime.combine(day, time(0), tz)
    end = start + timedelta(days=1)
    quiet_start, quiet_end = quiet
    opens = datetime.combine(day, quiet_end, tz) if quiet_start != quiet_end else start
    closes = datetime.combine(day, quiet_start, tz) if quiet_start != quiet_end else end
    if sending is not None:
        opens, closes = (datetime.combine(day, at, tz) for at in sending)
    if closes <= opens:  # quiet hours in the day's middle: not a shape we configure
        closes = end
    opens = max(opens, now.astimezone(tz))
    hours = max((closes - opens).total_seconds() / 3600, 0.0)
    return start, end, hours


async def capacity(app: App, day: date) -> list[ChannelLoad]:
    """The load of each channel on ``day``."""
    settings = app.settings
    reminders = settings.scheduler
    now = app.clock.now()
    quiet = (reminders.quiet_hours_start, reminders.quiet_hours_end)
    window = reminders.sending_window
    start, end, hours = _window(day, now, quiet, settings.general.timezone, window)
    is_today = start <= now < end
    async with app.sessions() as session:
        await session.connection(execution_options=READ_ONLY)
        lower = Outbox.next_attempt_at >= start
        rows = await session.execute(
            select(Outbox.channel, Outbox.region, func.count())
            .where(
                Outbox.status == OutboxStatus.PENDING,
                Outbox.next_attempt_at < end,
                *(() if is_today else (lower,)),
            )
            .group_by(Outbox.channel, Outbox.region)
        )
        routing = Routing(settings.twilio)

        def sender(channel: Channel, region: str | None) -> tuple[Channel, str]:
            if channel not in SENDERS:
                return channel, DEFAULT
            return channel, routing.for_region(channel, region).name

        queued: dict[tuple[Channel, str], int] = {}
        for channel, region, count in rows:
            key = sender(Channel(channel), region)
            queued[key] = queued.get(key, 0) + count
        planned: dict[tuple[Channel, str], int] = {}
        if end > now:
            batches = await planned_reminders(
                session,
                now=now,  # as the sweeps will run from now on: each batch on its own day
                until=end + timedelta(days=max(reminders.reminder_offsets_days, default=0) + 1),
                **reminders.reminder_timing,
            )
            for channel, send_at, region, count in batches:
                if start <= send_at < end:
                    key = sender(channel, region)
                    planned[key] = planned.get(key, 0) + count
    rates = channel_rates(app)
    loads = []
    for channel in (Channel.WHATSAPP, Channel.SMS, Channel.TELEGRAM):
        names = [DEFAULT]
        if channel in SENDERS:  # then each regional sender that sends on the channel
            names += [name for name, route in routing.routes.items()
                      if name != DEFAULT and route.sends(channel)]
        for name in names:
            key = (channel, name)
            if name == DEFAULT and key not in queued and key not in planned and not (
                _configured(app, channel)
            ):
                continue
            if name == DEFAULT:
                shown, rate = _sender(app, channel), rates.get(channel, 0.0)
            else:
                route = routing.routes[name]
                shown, rate = route.shown(channel), route.messages_per_second
            loads.append(ChannelLoad(channel, shown, queued.get(key, 0), planned.get(key, 0),
                                     rate, hours, name))
    return loads


def _configured(app: App, channel: Channel) -> bool:
    if channel is Channel.TELEGRAM:
        return app.settings.telegram.configured
    return app.settings.twilio.configured


def _sender(app: App, channel: Channel) -> str:
    if channel is Channel.TELEGRAM:
        return "bot" if app.settings.telegram.configured else "-"
    return str(getattr(app.settings.twilio, SENDERS[channel], None) or "-")


def print_capacity(out: Console, t: Translator, day: date, loads: list[ChannelLoad]) -> bool:
    """The table; True when every channel finishes inside the window."""
    if not loads:
        out.print(t("cli.capacity.nothing", date=day.isoformat()), markup=False)
        return True
    table = Table(
        t("cli.col.channel"), t("cli.col.sender"), t("cli.col.queued"), t("cli.col.planned"),
        t("cli.col.rate"), t("cli.col.hours_needed"), t("cli.col.window"), t("cli.col.fits"),
        title=t("cli.capacity.title", date=day.isoformat()),
    )
    for load in loads:
        table.add_row(
            load.label, load.sender, str(load.queued), str(load.planned),
            f"{load.rate:g}/s", f"{load.hours:.2f}", f"{load.window_hours:.1f}",
            t("cli.capacity.yes") if load.fits else t("cli.capacity.no"),
        )
    out.print(table)
    short = [load for load in loads if not load.fits]
    for load in short:
        out.print(t("cli.capacity.short", channel=load.label, count=load.total,
                    hours=f"{load.hours:.1f}", window=f"{load.window_hours:.1f}"), markup=False)
    return not short


def doctor_capacity(t: Translator, loads: list[ChannelLoad]) -> tuple[bool, str]:
    """For `pendamping doctor`: (fits, detail) for today."""
    short = [load for load in loads if not load.fits]
    if short:
        return False, "; ".join(
            t("cli.capacity.short", channel=load.label, count=load.total,
              hours=f"{load.hours:.1f}", window=f"{load.window_hours:.1f}")
            for load in short
        )
    due = sum(load.total for load in loads)
    return True, t("cli.doctor.capacity_ok", count=due)
