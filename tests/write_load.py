"""A process that writes as the bot does, until it is stopped: each transaction adds a held
meeting, an attendance mark for every KPM given and an outbox message, through the
application's own engine and session (models.db). After each commit it prints how many it
has committed, so that a test waits on its output rather than on a clock.

    python -m tests.write_load DATABASE_URL KELOMPOK_ID KPM_ID [KPM_ID ...]
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, date, datetime, timedelta

from bot import event_loop
from models.db import create_engine, session_factory, transaction
from models.enums import AttendanceMark, Channel, MeetingStatus
from models.messaging.tables import Outbox
from models.tables import Attendance, Meeting

FIRST_DAY = date(2020, 1, 1)
PAUSE_S = 0.005
"""Between transactions: a steady load that leaves the machine to the command measured."""


async def write(url: str, kelompok_id: int, kpm_ids: list[int]) -> None:
    engine = create_engine(url)
    sessions = session_factory(engine)
    number = 0
    try:
        while True:
            day = FIRST_DAY + timedelta(days=number)
            async with transaction(sessions) as session:
                meeting = Meeting(
                    kelompok_id=kelompok_id,
                    meeting_date=day,
                    starts_at=datetime(day.year, day.month, day.day, 2, tzinfo=UTC),
                    status=MeetingStatus.HELD,
                )
                session.add(meeting)
                await session.flush()
                session.add_all(
                    Attendance(meeting_id=meeting.id, kpm_id=kpm_id, mark=AttendanceMark.HADIR)
                    for kpm_id in kpm_ids
                )
                session.add(
                    Outbox(
                        channel=Channel.WHATSAPP,
                        address="whatsapp:+6281200000000",
                        kind="load",
                        dedupe_key=f"load:{number}",
                        payload={"key": "load", "number": number},
                    )
                )
            number += 1
            print(number, flush=True)
            await asyncio.sleep(PAUSE_S)
    finally:
        await engine.dispose()


def main() -> None:
    url, kelompok, *kpm = sys.argv[1:]
    event_loop.run(write(url, int(kelompok), [int(kpm_id) for kpm_id in kpm]))


if __name__ == "__main__":
    main()
