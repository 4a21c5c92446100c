"""/kelola_rujukan: a coordinator adds a referral contact in their region, or changes one
(name, phone, address, categories, notes) or takes it off the list and back.

Adding asks, one at a time: the kabupaten or kecamatan, the kind, the name, the phone
(or none), the categories (those of the kind, or typed) and the address (or none); each
typed answer has an example, and one that cannot be read is asked again with it. Every
change is audited (ids and field names only).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypedDict, cast

from handlers.flow import Ctx, Flow, StepResult
from handlers.messages import IncomingMessage, Option, Reply
from handlers.referrals import category_labels, contact_line, kind_label, region_label
from models.referrals import (
    ContactFields,
    ContactRow,
    add_contact,
    change_contact,
    contact_in,
    editable_regions,
    find_contacts,
    name_taken,
)
from models.rules.phone import PhoneError, normalize_phone
from models.rules.referrals import (
    MAX_ADDRESS,
    MAX_NAME,
    MAX_NOTES,
    REFERRAL_KINDS,
    CategoryReader,
    default_categories,
    read_kind,
)
from models.rules.text import clean_name, shorten

MIN_NAME = 3
ADD, SKIP, DEFAULT = "add", "skip", "default"
CONTACT_PREFIX, REGION_PREFIX = "rc:", "w:"
FIELDS = ("name", "phone", "address", "categories", "notes")


class Step(StrEnum):
    """The steps of this flow, as kept in conversation state."""

    START = "start"  # add, or the name of a contact to change
    PICK = "pick"  # one contact out of several alike
    ACTION = "action"  # what to change
    VALUE = "value"  # the new value
    REGION = "region"
    KIND = "kind"
    NAME = "name"
    PHONE = "phone"
    CATEGORIES = "categories"
    ADDRESS = "address"


class EditData(TypedDict, total=False):
    """What the flow keeps between steps (conversation state, stored as JSON)."""

    region_id: int
    kind: str
    name: str
    phone: str | None
    categories: list[str]
    contact_id: int  # the contact being changed
    field: str  # ... and what of it


def _data(ctx: Ctx) -> EditData:
    return cast(EditData, ctx.data)


async def _region_ids(ctx: Ctx) -> list[int]:
    return [region.id for region in await editable_regions(ctx.session, ctx.staff)]


async def entry(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """Start: a contact named in the command, or add / type a name."""
    if not await _region_ids(ctx):
        return ctx.done(ctx.t("referral_edit.no_region"))
    if ctx.text:
        return await start(message, ctx)
    return _ask_start(ctx)


def _ask_start(ctx: Ctx) -> StepResult:
    return ctx.ask(
        Step.START, ctx.t("referral_edit.ask_start"), [Option(ADD, ctx.t("referral_edit.add"))]
    )


async def start(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """Add a contact, or find the one named."""
    if ctx.choice == ADD:
        return await _ask_region(ctx)
    if len(ctx.text) < MIN_NAME or ctx.text.isdecimal():
        return ctx.retry(ctx.t("referral_edit.start_invalid"))
    found = await find_contacts(ctx.session, await _region_ids(ctx), ctx.text)
    if not found:
        ctx.data.pop("_prompt", None)
        ctx.notes.append(Reply(ctx.t("referral_edit.not_found", query=shorten(ctx.text, 40))))
        return _ask_start(ctx)
    if len(found) == 1:
        return _ask_action(ctx, found[0])
    options = [Option(f"{CONTACT_PREFIX}{c.id}", _option_label(ctx, c)) for c in found]
    return ctx.ask(Step.PICK, ctx.t("referral_edit.pick"), options)


def _option_label(ctx: Ctx, contact: ContactRow) -> str:
    label = f"{contact.name} · {region_label(ctx, contact.region, contact.level)}"
    return label if contact.active else label + ctx.t("referral_edit.inactive_marker")


async def pick(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """One contact of several alike."""
    written = (ctx.choice or "").removeprefix(CONTACT_PREFIX)
    if not (ctx.choice or "").startswith(CONTACT_PREFIX) or not written.isdecimal():
        if ctx.text and not ctx.text.isdecimal():
            return await start(message, ctx)
        return ctx.retry(ctx.t("referral_edit.pick_invalid"))
    contact = await contact_in(ctx.session, int(written), await _region_ids(ctx))
    return _ask_action(ctx, contact)


def _ask_action(ctx: Ctx, contact: ContactRow) -> StepResult:
    _data(ctx)["contact_id"] = contact.id
    options = [Option(f, ctx.t(f"referral_edit.change.{f}")) for f in FIELDS]
    if contact.active:
        options.append(Option("deactivate", ctx.t("referral_edit.deactivate")))
    else:
        options.append(Option("activate", ctx.t("referral_edit.activate")))
    return ctx.ask(Step.ACTION, _card(ctx, contact) + "\n\n" + ctx.t("referral_edit.ask_action"),
                   options)


def _card(ctx: Ctx, contact: ContactRow) -> str:
    labels = category_labels(ctx)
    order = {key: position for position, key in enumerate(labels)}
    served = ", ".join(
        labels.get(key, key)
        for key in sorted(contact.categories, key=lambda key: order.get(key, len(order)))
    ) or "-"
    status = (
        ctx.t("referral_edit.status_active")
        if contact.active
        else ctx.t("referral_edit.status_inactive")
    )
    return "\n".join((
        contact_line(ctx, contact),
        ctx.t("referral_edit.card_categories", categories=served),
        ctx.t("referral_edit.card_status", status=status),
    ))


async def action(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """What to change, or take off the list / put back."""
    contact_id = _data(ctx)["contact_id"]
    if ctx.choice in ("deactivate", "activate"):
        active = ctx.choice == "activate"
        contact = await contact_in(ctx.session, contact_id, await _region_ids(ctx))
        await change_contact(ctx.session, contact_id, {"active": active}, by=ctx.staff,
                             now=ctx.now)
        if active:
            return ctx.done(ctx.t("referral_edit.activated", name=contact.name))
        return ctx.done(ctx.t("referral_edit.deactivated", name=contact.name))
    if ctx.choice not in FIELDS:
        return ctx.retry(ctx.t("referral_edit.action_invalid"))
    _data(ctx)["field"] = ctx.choice
    if ctx.choice == "categories":
        return ctx.ask(Step.VALUE, _ask_categories(ctx))
    if ctx.choice == "name":
        return ctx.ask(Step.VALUE, ctx.t("referral_edit.ask.name"))
    clear = Option(SKIP, ctx.t("referral_edit.option_clear"))
    return ctx.ask(Step.VALUE, ctx.t(f"referral_edit.ask.{ctx.choice}"), [clear])


def _ask_categories(ctx: Ctx) -> str:
    known = ", ".join(category_labels(ctx).values())
    return (
        ctx.t("referral_edit.ask.categories")
        + "\n"
        + ctx.t("referral_edit.categories_known", categories=known)
    )


async def value(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """The new value of the field chosen; saved."""
    contact_id, field = _data(ctx)["contact_id"], _data(ctx)["field"]
    contact = await contact_in(ctx.session, contact_id, await _region_ids(ctx))
    changes: dict[str, Any] = {}
    categories: list[str] | None = None
    if field == "name":
        problem = await _name_problem(ctx, contact.region_id, contact.id)
        if problem:
            return ctx.retry(problem)
        changes["name"] = clean_name(ctx.text)
    elif field == "categories":
        categories = _read_categories(ctx)
        if categories is None:
            return ctx.retry(_categories_problem(ctx))
    else:
        read = _optional_text(ctx, field)
        if isinstance(read, _Problem):
            return ctx.retry(read.text)
        changes[field] = read
    await change_contact(ctx.session, contact.id, changes, categories=categories,
                         by=ctx.staff, now=ctx.now)
    saved = await contact_in(ctx.session, contact.id, await _region_ids(ctx))
    return ctx.done(ctx.t("referral_edit.saved") + "\n" + _card(ctx, saved))


@dataclass(frozen=True)
class _Problem:
    text: str


def _optional_text(ctx: Ctx, field: str) -> str | None | _Problem:
    """A phone, address or notes typed, or none (the option to leave it empty)."""
    if ctx.choice == SKIP:
        return None
    text = ctx.text.strip()
    if field == "phone":
        try:
            return normalize_phone(text)
        except PhoneError:
            return _Problem(ctx.t("referral_edit.phone_invalid"))
    limit = MAX_ADDRESS if field == "address" else MAX_NOTES
    if not text or len(text) > limit:
        return _Problem(ctx.t(f"referral_edit.{field}_invalid", limit=limit))
    return text


async def _name_problem(ctx: Ctx, region_id: int, contact_id: int | None = None) -> str:
    """Why the name typed cannot be the contact's ("" when it can): too short or long,
    or another contact's in the same region."""
    name = clean_name(ctx.text)
    if not MIN_NAME <= len(name) <= MAX_NAME or name.isdecimal():
        return ctx.t("referral_edit.name_invalid", limit=MAX_NAME)
    if await name_taken(ctx.session, region_id, name, other_than=contact_id):
        return ctx.t("referral_edit.name_taken", name=name)
    return ""


def _read_categories(ctx: Ctx) -> list[str] | None:
    if ctx.choice == DEFAULT:
        found = default_categories(_data(ctx).get("kind", ""), ctx.settings.case_categories)
        return found or None
    keys, unknown = CategoryReader(category_labels(ctx)).read_cell(ctx.text)
    return keys if keys and not unknown else None


def _categories_problem(ctx: Ctx) -> str:
    _, unknown = CategoryReader(category_labels(ctx)).read_cell(ctx.text)
    labels = ", ".join(category_labels(ctx).values())
    if unknown:
        return ctx.t("referral_edit.categories_unknown", value="; ".join(unknown)[:60],
                     categories=labels)
    return ctx.t("referral_edit.categories_invalid", categories=labels)


# --- adding a contact -----------------------------------------------------------------


async def _ask_region(ctx: Ctx) -> StepResult:
    regions = await editable_regions(ctx.session, ctx.staff)
    if len(regions) == 1:
        _data(ctx)["region_id"] = regions[0].id
        return _ask_kind(ctx)
    options = [
        Option(f"{REGION_PREFIX}{r.id}", region_label(ctx, r.name, r.level)) for r in regions
    ]
    return ctx.ask(Step.REGION, ctx.t("referral_edit.ask_region"), options)


async def region(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """The kabupaten or kecamatan the contact serves."""
    written = (ctx.choice or "").removeprefix(REGION_PREFIX)
    ids = await _region_ids(ctx)
    if not (ctx.choice or "").startswith(REGION_PREFIX) or not written.isdecimal() or int(
        written
    ) not in ids:
        return ctx.retry(ctx.t("referral_edit.region_invalid"))
    _data(ctx)["region_id"] = int(written)
    return _ask_kind(ctx)


def _ask_kind(ctx: Ctx) -> StepResult:
    options = [Option(kind, kind_label(ctx, kind)) for kind in REFERRAL_KINDS]
    return ctx.ask(Step.KIND, ctx.t("referral_edit.ask_kind"), options)


async def kind(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """Puskesmas, Dukcapil, bank, agen, sekolah, Dinsos, P2TP2A/UPTD PPA or lainnya."""
    chosen = ctx.choice if ctx.choice in REFERRAL_KINDS else read_kind(ctx.text)
    if chosen is None:  # "bank" is in two labels, but a word for one kind ("Bank BRI")
        return ctx.retry(ctx.t("referral_edit.kind_invalid"))
    _data(ctx)["kind"] = chosen
    return ctx.ask(Step.NAME, ctx.t("referral_edit.ask.name"))


async def name(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """The contact's name, new in its region."""
    problem = await _name_problem(ctx, _data(ctx)["region_id"])
    if problem:
        return ctx.retry(problem)
    _data(ctx)["name"] = clean_name(ctx.text)
    skip = Option(SKIP, ctx.t("referral_edit.option_skip"))
    return ctx.ask(Step.PHONE, ctx.t("referral_edit.ask.phone"), [skip])


async def phone(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """A phone number, or none."""
    read = _optional_text(ctx, "phone")
    if isinstance(read, _Problem):
        return ctx.retry(read.text)
    _data(ctx)["phone"] = read
    defaults = default_categories(_data(ctx)["kind"], ctx.settings.case_categories)
    labels = category_labels(ctx)
    options = []
    if defaults:
        named = ", ".join(labels[key] for key in defaults)
        options.append(Option(DEFAULT, ctx.t("referral_edit.option_default", categories=named)))
    return ctx.ask(Step.CATEGORIES, _ask_categories(ctx), options)


async def categories(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """The kinds of case the contact serves: the kind's own, or typed."""
    found = _read_categories(ctx)
    if found is None:
        return ctx.retry(_categories_problem(ctx))
    _data(ctx)["categories"] = found
    skip = Option(SKIP, ctx.t("referral_edit.option_skip"))
    return ctx.ask(Step.ADDRESS, ctx.t("referral_edit.ask.address"), [skip])


async def address(message: IncomingMessage, ctx: Ctx) -> StepResult:
    """An address, or none; then the contact is saved."""
    read = _optional_text(ctx, "address")
    if isinstance(read, _Problem):
        return ctx.retry(read.text)
    data = _data(ctx)
    if data["region_id"] not in await _region_ids(ctx):
        return ctx.done(ctx.t("access.not_yours"))
    if await name_taken(ctx.session, data["region_id"], data["name"]):  # saved meanwhile
        return ctx.done(ctx.t("referral_edit.name_taken", name=data["name"]))
    fields = ContactFields(
        region_id=data["region_id"], name=data["name"], kind=data["kind"],
        categories=data["categories"], phone=data.get("phone"), address=read,
    )
    contact_id = await add_contact(ctx.session, fields, by=ctx.staff, now=ctx.now)
    saved = await contact_in(ctx.session, contact_id, await _region_ids(ctx))
    return ctx.done(ctx.t("referral_edit.added") + "\n" + _card(ctx, saved))


FLOW = Flow(
    name="referral_edit",
    entry=entry,
    steps={
        Step.START: start,
        Step.PICK: pick,
        Step.ACTION: action,
        Step.VALUE: value,
        Step.REGION: region,
        Step.KIND: kind,
        Step.NAME: name,
        Step.PHONE: phone,
        Step.CATEGORIES: categories,
        Step.ADDRESS: address,
    },
    roles=frozenset({"koordinator"}),
)
