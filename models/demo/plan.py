"""The demo world as planned before it is written: each kelompok with its members, their names,
phones, komponen and what the demo gives them (a case, a graduation)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time
from typing import Any


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
