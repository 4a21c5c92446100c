"""Who held the meeting recorded in /hadir: the pendamping (the default), or the ketua
kelompok alone, without the pendamping (an obligation the pendamping missed, counted in
the coordinator's digest).

Said on the fast path, in the typed attendance line ("semua hadir kecuali 3, oleh ketua";
see :mod:`handlers.parsing.facilitator`), or with the option of the confirmation step,
which switches between the two. A meeting recorded before keeps what was saved until
changed.
"""

from __future__ import annotations

from handlers.flow import Ctx
from handlers.messages import Option, Reply
from handlers.parsing.facilitator import split_facilitator
from models.enums import Facilitator

KEY = "facilitator"  # in the flow's data: the Facilitator's value
_SWITCH = {"by_ketua": Facilitator.KETUA, "by_pendamping": Facilitator.PENDAMPING}


def facilitator_of(ctx: Ctx) -> Facilitator:
    return Facilitator(ctx.data.get(KEY, Facilitator.PENDAMPING.value))


def take_from_line(ctx: Ctx) -> str:
    """The typed line without the words saying who held the meeting, which are kept in
    the flow's data; when the line said nothing else, a note says what was kept."""
    line, said = split_facilitator(ctx.text)
    if said is not None:
        ctx.data[KEY] = said.value
        if not line:
            ctx.notes.append(Reply(ctx.t(f"attendance.facilitator_set_{said.value}")))
    return line


def summary_line(ctx: Ctx) -> str:
    return ctx.t(f"attendance.facilitator_{facilitator_of(ctx).value}")


def switch_option(ctx: Ctx) -> Option:
    """The confirmation step's option that switches to the other facilitator."""
    if facilitator_of(ctx) is Facilitator.KETUA:
        return Option("by_pendamping", ctx.t("attendance.option_by_pendamping"))
    return Option("by_ketua", ctx.t("attendance.option_by_ketua"))


def switched(ctx: Ctx) -> bool:
    """Whether the answer at the confirmation step said who held the meeting (the option,
    or the words typed: "oleh ketua", "tanpa pendamping"); if so it is kept."""
    said = _SWITCH.get(ctx.choice or "")
    if said is None and ctx.choice is None and ctx.text:
        line, said = split_facilitator(ctx.text)
        said = said if not line else None
    if said is None:
        return False
    ctx.data[KEY] = said.value
    return True
