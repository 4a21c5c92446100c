"""The message catalog: every text a user reads, by key, per locale (gettext .po via Babel).

Flows call ``t("attendance.saved", count=3)``; the Indonesian text lives in
``handlers/locale/id/LC_MESSAGES/messages.po``. Adding a language is adding a .po file.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from babel.messages.pofile import read_po

DEFAULT_LOCALE = "id"


class MissingMessage(KeyError):
    """A key used in code but absent from the catalog (a bug the tests catch)."""


@cache
def _load(locale: str) -> dict[str, str]:
    source = resources.files("handlers").joinpath(f"locale/{locale}/LC_MESSAGES/messages.po")
    with source.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    return {str(message.id): str(message.string) for message in catalog if message.id}


class Translator:
    """Look up and format catalog texts for one locale, falling back to Indonesian."""

    def __init__(self, locale: str = DEFAULT_LOCALE) -> None:
        self.locale = locale
        self._messages = _load(locale)
        self._fallback = _load(DEFAULT_LOCALE) if locale != DEFAULT_LOCALE else self._messages

    def __call__(self, key: str, **values: Any) -> str:
        text = self._messages.get(key) or self._fallback.get(key)
        if text is None:
            raise MissingMessage(key)
        return text.format(**values) if values else text

    def known_keys(self) -> set[str]:
        return set(self._messages)
