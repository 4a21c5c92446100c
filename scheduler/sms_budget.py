"""The monthly SMS budget, as the dispatcher keeps it: the segments sent this month (read
from the outbox at the start of a round that has SMS the business starts, so that what
other processes sent counts too), each such SMS reserving a segment before it is sent and
settling what it was billed after. Once the month's segments reach the budget, the SMS
the business starts (reminders, change notices, nudges) are refused; replies to someone
who wrote still go (and count).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.messaging.sms_usage import SMS_BUDGET_SPENT, month_bounds, sms_sent

log = logging.getLogger(__name__)


class SmsBudget:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], segments: int, zone: str | None
    ) -> None:
        self.limit = segments
        self._sessions = sessions
        self._zone = zone
        self._month: datetime | None = None
        self._used = 0
        self._warned: datetime | None = None  # the month the one warning line was for

    async def refresh(self, now: datetime) -> None:
        """Read the segments sent this month (by every process)."""
        start, end = month_bounds(now, self._zone)
        async with self._sessions() as session:
            self._used = (await sms_sent(session, start, end)).segments
        self._month = start

    def take(self) -> bool:
        """Reserve a segment for an SMS the business starts; False when the month's
        budget is spent (said once per month in the log)."""
        if self._used < self.limit:
            self._used += 1
            return True
        if self._warned != self._month:
            self._warned = self._month
            log.warning(
                "%s: %d of %d segments used; SMS reminders and other messages the "
                "business starts are failed until the month ends",
                SMS_BUDGET_SPENT,
                self._used,
                self.limit,
            )
        return False

    def settle(self, segments: int | None, *, reserved: bool) -> None:
        """An SMS went (``segments`` billed) or did not (None); ``reserved``: it had
        taken a segment with :meth:`take`."""
        self._used += (segments or 0) - int(reserved)
