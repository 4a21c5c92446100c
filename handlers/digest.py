"""/ringkasan: the weekly digest on demand, for the staff member's own scope.

A coordinator gets their region, a supervisor their pendamping, a pendamping their own
groups: the same text, chart and workbook the weekly digest sends, with figures up to
today.
"""

from __future__ import annotations

from handlers.flow import Ctx, Flow, StepResult
from handlers.messages import Document, IncomingMessage, Reply
from reporting.digest import build_digest

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def entry(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """Build the digest now and send its three parts."""
    digest = await build_digest(
        ctx.session, ctx.staff, as_of=ctx.now, options=ctx.settings.digest, translate=ctx.t
    )
    if not digest.figures.pendamping:
        return ctx.done(digest.text)
    return StepResult(
        replies=(
            Reply(digest.text),
            Reply(
                ctx.t("digest.chart_caption"),
                document=Document(digest.chart_filename, digest.chart_png, "image/png"),
            ),
            Reply(
                ctx.t("digest.workbook_caption"),
                document=Document(digest.workbook_filename, digest.workbook, XLSX),
            ),
        ),
        next_step=None,
    )


FLOW = Flow(
    name="digest",
    entry=entry,
    steps={},
    roles=frozenset({"pendamping", "supervisor", "koordinator", "admin"}),
)
