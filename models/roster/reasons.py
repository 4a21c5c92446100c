"""Why a roster row or a roster file is refused, as data: a catalog key and its values.

The models layer speaks no language: the command line renders each :class:`Reason` with
the message catalog (``roster.*`` keys) in the configured locale, in what it prints and in
the rejects file's ``alasan`` column. A value names the row, the column (its header as the
file writes it) and what was written there, never a NIK or a phone number; a value may be
a reason itself (a file and its sheet), rendered first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Reason:
    key: str  # a catalog key, e.g. "roster.nik_length"
    values: Mapping[str, object] = field(default_factory=dict)  # its placeholders

    def __str__(self) -> str:
        """The reason without a catalog (logs, a caller that renders none)."""
        if not self.values:
            return self.key
        inner = ", ".join(f"{name}={value}" for name, value in self.values.items())
        return f"{self.key}({inner})"


def reason(key: str, **values: object) -> Reason:
    """``reason("roster.nik_length", column="NIK", digits=15)``."""
    return Reason(key, values)
