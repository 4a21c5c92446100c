"""/rujukan KATEGORI: the sistem sumber's contacts that serve a kind of case in the staff
member's area (kecamatan first, then kabupaten), and the few of them a case shows.

A category is chosen from the list or typed: its key, its name, a part of its name only it
has ("kesehatan"), a name with a typo ("kesehtan"), or words of a note ("anak tidak
sekolah"), read as a case note is (the kind its keywords suggest).
"""

from __future__ import annotations

from enum import StrEnum

from handlers.flow import Ctx, Flow, StepResult
from handlers.messages import IncomingMessage, Option, Reply
from models.enums import RegionLevel, StaffRole
from models.referrals import ContactRow, contacts_for, contacts_near_kpm, kpm_of_case
from models.rules.referrals import CategoryReader, display_phone
from models.rules.text import shorten

MAX_LISTED = 15
"""Contacts listed for one category; more are counted ("dan 4 kontak lainnya")."""
CASE_CONTACTS = 3
"""Contacts a saved or viewed case shows."""
MANAGE = "manage"


class Step(StrEnum):
    """The steps of this flow, as kept in conversation state."""

    CATEGORY = "category"


def category_labels(ctx: Ctx) -> dict[str, str]:
    """Every configured category's key -> its name, in the order offered."""
    return {key: ctx.settings.case_rules.label(ctx.t, key) for key in ctx.settings.case_categories}


def read_category(ctx: Ctx, written: str) -> str | None:
    """The category a person typed: named (key, name, a part of it, a typo), else the one
    the words suggest as a case note; None when nothing fits."""
    found = CategoryReader(category_labels(ctx)).read(written)
    if found is not None:
        return found
    suggestion = ctx.settings.case_rules.suggest(written)
    return suggestion.category if suggestion.score else None


def region_label(ctx: Ctx, name: str, level: RegionLevel) -> str:
    """ "Kec. Sumber", "Kab. Sukamaju" ("Kota Semarang" as it is)."""
    if name.casefold().startswith("kota "):
        return name
    return ctx.t(f"referral.region.{level.value}", name=name)


def kind_label(ctx: Ctx, kind: str) -> str:
    try:
        return ctx.t(f"referral.kind.{kind}")
    except KeyError:  # a kind no longer in the list, kept on its contacts
        return kind


def contact_line(ctx: Ctx, contact: ContactRow) -> str:
    """One contact in a list: name, kind, region and phone; address and notes under it."""
    kind = kind_label(ctx, contact.kind)
    region = region_label(ctx, contact.region, contact.level)
    line = (
        ctx.t("referral.line", name=contact.name, kind=kind, region=region,
              phone=display_phone(contact.phone))
        if contact.phone
        else ctx.t("referral.line_no_phone", name=contact.name, kind=kind, region=region)
    )
    details = " · ".join(part for part in (contact.address, contact.notes) if part)
    return line + ("\n   " + shorten(details, 160) if details else "")


async def entry(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """Start: the category named in the command, or the list of categories."""
    if ctx.text:
        return await category(message, ctx)
    options = [Option(key, label) for key, label in category_labels(ctx).items()]
    if ctx.staff.role is StaffRole.KOORDINATOR:
        options.append(Option(MANAGE, ctx.t("referral.option_manage")))
    return ctx.ask(Step.CATEGORY, ctx.t("referral.ask_category"), options)


async def category(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """A category chosen or typed: its contacts."""
    if ctx.choice == MANAGE and ctx.staff.role is StaffRole.KOORDINATOR:
        from handlers import referral_edit  # the coordinator's flow goes on from here

        ctx.data.clear()
        ctx.text, ctx.choice = "", None
        return (await referral_edit.entry(message, ctx)).handed_to(referral_edit.FLOW.name)
    key = ctx.choice if ctx.choice in ctx.settings.case_categories else None
    if key is None and ctx.text and not ctx.text.isdecimal():
        key = read_category(ctx, ctx.text)
    if key is None:
        if ctx.step == "entry":
            return await entry(message, _without_text(ctx))
        return ctx.retry(ctx.t("referral.category_invalid"))
    label = ctx.settings.case_rules.label(ctx.t, key)
    contacts, total = await contacts_for(ctx.session, ctx.staff, key, limit=MAX_LISTED)
    if not contacts:
        if ctx.staff.role is StaffRole.KOORDINATOR:
            return ctx.done(ctx.t("referral.none_manage", category=label))
        return ctx.done(ctx.t("referral.none", category=label))
    lines = [ctx.t("referral.list_title", category=label, count=total)]
    lines += [contact_line(ctx, contact) for contact in contacts]
    if total > len(contacts):
        lines.append(ctx.t("referral.more", count=total - len(contacts)))
    return ctx.done("\n".join(lines))


def _without_text(ctx: Ctx) -> Ctx:
    """The context of a command whose words named no category: the list is offered, with
    a word on why."""
    ctx.notes.append(Reply(ctx.t("referral.category_unknown", value=shorten(ctx.text, 40))))
    ctx.text = ""
    return ctx


async def case_hint(ctx: Ctx, kpm_id: int | None, category: str) -> str:
    """ "\\nRujukan: Puskesmas Sumber 0812-0000-0101; ..." for a case of ``category``
    about the KPM: up to :data:`CASE_CONTACTS` contacts of her kecamatan, then
    kabupaten; empty when there are none."""
    if kpm_id is None:
        return ""
    contacts = await contacts_near_kpm(ctx.session, kpm_id, category, limit=CASE_CONTACTS)
    if not contacts:
        return ""
    named = "; ".join(
        contact.name + (f" {display_phone(contact.phone)}" if contact.phone else "")
        for contact in contacts
    )
    return "\n" + ctx.t("referral.case_hint", contacts=named)


async def case_hint_of_case(ctx: Ctx, case_id: int, category: str) -> str:
    """:func:`case_hint` for a case known by its number."""
    return await case_hint(ctx, await kpm_of_case(ctx.session, case_id), category)


FLOW = Flow(
    name="referral",
    entry=entry,
    steps={Step.CATEGORY: category},
    roles=frozenset({"pendamping", "supervisor", "koordinator"}),
)
