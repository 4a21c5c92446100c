"""Staff who change, in chat: a coordinator hands a pendamping's kelompok to another
pendamping of her region, and may end the first one's access with it; a pendamping may not."""

from __future__ import annotations

from sqlalchemy import select

from handlers.i18n import Translator
from models.messaging.tables import Outbox
from models.rules.clock import FixedClock
from models.tables import AuditLog, Kelompok, Staff
from tests.world import NOW, Chat, build_world, make_engine

t = Translator()


async def test_a_coordinator_hands_kelompok_over_and_ends_the_leavers_access(sessions) -> None:
    world = await build_world(sessions)
    clock = FixedClock(NOW)
    dewi = Chat(make_engine(sessions, clock), clock, "console:dewi")
    await dewi.send("/serahkan")
    assert dewi.text == t("handover.ask_source")
    labels = [o.label for o in dewi.last[-1].options]
    assert labels == [
        t("handover.staff_label", name="Ani Suryani", count=2),
        t("handover.staff_label", name="Budi Santoso", count=1),
    ]
    await dewi.send("budi")
    assert dewi.text == t("handover.ask_target", name="Budi Santoso")
    assert [o.label for o in dewi.last[-1].options] == ["Ani Suryani"]
    await dewi.send("1")
    assert dewi.text == t(
        "handover.confirm", source="Budi Santoso", target="Ani Suryani", count=1
    )
    await dewi.send("entah")
    assert dewi.text.startswith(t("handover.confirm_invalid"))
    await dewi.send(choice=dewi.option(t("handover.option_end", name="Budi Santoso")))
    assert dewi.text == t(
        "handover.done", count=1, kelompok="Kelompok Kenanga", target="Ani Suryani", cases=0
    ) + "\n" + t("handover.ended", name="Budi Santoso")

    async with sessions() as session:
        kenanga = await session.get(Kelompok, world.kenanga)
        budi = await session.get(Staff, world.budi)
        audits = list(
            await session.scalars(select(AuditLog).where(AuditLog.entity == "staff"))
        )
        told = list(await session.scalars(select(Outbox).where(Outbox.kind == "alert")))
    assert kenanga.pendamping_id == world.ani and not budi.active
    assert {(a.action, a.actor, a.actor_staff_id) for a in audits} == {
        ("kelompok.reassign", "staff", world.dewi),
        ("staff.deactivate", "staff", world.dewi),
    }
    assert [(m.address, m.payload["key"]) for m in told] == [("console:ani", "staff.received")]

    budi_chat = Chat(make_engine(sessions, clock), clock, "console:budi")
    await budi_chat.send("/hadir")
    assert budi_chat.text == t("access.ended")


async def test_a_pendamping_cannot_hand_kelompok_over_and_cancel_changes_nothing(
    sessions,
) -> None:
    world = await build_world(sessions)
    clock = FixedClock(NOW)
    ani = Chat(make_engine(sessions, clock), clock, "console:ani")
    await ani.send("/serahkan")
    assert ani.text == t("access.flow_not_for_role")
    dewi = Chat(make_engine(sessions, clock), clock, "console:dewi")
    await dewi.send("/serahkan")
    await dewi.send("ani")
    await dewi.send("budi")
    await dewi.send(choice=dewi.option(t("handover.option_cancel")))
    assert dewi.text == t("handover.cancelled")
    async with sessions() as session:
        owners = set(await session.scalars(select(Kelompok.pendamping_id)))
    assert owners == {world.ani, world.budi}
