"""A KPM's phone number changes: told by their pendamping in chat, by the KPM from the old
phone ("GANTI NOMOR 0813..."), or by a roster file.

The new number is stored, the chat addresses of the old number (``whatsapp:`` and ``sms:``;
never Telegram, which is not a phone address) are detached from the KPM, and what waits in
the outbox for the KPM on the old number is withdrawn (its dedupe key is set aside, so the
next reminder sweep plans it again for the new number). The audit row shows the numbers
masked only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.audit import actor_of, audit
from models.db.sql import rowcount
from models.enums import KpmStatus, OutboxStatus
from models.households import key_patterns
from models.messaging.tables import Outbox
from models.optout import PHONE_CHANNELS
from models.rules.phone import PhoneError, normalize_phone
from models.rules.text import mask_phone
from models.tables import ChannelIdentity, Kpm, Staff

PHONE_CHANGED = "withdrawn: the KPM's phone number changed"


class PhoneChangeError(ValueError):
    """A number that cannot be taken; ``key`` names the catalog message that says why
    (``phone_change.<key>``), the text is the same in English (for logs)."""

    def __init__(self, key: str, text: str) -> None:
        super().__init__(text)
        self.key = key


@dataclass(frozen=True)
class PhoneChanged:
    kpm_id: int
    before: str | None  # E.164
    after: str
    unlinked: int  # chat addresses of the old number detached from the KPM
    withdrawn: int  # messages waiting for the KPM on the old number
    shared_with: int = 0  # other active KPM whose roster phone the new number is too


def phone_addresses(phone: str) -> list[str]:
    """The chat addresses a phone number is: ``whatsapp:+62...`` and ``sms:+62...``."""
    return [f"{channel}:{phone}" for channel in PHONE_CHANNELS]


def _keyed_to(kpm_id: int) -> ColumnElement[bool]:
    """Reminders and change notices for the KPM, alone or with others on a shared phone
    (those are withdrawn whole: the next sweep names the others again without them)."""
    return or_(
        *(
            Outbox.dedupe_key.like(pattern)
            for prefix in ("reminder:", "changed:")
            for pattern in key_patterns(prefix, kpm_id)
        )
    )


async def detach_phone(
    session: AsyncSession, kpm_id: int, phone: str, *, now: datetime
) -> tuple[int, int]:
    """Detach the old number's chat addresses from the KPM and withdraw what waits for the
    KPM there; (addresses detached, messages withdrawn)."""
    addresses = phone_addresses(phone)
    unlinked = await session.execute(
        update(ChannelIdentity)
        .where(ChannelIdentity.kpm_id == kpm_id, ChannelIdentity.address.in_(addresses))
        .values(kpm_id=None, not_on_whatsapp_at=None)  # a number's "not on WhatsApp" goes too
    )
    withdrawn = await session.execute(
        update(Outbox)
        .where(
            Outbox.status == OutboxStatus.PENDING,
            Outbox.address.in_(addresses),
            _keyed_to(kpm_id),
        )
        .values(
            status=OutboxStatus.CANCELLED,
            error=PHONE_CHANGED,
            updated_at=now,
            dedupe_key=Outbox.dedupe_key.concat(f"~phone-{now:%Y%m%d%H%M%S%f}"),
        )
        .execution_options(synchronize_session=False)
    )
    return rowcount(unlinked), rowcount(withdrawn)


async def change_phone(
    session: AsyncSession, kpm: Kpm, written: str, *, by: Staff | None, now: datetime,
    actor: str | None = None, share: bool = False,
) -> PhoneChanged:
    """Give ``kpm`` the number ``written`` (any way people write it), in the caller's
    transaction; :class:`PhoneChangeError` when it cannot be taken. A number other active
    KPM have already is taken only when ``share`` (the pendamping says so; a KPM cannot
    put themselves on another family's phone)."""
    if kpm.erased_at is not None:  # its data was erased at the family's request
        raise PhoneChangeError("erased", "the KPM's data was erased")
    try:
        phone = normalize_phone(written)
    except PhoneError as error:
        raise PhoneChangeError("invalid", f"not a phone number: {error}") from error
    if phone == kpm.phone:
        raise PhoneChangeError("same", "the KPM already has this number")
    sharing = await session.scalar(
        select(func.count())
        .select_from(Kpm)
        .where(Kpm.phone == phone, Kpm.id != kpm.id, Kpm.status == KpmStatus.AKTIF)
    ) or 0
    if sharing and not share:
        raise PhoneChangeError("taken", "the number belongs to another active KPM")
    before = kpm.phone
    unlinked = withdrawn = 0
    if before:
        unlinked, withdrawn = await detach_phone(session, kpm.id, before, now=now)
    kpm.phone = phone
    kpm.updated_at = now
    await session.flush()
    await audit(
        session,
        action="kpm.phone",
        entity="kpm",
        entity_id=kpm.id,
        detail={
            "before": {"phone": mask_phone(before)},
            "after": {"phone": mask_phone(phone)},
            "unlinked": unlinked,
            "withdrawn": withdrawn,
        },
        at=now,
        **({"actor": actor} if actor else actor_of(by)),
    )
    return PhoneChanged(kpm.id, before, phone, unlinked, withdrawn, sharing)
