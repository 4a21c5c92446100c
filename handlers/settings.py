"""What the engine and flows need from configuration, as plain values.

``bot.bootstrap`` builds this from the settings file, so ``handlers`` never imports ``bot``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import time

from models.rules.calendar import NATIONAL_CALENDAR, HolidayCalendar
from models.rules.case_categories import CaseRules
from models.rules.commitments import CommitmentRules
from models.rules.graduation import GraduationRules
from models.rules.komponen import KomponenCatalog
from models.rules.p2k2 import P2k2Modul, P2k2Session, default_modules, default_sessions
from reporting.digest import DigestOptions


@dataclass(frozen=True)
class WebLogin:
    base_url: str
    link_minutes: int = 10
    links_per_hour: int = 5


@dataclass(frozen=True)
class EngineSettings:
    catalog: KomponenCatalog
    commitments: CommitmentRules = field(default_factory=CommitmentRules)
    locale: str = "id"
    default_timezone: str = "Asia/Jakarta"
    conversation_timeout_minutes: int = 30
    page_size: int = 10
    modules: tuple[P2k2Modul, ...] = field(default_factory=default_modules)
    """The P2K2 modules and their sessions (``[[programme.p2k2.modules]]``)."""
    sessions: tuple[P2k2Session, ...] = field(default_factory=default_sessions)
    case_rules: CaseRules = field(default_factory=CaseRules)
    """The case categories, their keywords and the risk keywords
    (``[programme.case_categories]``): what /kasus offers and what a note suggests."""
    quiet_hours: tuple[time, time] = (time(21, 0), time(6, 0))
    holidays: HolidayCalendar = NATIONAL_CALENDAR
    """National holidays, cuti bersama and regional ones (``[programme.holidays]``): the
    planner's calendar, asked when a meeting is moved by hand."""
    graduation: GraduationRules = field(default_factory=GraduationRules)
    digest: DigestOptions = field(default_factory=DigestOptions)
    pesan_reason_minutes: int = 30
    """After a "2" without a reason, the next message within this time is the reason."""
    web: WebLogin | None = None
    """Where the web console is reached and how its login links are given (``/web``);
    None: the console is turned off."""
    read_media: Callable[[str], Awaitable[bytes | None]] | None = None
    """Reads a file we keep, by its storage key (``bot.media_store``): a KPM's voice note
    is sent on to the pendamping who opens the pesan. None: files are not sent on."""

    @property
    def case_categories(self) -> tuple[str, ...]:
        """The case categories' keys, in the order they are offered."""
        return self.case_rules.keys

    @property
    def always_urgent(self) -> frozenset[str]:
        return self.case_rules.always_urgent
