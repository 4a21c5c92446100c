"""The demo's pesan KPM: a few families' own messages to their pendamping, some open (one
of them past the nudge time), one answered, so that /pesan has something to show."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.demo.plan import PlannedGroup
from models.enums import KpmMessageStatus, KpmStatus
from models.tables import KpmMessage

MESSAGES = (
    ("Bu, kartu KKS saya terblokir, tidak bisa ambil bantuan di ATM.", 2, None),
    ("Assalamualaikum bu, saldo tahap ini belum masuk ya?", 30, None),
    ("Anak saya sakit demam sudah 3 hari, bisa minta rujukan ke puskesmas?", 5, None),
    ("Bu, KK kami mau diperbarui karena ada anak baru lahir.", 50, "answered"),
)
"""(text, hours before now, closed how): each from a different pendamping's family."""


async def write_pesan(
    session: AsyncSession,
    groups: list[PlannedGroup],
    rng: random.Random,
    now: datetime,
) -> int:
    pendamping_ids = sorted({g.pendamping_id for g in groups})
    rows = []
    for number, (text, hours, closed) in enumerate(MESSAGES):
        owner = pendamping_ids[number % len(pendamping_ids)]
        pool = [
            m for g in groups if g.pendamping_id == owner for m in g.members
            if m.row["status"] is KpmStatus.AKTIF and m.row.get("phone")
        ]
        member = rng.choice(pool)
        received = now - timedelta(hours=hours)
        rows.append({
            "kpm_id": member.id,
            "address": f"whatsapp:{member.row['phone']}",
            "text": text,
            "media_count": 0,
            "received_at": received,
            "status": KpmMessageStatus.ANSWERED if closed else KpmMessageStatus.OPEN,
            "closed_at": received + timedelta(hours=3) if closed else None,
            "closed_by_staff_id": owner if closed else None,
        })
    await session.execute(insert(KpmMessage), rows)
    return len(rows)
