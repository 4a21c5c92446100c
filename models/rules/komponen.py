"""Komponen rules: which types exist, what people call them, and when each one ends.

The rules come from configuration (``[programme.komponen.*]``), so a new year's
programme rules change no code; :mod:`bot.config` turns them into :class:`KomponenRule`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from models.rules.text import name_key


@dataclass(frozen=True)
class KomponenRule:
    type: str
    label: str
    ends_at_age: int | None = None
    ends_after_days: int | None = None
    max_per_family: int | None = None
    aliases: tuple[str, ...] = field(default_factory=tuple)

    def end_date(self, birth_date: date | None) -> date | None:
        """When this komponen stops counting, from the member's birth date (for ibu hamil:
        the delivery date); None when the rule or the date is not known."""
        if birth_date is None:
            return None
        if self.ends_at_age is not None:
            return _add_years(birth_date, self.ends_at_age)
        if self.ends_after_days is not None:
            return birth_date + timedelta(days=self.ends_after_days)
        return None


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year + years, day=28)


class KomponenCatalog:
    """Komponen rules by type, with every alias (``SD``, ``bumil``) resolved to its type."""

    def __init__(self, rules: Iterable[KomponenRule]) -> None:
        self.rules: dict[str, KomponenRule] = {rule.type: rule for rule in rules}
        self._by_alias: dict[str, str] = {}
        for rule in self.rules.values():
            for alias in (rule.type.replace("_", " "), rule.label, *rule.aliases):
                self._by_alias[name_key(alias)] = rule.type

    def resolve(self, written: str) -> str | None:
        """The komponen type a person wrote (``"Anak SD"``, ``"sd"``), or None."""
        return self._by_alias.get(name_key(written.replace("_", " ")))

    def label(self, komponen_type: str) -> str:
        """The type's label ("Anak SD"), or the type itself when it is no longer configured."""
        rule = self.rules.get(komponen_type)
        return rule.label if rule else komponen_type

    def __getitem__(self, komponen_type: str) -> KomponenRule:
        return self.rules[komponen_type]

    @classmethod
    def from_mapping(cls, rules: Mapping[str, Mapping[str, object]]) -> KomponenCatalog:
        return cls(
            KomponenRule(
                type=name,
                **{
                    k: (tuple(v) if k == "aliases" else v)  # type: ignore[arg-type]
                    for k, v in values.items()
                },
            )
            for name, values in rules.items()
        )
