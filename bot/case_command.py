"""`pendamping case suggest`: the category and severity the configured keywords suggest for
case notes read one per line, one JSON object per line, for operators tuning the keywords.

No database: the settings alone (``[programme.case_categories]``, ``case_risk_keywords``).
``bench/case_suggest.py`` measures the same function. A note's text is never logged.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from bot.config import Settings
from models.rules.case_categories import CaseRules


def case_rules(settings: Settings) -> CaseRules:
    """The case categories and risk keywords of ``settings``."""
    return settings.programme.case_rules()


def suggest(rules: CaseRules, note: str) -> dict[str, str]:
    """``{"category": KEY, "severity": "biasa" | "mendesak"}`` for one note."""
    found = rules.suggest(note)
    return {"category": found.category, "severity": found.severity}


def suggest_lines(rules: CaseRules, lines: Iterable[str]) -> Iterator[str]:
    """One JSON line per line read (an empty line too, so that answers stay in line with
    the notes: it gets the fallback category)."""
    for line in lines:
        yield json.dumps(suggest(rules, line.rstrip("\r\n")), ensure_ascii=False)
