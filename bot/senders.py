"""Which Twilio sender a message goes from: the regional senders of ``[[twilio.senders]]``
and the top-level ``[twilio]`` one (the default, for every region no regional sender
covers; all there is without ``senders``).

A message the business starts (a reminder, a nudge, an alert) goes from the sender of
its recipient's region (``outbox.region``, a Kemendagri code: the longest code of a sender
that the region's code starts with wins, "33.74" before "33"). A reply, and any WhatsApp
message inside the 24-hour window an inbound message opened, goes from the number the
person last wrote to when it is one of ours: WhatsApp's window is per business number and
user, so from another number it would be outside it.

Each sender has its own rate, and its own pace key (``whatsapp:jateng``) that the
dispatcher paces its messages by, in every scheduler process; the default sender keeps
the key it had before regional senders (``whatsapp:+62...``, ``whatsapp:MG...``).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import TwilioSettings
from models.enums import Channel

DEFAULT = "default"


@dataclass(frozen=True)
class Route:
    """One sender: its numbers (E.164) or Messaging Service, and its rate."""

    name: str
    whatsapp_sender: str | None
    sms_sender: str | None
    messaging_service_sid: str | None
    messages_per_second: float

    def sends(self, channel: Channel) -> bool:
        """Whether this sender can send on ``channel`` (WhatsApp or SMS)."""
        number = self.whatsapp_sender if channel is Channel.WHATSAPP else self.sms_sender
        return bool(number or self.messaging_service_sid)

    def shown(self, channel: Channel) -> str:
        """The number or service, for `pendamping capacity`; "-" when none is set."""
        number = self.whatsapp_sender if channel is Channel.WHATSAPP else self.sms_sender
        return self.messaging_service_sid or number or "-"


class Routing:
    """The senders of a deployment and how a message finds its own."""

    def __init__(self, settings: TwilioSettings) -> None:
        self.default = Route(
            DEFAULT,
            settings.whatsapp_sender,
            settings.sms_sender,
            settings.messaging_service_sid,
            float(settings.messages_per_second),
        )
        self.routes: dict[str, Route] = {DEFAULT: self.default}
        self._by_code: dict[str, Route] = {}
        for sender in settings.senders:
            route = Route(
                sender.name,
                sender.whatsapp_sender,
                sender.sms_sender,
                sender.messaging_service_sid,
                float(sender.messages_per_second),
            )
            self.routes[sender.name] = route
            self._by_code.update(dict.fromkeys(sender.regions, route))
        self._numbers = {
            (channel, number): route
            for route in self.routes.values()
            for channel, number in (
                (Channel.WHATSAPP, route.whatsapp_sender),
                (Channel.SMS, route.sms_sender),
            )
            if number
        }

    @property
    def regional(self) -> bool:
        """Whether there are regional senders (else every message goes from the default)."""
        return len(self.routes) > 1

    def for_region(self, channel: Channel, code: str | None) -> Route:
        """The sender of a region: the longest configured code ``code`` starts with (a
        kabupaten's before its province's), and which sends on ``channel``; else the
        default."""
        while code:
            route = self._by_code.get(code)
            if route is not None and route.sends(channel):
                return route
            code = code.rpartition(".")[0]
        return self.default

    def for_number(self, channel: Channel, number: str | None) -> Route | None:
        """The sender whose number ``number`` is (``whatsapp:`` prefix or not)."""
        if not number:
            return None
        return self._numbers.get((channel, number.removeprefix("whatsapp:")))

    def choose(
        self,
        channel: Channel,
        region: str | None,
        *,
        written_to: str | None,
        in_window: bool,
        reply: bool,
    ) -> Route:
        """A message's sender: the number the person wrote to for a reply (and a WhatsApp
        message inside their 24-hour window), when it is one of ours; else their region's."""
        if reply or (channel is Channel.WHATSAPP and in_window):
            route = self.for_number(channel, written_to)
            if route is not None:
                return route
        return self.for_region(channel, region)

    def pace_key(self, channel: Channel, route: Route) -> str:
        """The name a sender's pace is shared under (``send_pace.sender``)."""
        if route.name != DEFAULT:
            return f"{channel.value}:{route.name}"
        number = route.whatsapp_sender if channel is Channel.WHATSAPP else route.sms_sender
        return f"{channel.value}:{route.messaging_service_sid or number or 'twilio'}"
