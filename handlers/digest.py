"""/ringkasan: the weekly digest on demand, for the staff member's own scope.

A coordinator gets their region, a supervisor their pendamping, a pendamping their own
groups: the same text, chart and workbook the weekly digest sends, with figures up to
today.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.flow import Ctx, Flow, StepResult
from handlers.messages import Document, IncomingMessage, Reply
from reporting.digest import build_digest
from reporting.export_files import XLSX_CONTENT_TYPE


async def entry(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """Build the digest and send its three parts, after the step's transaction: a digest
    reads a whole region, which must not hold the write lock meanwhile."""
    staff, now, options, t = ctx.staff, ctx.now, ctx.settings.digest, ctx.t

    async def build(session: AsyncSession) -> tuple[Reply, ...]:
        digest = await build_digest(
            session, staff, as_of=now, options=options, translate=t, on_demand=True
        )
        if not digest.figures.pendamping:
            return (Reply(digest.text),)
        return (
            Reply(digest.text),
            Reply(
                t("digest.chart_caption"),
                document=Document(digest.chart_filename, digest.chart_png, "image/png"),
            ),
            Reply(
                t("digest.workbook_caption"),
                document=Document(digest.workbook_filename, digest.workbook, XLSX_CONTENT_TYPE),
            ),
        )

    return StepResult(replies=(Reply("", later=build),), next_step=None)


FLOW = Flow(
    name="digest",
    entry=entry,
    steps={},
    roles=frozenset({"pendamping", "supervisor", "koordinator", "admin"}),
)
