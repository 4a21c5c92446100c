"""The demo world as planned before it is written: each kelompok with its members, their names,
phones, komponen and what the demo gives them (a case, a graduation)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time
from typing import Any

from models.enums import Facilitator, MeetingStatus


@dataclass
class PlannedMember:
    row: dict[str, Any]
    komponen: list[tuple[str, date]]
    presence: float
    special: str = ""
    id: int = 0


@dataclass
class PlannedGroup:
    name: str
    desa_id: int
    desa_name: str
    pendamping_id: int
    nik_prefix: str
    weekday: int
    week: int  # 1-4, -1 = last
    at: time
    place: str
    first_session: int
    members: list[PlannedMember] = field(default_factory=list)
    id: int = 0


def give_facilitators(meetings: list[dict[str, Any]], today: date) -> None:
    """Every meeting row's facilitator: the pendamping, but for a few the ketua kelompok
    held alone (the coordinator's digest warns of them): the latest meeting of the first
    and of the last kelompok that met this month, and an earlier one of the first."""
    held: dict[int, list[dict[str, Any]]] = {}  # per kelompok, in date order
    for row in meetings:
        row["facilitator"] = Facilitator.PENDAMPING
        if row["status"] is MeetingStatus.HELD:
            held.setdefault(row["kelompok_id"], []).append(row)
    first_day = today.replace(day=1)
    this_month = [rows for rows in held.values() if rows[-1]["meeting_date"] >= first_day]
    if not this_month:
        return
    for rows in (this_month[0], this_month[-1]):
        rows[-1]["facilitator"] = Facilitator.KETUA
    if len(this_month[0]) > 3:
        this_month[0][-4]["facilitator"] = Facilitator.KETUA
