"""/web (or "Buka dasbor" in the menu): a one-time link into the web console.

The link is the console's address and a random token, valid a few minutes and used once;
only its hash is stored. It is sent only to the staff member's own private chat.
"""

from __future__ import annotations

from handlers.flow import Ctx, Flow, StepResult
from handlers.messages import IncomingMessage, Reply
from models.web_access import TooManyLinks, create_login_link


async def entry(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """Make a link for the sender and send it."""
    web = ctx.settings.web
    if web is None:
        return StepResult(replies=(Reply(ctx.t("web.link_not_configured")),), next_step=None)
    try:
        token = await create_login_link(
            ctx.session,
            ctx.staff,
            now=ctx.now,
            actor=f"staff:{ctx.staff.id}",
            valid_minutes=web.link_minutes,
            per_hour=web.links_per_hour,
        )
    except TooManyLinks:
        text = ctx.t("web.link_too_many", count=web.links_per_hour)
        return StepResult(replies=(Reply(text),), next_step=None)
    url = f"{web.base_url}/masuk/{token}"
    return StepResult(
        replies=(Reply(ctx.t("web.link_sent", minutes=web.link_minutes, url=url)),),
        next_step=None,
    )


FLOW = Flow(
    name="web_login",
    entry=entry,
    steps={},
    roles=frozenset({"pendamping", "supervisor", "koordinator", "admin"}),
)
