"""The P2K2 curriculum's defaults and the session suggested after a group's last."""

from __future__ import annotations

from bot.bootstrap import p2k2_curriculum
from bot.config import Settings
from models.rules.p2k2 import P2k2Session, default_modules, default_sessions, session_after


def test_the_defaults_number_sessions_across_the_modules() -> None:
    sessions = default_sessions()
    assert [s.number for s in sessions] == list(range(1, 15))
    assert [(s.number, s.title) for s in sessions if s.modul == 3] == [
        (8, "Pentingnya Gizi dan Layanan Kesehatan Ibu Hamil"),
        (9, "Pentingnya Gizi Ibu Menyusui dan Balita"),
        (10, "Kesakitan pada Anak dan Kesehatan Lingkungan"),
    ]
    assert [m.title for m in default_modules()][2] == "Kesehatan dan Gizi"


def test_the_configured_defaults_are_the_same_curriculum() -> None:
    assert p2k2_curriculum(Settings()) == (default_modules(), default_sessions())


def test_the_session_after_the_last_wraps_around_and_starts_at_the_first() -> None:
    sessions = default_sessions()
    assert session_after(sessions, 7) == 8
    assert session_after(sessions, 14) == 1
    assert session_after(sessions, None) == 1
    assert session_after(sessions, 99) == 1  # a session no longer configured
    short = (P2k2Session(1, 1, "A"), P2k2Session(2, 2, "B"))
    assert session_after(short, 2) == 1
    assert session_after((), 3) is None
