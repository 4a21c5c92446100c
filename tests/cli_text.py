"""What the command line prints, asserted through the catalog (``cli.*``, ``roster.*``) in
the configured locale: Indonesian by default, as an operator without settings sees it."""

from __future__ import annotations

import re
import string

from handlers.i18n import Translator

t = Translator()  # general.locale's default: Indonesian


def flat(output: str) -> str:
    """Output with its line breaks and runs of spaces as one space (Rich wraps long lines)."""
    return " ".join(output.split())


def said(key: str, translate: Translator = t, **values: object) -> re.Pattern[str]:
    """The text of ``key`` with ``values`` in its placeholders, any placeholder not given
    matching whatever was printed there (a duration, a path)."""
    parts = []
    for literal, name, _, _ in string.Formatter().parse(translate._messages[key]):
        parts.append(re.escape(literal))
        if name is not None:
            parts.append(re.escape(str(values[name])) if name in values else ".+?")
    return re.compile("".join(parts))
