"""How a meeting's members are reached, in words: one line of counts per way, then by name
those reached only through the ketua and those not reached at all."""

from __future__ import annotations

from handlers.i18n import Translator
from models.reach_view import ORDER, MeetingReach
from models.rules.text import shorten

NAMES_SHOWN = 300  # characters of names a line lists (a whole kelompok fits)


def reach_lines(t: Translator, reached: MeetingReach) -> str:
    """``Jangkauan: WhatsApp 18, SMS 2, lewat ketua 3`` and who is behind the last two."""
    ways = ", ".join(
        t("reach.way", way=t(f"reach.{how}"), count=reached.counts[how])
        for how in ORDER
        if reached.counts.get(how)
    )
    lines = [t("reach.line", ways=ways)]
    if reached.via_ketua:
        lines.append(t("reach.via_ketua", names=shorten(", ".join(reached.via_ketua), NAMES_SHOWN)))
    if reached.not_reached:
        lines.append(
            t("reach.not_reached", names=shorten(", ".join(reached.not_reached), NAMES_SHOWN))
        )
    return "\n".join(lines)
