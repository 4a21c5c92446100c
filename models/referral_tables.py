"""The sistem sumber: referral contacts (a puskesmas, Dukcapil, the bank or agen for KKS, a
sekolah, Dinas Sosial, a P2TP2A or UPTD PPA...) of a kecamatan or kabupaten, and the case
categories each one serves.

A contact's ``kind`` is a key of :data:`models.rules.referrals.REFERRAL_KINDS` and a
category a key of ``[programme.case_categories]``; both are plain strings (no CHECK), so
that a kind or a category added later needs no migration and one taken out of the
configuration stays readable on the contacts that have it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class ReferralContact(Base):
    """A service a pendamping refers a family to, in one kecamatan or kabupaten."""

    __tablename__ = "referral_contact"
    __table_args__ = (UniqueConstraint("region_id", "name_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(120))
    name_key: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(40))
    phone: Mapped[str | None] = mapped_column(String(16))  # E.164
    address: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(  # None: the command line
        ForeignKey("staff.id", ondelete="SET NULL")
    )


class ReferralService(Base):
    """One case category a referral contact serves."""

    __tablename__ = "referral_service"

    contact_id: Mapped[int] = mapped_column(
        ForeignKey("referral_contact.id", ondelete="CASCADE"), primary_key=True
    )
    category: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)
