"""Text helpers shared by the chat channels."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from handlers.i18n import Translator


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
