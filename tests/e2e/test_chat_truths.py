"""What the chat tells is true: a staff member's "berhenti" is a cancel, not an opt-out of
their alerts; "Koordinator akan diberi tahu" only when a coordinator can be reached; an option
is chosen by a part of its label only it has; a name that only looks like one is asked about."""

from __future__ import annotations

from sqlalchemy import delete, select

from handlers.i18n import Translator
from models.messaging.tables import Outbox
from models.rules.clock import FixedClock
from models.tables import CaseNote, ChannelIdentity
from tests.world import NOW, Chat, build_world, make_engine

t = Translator()


async def test_berhenti_from_a_staff_member_mid_flow_cancels_and_opts_nothing_out(
    sessions,
) -> None:
    await build_world(sessions)
    clock = FixedClock(NOW)
    ani = Chat(make_engine(sessions, clock), clock, "console:ani")
    await ani.send("/hadir")
    await ani.send("berhenti")
    assert ani.text == t("cancel.done")
    assert ani.last[-1].options  # back at the menu
    async with sessions() as session:
        identity = await session.scalar(
            select(ChannelIdentity).where(ChannelIdentity.address == "console:ani")
        )
    assert identity.opted_out_at is None  # nudges and urgent alerts still reach her
    await ani.send("STOP")
    assert ani.text == t("cancel.nothing")


async def _urgent_case(sessions, clock) -> tuple[str, int]:
    ani = Chat(make_engine(sessions, clock), clock, "console:ani")
    await ani.send("/kasus Siti Aminah")
    await ani.send(t("case.category.perlindungan_anak"))  # always urgent
    await ani.send("Anak dipukul tetangga, perlu didampingi")
    await ani.send(t("case.option_no_follow_up"))
    async with sessions() as session:
        case_id = await session.scalar(select(CaseNote.id))
    return ani.text, case_id


def _saved(case_id: int) -> dict[str, object]:
    """The values of the saved-case message for Siti's child-protection case."""
    return {
        "id": case_id,
        "name": "Siti Aminah",
        "category": t("case.category.perlindungan_anak"),
        "follow_up": t("case.no_follow_up"),
    }


async def test_an_urgent_case_says_a_coordinator_is_told_only_when_one_can_be(sessions) -> None:
    world = await build_world(sessions)
    async with sessions.begin() as session:  # Dewi, the coordinator, has no chat linked
        await session.execute(delete(ChannelIdentity).where(ChannelIdentity.staff_id == world.dewi))
    text, case_id = await _urgent_case(sessions, FixedClock(NOW))
    values = _saved(case_id)
    unreachable = t("case.saved_urgent_unreachable", **values)
    assert text == t("case.always_urgent_note") + "\n" + unreachable


async def test_an_urgent_case_with_a_linked_coordinator_says_she_is_told(sessions) -> None:
    await build_world(sessions)
    text, case_id = await _urgent_case(sessions, FixedClock(NOW))
    values = _saved(case_id)
    assert text == t("case.always_urgent_note") + "\n" + t("case.saved_urgent", **values)


async def test_an_option_is_chosen_by_a_part_of_its_label_that_only_it_has(sessions) -> None:
    await build_world(sessions)
    clock = FixedClock(NOW)
    ani = Chat(make_engine(sessions, clock), clock, "console:ani")
    await ani.send("/jadwal")
    assert t("schedule.pick_group") in ani.text
    await ani.send("kelompok")  # both of her kelompok are "Kelompok ...": not one
    assert ani.text.startswith(t("attendance.pick_group_invalid"))
    await ani.send("mawar")  # "Kelompok Mawar"
    assert ani.text.startswith("Kelompok Mawar")
    await ani.send("/kasus Siti Aminah")
    await ani.send("kks")  # "KKS bermasalah"
    assert ani.text == t("case.ask_description")


async def test_a_name_that_only_looks_like_a_familys_is_asked_about_before_a_case(
    sessions,
) -> None:
    await build_world(sessions)
    clock = FixedClock(NOW)
    ani = Chat(make_engine(sessions, clock), clock, "console:ani")
    await ani.send("/kasus Iis Dahlai")  # Iis Dahlia of Kelompok Mawar, by likeness
    assert ani.text == t("kpm.pick_one", query="Iis Dahlai", name="Iis Dahlia")
    await ani.send("Tuti Alawiyah")  # another name typed instead
    assert ani.text == t("case.ask_category", name="Tuti Alawiyah")
    async with sessions() as session:
        assert await session.scalar(select(CaseNote.id)) is None  # nothing opened yet


async def test_an_urgent_alert_names_the_family_and_its_button_opens_the_case(sessions) -> None:
    await build_world(sessions)
    clock = FixedClock(NOW)
    _, case_id = await _urgent_case(sessions, clock)
    async with sessions() as session:
        alerts = list(
            await session.scalars(
                select(Outbox).where(Outbox.kind == "alert", Outbox.address == "console:dewi")
            )
        )
    (alert,) = alerts
    assert alert.payload["values"]["kpm"] == "Siti Aminah"
    assert alert.payload["values"]["kelompok"] == "Kelompok Melati"
    assert alert.payload["options"] == [{"value": f"case:{case_id}", "label": t("case.open_alert")}]

    dewi = Chat(make_engine(sessions, clock), clock, "console:dewi")
    await dewi.send(choice=f"case:{case_id}")  # the alert's button
    assert dewi.text.startswith(f"Kasus #{case_id}: {t('case.category.perlindungan_anak')}")
    assert "KPM: Siti Aminah · Kelompok Melati" in dewi.text
    assert "Anak dipukul tetangga, perlu didampingi" in dewi.text
    assert t("case_view.no_updates") in dewi.text

    budi = Chat(make_engine(sessions, clock), clock, "console:budi")
    await budi.send(f"/lihat_kasus {case_id}")  # not his family
    assert budi.text == t("access.not_yours")
    await budi.send("/lihat_kasus dua belas")
    assert budi.text.startswith(t("case_view.number_invalid"))
