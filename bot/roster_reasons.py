"""Roster import reasons in the operator's language: the models layer says why a row or a
file was refused as a :class:`Reason` (a catalog key and its values); here each is said
with the message catalog (``roster.*``) in the configured locale, for the command line's
output and for the rejects file's ``alasan`` column (the same text in both)."""

from __future__ import annotations

from handlers.i18n import Translator
from models.roster.importer import RejectedRow
from models.roster.reasons import Reason


def say(t: Translator, why: Reason) -> str:
    """One reason as a sentence (a value that is a reason itself is said first)."""
    values = {
        name: say(t, value) if isinstance(value, Reason) else value
        for name, value in why.values.items()
    }
    return t(why.key, **values)


def rejection(t: Translator, rejected: RejectedRow) -> str:
    """Why a row was refused, naming the row and each column: "Baris 3: kolom NIK: ..."."""
    reasons = "; ".join(say(t, why) for why in rejected.reasons)
    return t("roster.rejected_row", row=rejected.row_number, reasons=reasons)
