"""Text helpers shared by the chat channels."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from handlers.i18n import MissingMessage, Translator
from models.rules.sms import cut, fit, gsm7

SMS_SHORTENABLE = ("place", "kelompok", "penerima", "names", "pendamping", "text", "reason")
"""Values an SMS may shorten to fit its segments, the first named first when as long."""


def payload_text(payload: Mapping[str, Any], t: Translator) -> str:
    """The text of an outbox payload: written out, or a catalog key with its values."""
    if payload.get("text"):
        return str(payload["text"])
    values = {
        name: "-" if value is None else value
        for name, value in dict(payload.get("values") or {}).items()
    }
    return t(str(payload["key"]), **values)


def split_text(text: str, limit: int) -> list[str]:
    """Split at paragraph, then line, then word boundaries, each part within ``limit``;
    a part is cut mid-word only when a word alone is longer than the limit."""
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = max(rest.rfind("\n\n", 0, limit), rest.rfind("\n", 0, limit))
        if cut <= 0:
            cut = rest.rfind(" ", 0, limit)
        if cut <= 0:
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    parts.append(rest)
    return [part for part in parts if part] or [""]


def sms_text(payload: Mapping[str, Any], t: Translator, max_segments: int) -> str:
    """A message the business starts, as an SMS: its catalog key's SMS variant (the key
    followed by ``_sms``, short and in GSM-7) when the catalog has one, with its values
    in GSM-7, shortened until it fits ``max_segments`` (a written-out text is cut)."""
    key = payload.get("key")
    if payload.get("text") or not key:
        return cut(gsm7(payload_text(payload, t)), max_segments)
    variant = f"{key}_sms"
    try:
        t(variant)
    except MissingMessage:
        variant = str(key)
    values = {
        name: "-" if value is None else str(value)
        for name, value in dict(payload.get("values") or {}).items()
    }
    return fit(lambda filled: t(variant, **filled), values, max_segments, SMS_SHORTENABLE)
