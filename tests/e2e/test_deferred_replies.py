"""Replies deferred past the step's transaction (digests, exports): run after the commit,
in order, in a read-only session; a failure there is a polite error, never a traceback."""

from __future__ import annotations

from sqlalchemy import func, select

from handlers.engine import Engine
from handlers.flow import Ctx, Flow, StepResult
from handlers.i18n import Translator
from handlers.messages import IncomingMessage, Reply
from handlers.settings import EngineSettings
from models.audit import audit
from models.rules.clock import FixedClock
from models.tables import AuditLog
from tests.world import NOW, Chat, build_world, default_catalog


def _engine(sessions, flow: Flow) -> tuple[Engine, FixedClock]:  # noqa: ANN001
    clock = FixedClock(NOW)
    settings = EngineSettings(catalog=default_catalog())
    return Engine(sessions, settings, clock, [flow], {"coba": flow.name}), clock


async def test_deferred_work_sees_the_committed_step_and_replaces_its_placeholder(
    sessions,
) -> None:
    await build_world(sessions)
    seen: list[int] = []

    async def entry(message: IncomingMessage, ctx: Ctx) -> StepResult:
        await audit(
            ctx.session,
            actor="staff",
            actor_staff_id=ctx.staff.id,
            action="test.step",
            entity="test",
            entity_id=None,
        )

        async def later(session) -> tuple[Reply, ...]:  # noqa: ANN001
            count = await session.scalar(
                select(func.count()).select_from(AuditLog).where(AuditLog.action == "test.step")
            )
            seen.append(count)
            return (Reply(f"dibaca {count}"), Reply("kedua"))

        return StepResult(replies=(Reply("pertama"), Reply("", later=later)), next_step=None)

    engine, clock = _engine(sessions, Flow(name="coba", entry=entry, steps={}))
    replies = await Chat(engine, clock, "console:ani").send("/coba")

    assert [r.text for r in replies] == ["pertama", "dibaca 1", "kedua"]
    assert all(r.later is None for r in replies)
    assert seen == [1]  # the step's write was committed before the deferred read


async def test_a_failure_in_deferred_work_is_a_polite_error(sessions) -> None:
    await build_world(sessions)

    async def entry(message: IncomingMessage, ctx: Ctx) -> StepResult:
        async def later(session) -> tuple[Reply, ...]:  # noqa: ANN001
            raise RuntimeError("disk full")

        return StepResult(replies=(Reply("", later=later),), next_step=None)

    engine, clock = _engine(sessions, Flow(name="coba", entry=entry, steps={}))
    replies = await Chat(engine, clock, "console:ani").send("/coba")

    assert [r.text for r in replies] == [Translator("id")("error.generic")]
    assert engine.failures == 1
