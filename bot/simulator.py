"""The web simulator's engine side: three phones on the demo data, on the real path.

The phones are console addresses linked, when the process starts with ``[web] simulator
= true``, to the demo's pendamping (Ani Suryani), the coordinator (Dewi Lestari) and a
KPM of Ani's kelompok (linked as if she had shared her contact). A line typed in a phone
is stored in the inbox like any arrival; the inbox workers run the engine, which queues
the replies in the outbox; a dispatcher of its own sends the outbox rows addressed to the
three phones, and only those, by marking them sent: the page reads each phone's
transcript back from the inbox and the outbox.

The KPM keeps her roster number and her preferred channel: her reminders are queued for
``whatsapp:+62…`` as for every family. When WhatsApp/SMS (Twilio) or Telegram is not
configured, as in the demo, the simulator's dispatcher also takes the messages to her
number on those channels and shows them in her phone; when they are configured, they go
to her real number as usual. Nothing else is sent or marked sent: the other families'
reminders wait in the outbox as they always do without a provider.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy import or_, select

from bot.bootstrap import App, configured_channels
from bot.jobs import (
    alerts_sweep,
    digests_sweep,
    ketua_sweep,
    nudges_sweep,
    planner_sweep,
    reminders_sweep,
)
from handlers.engine import Engine
from models.demo import names as demo_names
from models.enums import Channel, OutboxStatus
from models.kpm import link_kpm_by_phone
from models.messaging.outbox import Claimed, send_now
from models.messaging.sending import SendResult
from models.staff import find_staff, link_address
from models.tables import ChannelIdentity
from reporting.simulator_feed import PhoneOwner, family_to_simulate, phone_owners
from scheduler.dispatcher import Dispatcher

log = logging.getLogger(__name__)

PHONES = ("pendamping", "kpm", "koordinator")
ADDRESS = {phone: f"console:simulator-{phone}" for phone in PHONES}
"""Each phone's own console address (what is typed on it comes from there)."""
_NUMBER_CHANNELS = (Channel.WHATSAPP, Channel.SMS)


@dataclass(frozen=True)
class Cast:
    """Who is on each phone (absent: the demo data is not there), and the addresses whose
    messages each phone shows."""

    owners: dict[str, PhoneOwner]
    addresses: dict[str, tuple[str, ...]]

    @property
    def ready(self) -> bool:
        return all(phone in self.owners for phone in PHONES)

    @property
    def all_addresses(self) -> list[str]:
        return sorted({a for phone in PHONES for a in self.addresses.get(phone, ())})


def simulated_channels(app: App) -> list[Channel]:
    """The console, and the channels no provider is configured for (the family's number
    on them is shown in her phone)."""
    configured = configured_channels(app.settings)
    return [Channel.CONSOLE, *(c for c in (*_NUMBER_CHANNELS, Channel.TELEGRAM)
                               if c not in configured)]


async def read_cast(app: App) -> Cast:
    """The phones' owners as linked in the database, and each phone's addresses."""
    async with app.read_sessions() as session:
        found = await phone_owners(session, list(ADDRESS.values()))
    owners = {phone: found[ADDRESS[phone]] for phone in PHONES if ADDRESS[phone] in found}
    channels = simulated_channels(app)
    addresses: dict[str, tuple[str, ...]] = {phone: (ADDRESS[phone],) for phone in PHONES}
    family = owners.get("kpm")
    if family is not None and family.kpm_phone:
        addresses["kpm"] += tuple(
            f"{channel.value}:{family.kpm_phone}" for channel in _NUMBER_CHANNELS
            if channel in channels
        )
    return Cast(owners, addresses)


async def prepare_cast(app: App) -> Cast:
    """Link the three phones to the demo's people (once; nothing when the demo data is
    not there) and return the cast."""
    now = app.clock.now()
    async with app.sessions.begin() as session:
        linked = set(
            await session.scalars(
                select(ChannelIdentity.address).where(
                    ChannelIdentity.address.in_(list(ADDRESS.values())),
                    or_(ChannelIdentity.staff_id.is_not(None), ChannelIdentity.kpm_id.is_not(None)),
                )
            )
        )
        pendamping = None
        for phone, name in (("pendamping", demo_names.PENDAMPING[0].name),
                            ("koordinator", demo_names.COORDINATOR)):
            staff = [s for s in await find_staff(session, name) if s.active]
            if len(staff) != 1:
                continue
            if phone == "pendamping":
                pendamping = staff[0]
            if ADDRESS[phone] not in linked:
                await link_address(session, staff[0], ADDRESS[phone], now=now)
        if pendamping is not None and ADDRESS["kpm"] not in linked:
            family = await family_to_simulate(session, pendamping.id, now=now)
            if family is not None:
                await link_kpm_by_phone(session, ADDRESS["kpm"], family[1], now=now)
    cast = await read_cast(app)
    if not cast.ready:
        log.warning("simulator: the demo's people were not found (pendamping init --demo)")
    return cast


class FeedSender:
    """The simulator dispatcher's sender: a message to one of the phones is shown there
    (the page reads it back from the outbox), so it is marked sent, one attempt."""

    async def __call__(self, message: Claimed) -> SendResult:
        return SendResult(OutboxStatus.SENT, provider_id=f"simulator-{message.id}")


def simulator_dispatcher(app: App, cast: Cast) -> Dispatcher:
    sender = FeedSender()
    return Dispatcher(
        app.sessions,
        {channel: sender for channel in simulated_channels(app)},
        {},
        app.clock,
        max_attempts=1,
        addresses=cast.all_addresses,
    )


@asynccontextmanager
async def simulating(app: App, engine: Engine | None = None) -> AsyncIterator[None]:
    """While the block runs, the three phones are linked and what is sent to them is
    shown there (where the sweeps and the dispatcher run: `run`, or `scheduler`)."""
    if not app.settings.web.simulator:
        yield
        return
    cast = await prepare_cast(app)
    if not cast.ready:
        yield
        return
    dispatcher = simulator_dispatcher(app, cast)
    if engine is not None:
        engine.on_queued(dispatcher.notify)
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stop, idle=0.5), name="simulator")
    log.info("simulator: three phones at /simulator")
    try:
        yield
    finally:
        stop.set()
        dispatcher.notify()
        await task


RUN_NOW = (
    ("planner", planner_sweep),
    ("reminders", reminders_sweep),
    ("ketua", ketua_sweep),
    ("nudges", nudges_sweep),
    ("alerts", alerts_sweep),
    ("digests", digests_sweep),
)


async def run_now(app: App, cast: Cast) -> int:
    """Run the sweeps now, then make what is queued for the three phones due at once,
    even what is timed for later (a reminder for tomorrow afternoon); returns how many
    messages were brought forward. The simulator's dispatcher sends them within a second."""
    for name, sweep in RUN_NOW:
        try:
            await sweep(app)
        except Exception:  # one sweep failing must not hide the others' messages
            log.exception("simulator: sweep %s failed", name)
    async with app.sessions.begin() as session:
        return await send_now(session, cast.all_addresses, now=app.clock.now())
