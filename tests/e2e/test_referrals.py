"""The sistem sumber in chat: /rujukan KATEGORI lists the contacts of the staff member's area
(kecamatan first, then kabupaten; another region's never), a saved or viewed case shows up
to three of its kind near the family, and a coordinator adds, changes and deactivates
contacts of their region with /kelola_rujukan."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from handlers.i18n import Translator
from models.cases import CASE_CATEGORIES
from models.referral_tables import ReferralContact
from models.referrals import ContactFields, add_contact, contact_in, editable_regions
from models.regions import RegionIndex
from models.rules.clock import FixedClock
from models.scope import OutOfScope
from models.tables import AuditLog, CaseNote, Region, Staff
from tests.world import NOW, Chat, build_world, make_engine

t = Translator()
WHEN = datetime(2026, 11, 1, tzinfo=UTC)

CONTACTS = (  # (region path below the province, name, kind, categories, phone, active)
    (("Kab. Sukamaju", "Kec. Sumber"), "Puskesmas Sumber", "puskesmas",
     ("kesehatan_rujukan",), "+6281200000101", True),
    (("Kab. Sukamaju", "Kec. Sumber"), "Bidan Desa Sukamaju", "puskesmas",
     ("kesehatan_rujukan",), None, True),
    (("Kab. Sukamaju", "Kec. Sumber"), "Puskesmas Lama", "puskesmas",
     ("kesehatan_rujukan",), "+6281200000100", False),
    (("Kab. Sukamaju",), "RSUD Sukamaju", "lainnya", ("kesehatan_rujukan",),
     "+62281641234", True),
    (("Kab. Sukamaju",), "UPTD PPA Sukamaju", "p2tp2a_uptd_ppa", ("kdrt", "perlindungan_anak"),
     "+6281200000108", True),
    (("Kab. Sukamaju", "Kec. Timur"), "Puskesmas Timur", "puskesmas", ("kesehatan_rujukan",),
     "+6281200000102", True),
    (("Kab. Lain", "Kec. Jauh"), "Puskesmas Jauh", "puskesmas", ("kesehatan_rujukan",),
     "+6281200000103", True),
)


async def world_with_contacts(sessions) -> Chat:
    await build_world(sessions)
    async with sessions.begin() as session:
        index = await RegionIndex(session).load()
        for path, name, kind, categories, phone, active in CONTACTS:
            region = await index.ensure_path(["Jawa Tengah", *path])
            fields = ContactFields(region, name, kind, categories, phone, active=active)
            await add_contact(session, fields, by=None, now=WHEN)
    clock = FixedClock(NOW)
    return Chat(make_engine(sessions, clock), clock, "console:ani")


def chat_as(chat: Chat, address: str) -> Chat:
    return Chat(chat.engine, chat.clock, address)


def listed(text: str) -> list[str]:
    """The names of the contacts a list shows, in order."""
    return [line[2:].split(" (")[0] for line in text.splitlines() if line.startswith("• ")]


KESEHATAN = t("case.category.kesehatan_rujukan")


async def test_a_pendamping_sees_her_kecamatan_first_then_the_kabupaten_and_nothing_else(
    sessions,
) -> None:
    ani = await world_with_contacts(sessions)
    await ani.send("/rujukan kesehatan")
    assert ani.text.startswith(t("referral.list_title", category=KESEHATAN, count=3))
    # Kec. Sumber's (by name), then the kabupaten's; not Kec. Timur's, not another
    # kabupaten's, not an inactive one
    assert listed(ani.text) == ["Bidan Desa Sukamaju", "Puskesmas Sumber", "RSUD Sukamaju"]
    line = t(
        "referral.line", name="Puskesmas Sumber", kind=t("referral.kind.puskesmas"),
        region="Kec. Sumber", phone="0812-0000-0101",
    )
    assert line in ani.text.splitlines()
    assert "Kab. Sukamaju): (0281) 641234" in ani.text
    assert not ani.last[-1].options


async def test_a_category_is_chosen_from_the_list_or_typed_with_a_typo_or_in_words(
    sessions,
) -> None:
    ani = await world_with_contacts(sessions)
    await ani.send("/rujukan")
    assert ani.text == t("referral.ask_category")
    options = ani.last[-1].options
    assert options[0].label == t("case.category.kks_bermasalah")
    assert t("referral.option_manage") not in [o.label for o in options]  # coordinators'
    await ani.send("KDRT")
    assert listed(ani.text) == ["UPTD PPA Sukamaju"]
    await ani.send("/rujukan kesehtan")  # a typo
    assert listed(ani.text)[0] == "Bidan Desa Sukamaju"
    await ani.send("/rujukan anaknya dipukul bapaknya")  # words of a note
    assert ani.text.startswith(
        t("referral.list_title", category=t("case.category.perlindungan_anak"), count=1)
    )
    await ani.send("/rujukan ktp")
    assert ani.text == t("referral.none", category=t("case.category.adminduk"))
    await ani.send("/rujukan zzz qqq")
    assert ani.last[0].text == t("referral.category_unknown", value="zzz qqq")
    assert ani.last[-1].text == t("referral.ask_category")
    await ani.send("99")
    assert ani.text.startswith(t("referral.category_invalid"))
    await ani.send("/bantuan")
    assert ani.text == t("help.in_flow", expected=t("expect.referral.category"))


async def test_a_coordinator_sees_every_kecamatan_of_her_kabupaten_but_not_another(
    sessions,
) -> None:
    dewi = chat_as(await world_with_contacts(sessions), "console:dewi")
    await dewi.send("/rujukan kesehatan")
    names = listed(dewi.text)
    assert names == ["Bidan Desa Sukamaju", "Puskesmas Sumber", "Puskesmas Timur",
                     "RSUD Sukamaju"]
    assert "Puskesmas Jauh" not in dewi.text
    await dewi.send("/rujukan")
    assert dewi.last[-1].options[-1].label == t("referral.option_manage")


async def test_a_saved_case_and_a_viewed_case_show_three_contacts_of_its_kind_nearby(
    sessions,
) -> None:
    ani = await world_with_contacts(sessions)
    await ani.send("/kasus Sumarni")
    await ani.send(KESEHATAN)
    await ani.send("Anak demam tinggi tiga hari, perlu dirujuk ke puskesmas")
    await ani.send(t("case.option_no_follow_up"))
    await ani.send("biasa")
    async with sessions() as session:
        case = (await session.scalars(select(CaseNote))).one()
    hint = t(
        "referral.case_hint",
        contacts="Bidan Desa Sukamaju; Puskesmas Sumber 0812-0000-0101; "
        "RSUD Sukamaju (0281) 641234",
    )
    saved = t(
        "case.saved", id=case.id, name="Sumarni", category=KESEHATAN,
        follow_up=t("case.no_follow_up"),
    )
    assert ani.text == saved + "\n" + hint
    await ani.send(f"/lihat_kasus {case.id}")
    assert ani.text.endswith("\n" + hint)
    dewi = chat_as(ani, "console:dewi")  # the coordinator reads it with the same contacts
    await dewi.send(f"/lihat_kasus {case.id}")
    assert dewi.text.endswith("\n" + hint)


async def test_a_case_of_a_kind_nobody_serves_shows_no_referral_line(sessions) -> None:
    ani = await world_with_contacts(sessions)
    await ani.send("/kasus Sumarni")
    await ani.send(t("case.category.pendidikan"))
    await ani.send("Anak tidak masuk sekolah dua minggu")
    await ani.send(t("case.option_no_follow_up"))
    await ani.send("biasa")
    assert ani.text.startswith(t("case.saved", id=1, name="Sumarni",
                                 category=t("case.category.pendidikan"),
                                 follow_up=t("case.no_follow_up")))
    assert t("referral.case_hint", contacts="") not in ani.text


async def test_a_coordinator_adds_a_contact_with_typed_fields_and_it_is_listed(
    sessions,
) -> None:
    ani = await world_with_contacts(sessions)
    dewi = chat_as(ani, "console:dewi")
    await dewi.send("/kelola_rujukan")
    assert dewi.text == t("referral_edit.ask_start")
    await dewi.send(t("referral_edit.add"))
    assert dewi.text == t("referral_edit.ask_region")
    regions = [o.label for o in dewi.last[-1].options]
    assert regions == ["Kab. Sukamaju", "Kec. Sumber", "Kec. Timur"]  # not Kab. Lain's
    await dewi.send("Kec. Sumber")
    assert dewi.text == t("referral_edit.ask_kind")
    await dewi.send("zzz")
    assert dewi.text.startswith(t("referral_edit.kind_invalid"))
    await dewi.send(t("referral.kind.dukcapil"))
    assert dewi.text == t("referral_edit.ask.name")
    await dewi.send("Puskesmas Sumber")  # taken in that kecamatan
    assert dewi.text.startswith(t("referral_edit.name_taken", name="Puskesmas Sumber"))
    await dewi.send("Layanan Dukcapil Kecamatan Sumber")
    assert dewi.text == t("referral_edit.ask.phone")
    await dewi.send("12")
    assert dewi.text.startswith(t("referral_edit.phone_invalid"))
    await dewi.send("0812 0000 0110")
    assert dewi.text.startswith(t("referral_edit.ask.categories"))
    default = dewi.last[-1].options[0]
    assert default.label == t(
        "referral_edit.option_default",
        categories=", ".join(
            (t("case.category.adminduk"), t("case.category.pemutakhiran_data"))
        ),
    )
    await dewi.send("adminduk, sekolah ramah")
    labels = ", ".join(t(f"case.category.{key}") for key in CASE_CATEGORIES)
    assert dewi.text.startswith(
        t("referral_edit.categories_unknown", value="sekolah ramah", categories=labels)
    )
    await dewi.send("1")  # the kind's own
    assert dewi.text == t("referral_edit.ask.address")
    await dewi.send(t("referral_edit.option_skip"))
    assert dewi.text.startswith(t("referral_edit.added"))
    assert "Layanan Dukcapil Kecamatan Sumber" in dewi.text
    await ani.send("/rujukan adminduk")
    assert listed(ani.text) == ["Layanan Dukcapil Kecamatan Sumber"]
    assert "0812-0000-0110" in ani.text
    async with sessions() as session:
        audited = (await session.scalars(
            select(AuditLog).where(AuditLog.action == "referral.add",
                                   AuditLog.actor_staff_id.is_not(None))
        )).one()
    assert audited.detail["kind"] == "dukcapil"
    assert "Sumber" not in str(audited.detail) and "0812" not in str(audited.detail)


async def test_a_coordinator_changes_a_phone_and_deactivates_a_contact(sessions) -> None:
    ani = await world_with_contacts(sessions)
    dewi = chat_as(ani, "console:dewi")
    await dewi.send("/kelola_rujukan puskesmas sumbr")
    assert dewi.text.endswith(t("referral_edit.ask_action"))
    assert dewi.text.startswith("• Puskesmas Sumber")
    await dewi.send(t("referral_edit.change.phone"))
    assert dewi.text == t("referral_edit.ask.phone")
    await dewi.send("0812-0000-0199")
    assert dewi.text.startswith(t("referral_edit.saved"))
    assert "0812-0000-0199" in dewi.text
    await dewi.send("/kelola_rujukan Puskesmas Sumber")
    await dewi.send(t("referral_edit.deactivate"))
    assert dewi.text == t("referral_edit.deactivated", name="Puskesmas Sumber")
    await ani.send("/rujukan kesehatan")
    assert "Puskesmas Sumber" not in listed(ani.text)
    await dewi.send("/kelola_rujukan Puskesmas Sumber")  # still found, to activate again
    assert t("referral_edit.status_inactive") in dewi.text
    await dewi.send(t("referral_edit.activate"))
    assert dewi.text == t("referral_edit.activated", name="Puskesmas Sumber")
    await ani.send("/rujukan kesehatan")
    assert "Puskesmas Sumber" in listed(ani.text)


async def test_another_region_s_contact_cannot_be_changed_and_a_pendamping_cannot_manage(
    sessions,
) -> None:
    ani = await world_with_contacts(sessions)
    dewi = chat_as(ani, "console:dewi")
    await dewi.send("/kelola_rujukan Jauh")
    assert dewi.last[0].text == t("referral_edit.not_found", query="Jauh")
    await dewi.send("/kelola_rujukan Puskesmas Jauh")  # only her region's alike are offered
    assert dewi.text == t("referral_edit.pick")
    labels = [option.label for option in dewi.last[-1].options]
    assert labels and all("Jauh" not in label for label in labels)
    async with sessions() as session:
        far = await session.scalar(select(Region.id).where(Region.name == "Jauh"))
        jauh = await session.scalar(
            select(ReferralContact.id).where(ReferralContact.region_id == far)
        )
    await dewi.send(choice=f"rc:{jauh}")  # a forged button: refused, nothing shown
    assert dewi.text.startswith(t("input.stale_button")) and "Jauh" not in dewi.text
    async with sessions() as session:  # and the model refuses it too
        dewi_staff = await session.scalar(select(Staff).where(Staff.name == "Dewi Koordinator"))
        regions = [r.id for r in await editable_regions(session, dewi_staff)]
        with pytest.raises(OutOfScope):
            await contact_in(session, jauh, regions)
    await ani.send("/kelola_rujukan")
    assert ani.last[0].text == t("access.flow_not_for_role")


async def test_the_menu_offers_referrals_to_pendamping_and_coordinators(sessions) -> None:
    ani = await world_with_contacts(sessions)
    await ani.send("/mulai")
    values = [o.value for o in ani.last[-1].options]
    assert values[-2:] == ["menu:referral", "menu:web_login"]
    await ani.send(str(len(values) - 1))
    assert ani.text == t("referral.ask_category")
    dewi = chat_as(ani, "console:dewi")
    await dewi.send("/mulai")
    assert dewi.last[-1].options[-2].value == "menu:referral"
    await dewi.send(t("menu.referral"))
    await dewi.send(t("referral.option_manage"))
    assert dewi.text == t("referral_edit.ask_start")
