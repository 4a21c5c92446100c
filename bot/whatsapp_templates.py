"""The WhatsApp template pack: each declared template (``models.messaging.templates``) with
its body made from the catalog, as an operator submits it to Meta through Twilio's Content
API.

A body is the catalog text of the template's key with each ``{name}`` replaced by its
variable's number, so the message sent inside the 24-hour window (the catalog text with
the values) and the template (the body with the variables) say the same thing. Reminders
carry quick-reply buttons (``twilio/quick-reply``), the digest's files are media templates
(``twilio/media``) whose URL is the public base URL followed by ``{{1}}``, the rest plain
``twilio/text``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from handlers.i18n import Translator
from models.messaging.templates import (
    BODY_LIMIT,
    CATEGORY,
    LANGUAGE,
    TEMPLATES,
    Template,
    VariableKind,
)

PLACEHOLDER = re.compile(r"\{(\w+)\}")
NUMBERED = re.compile(r"\{\{(\d+)\}\}")


class PackProblem(ValueError):
    """A template Meta would refuse, or whose catalog text does not match its declaration."""


@dataclass(frozen=True)
class PackEntry:
    template: Template
    body: str  # with {{1}}, {{2}}... (a media template: the caption)
    media_url: str | None  # a media template's URL, ending in {{1}}

    @property
    def content_type(self) -> str:
        if self.template.media:
            return "twilio/media"
        return "twilio/quick-reply" if self.template.buttons else "twilio/text"

    def request(self) -> dict[str, Any]:
        """The Content API's create request (``POST /v1/Content``) for this template."""
        content: dict[str, Any] = {"body": self.body}
        if self.media_url is not None:
            content["media"] = [self.media_url]
        if self.template.buttons:
            content["actions"] = [
                {"title": button.title, "id": button.payload} for button in self.template.buttons
            ]
        return {
            "friendly_name": self.template.name,
            "language": LANGUAGE,
            "variables": {
                str(number): variable.example
                for number, variable in enumerate(self.template.variables, 1)
            },
            "types": {self.content_type: content},
        }

    def filled(self, variables: Mapping[str, str]) -> str:
        """The body with ``variables`` in place of ``{{n}}``: what WhatsApp shows."""
        return NUMBERED.sub(lambda m: variables[m[1]], self.body)


def placeholders(text: str) -> list[str]:
    """The catalog text's placeholders in order of first appearance."""
    return list(dict.fromkeys(PLACEHOLDER.findall(text)))


def numbered_body(template: Template, text: str) -> str:
    """The catalog text with each placeholder as its variable's number; a placeholder the
    template does not declare, or a declared variable the text lacks, is a PackProblem."""
    found = placeholders(text)
    declared = [v.name for v in template.variables if v.kind is not VariableKind.FILE]
    if found != declared:
        raise PackProblem(
            f"template {template.name}: the catalog text has {found}, the declaration {declared}"
        )
    return PLACEHOLDER.sub(lambda m: f"{{{{{template.number(m[1])}}}}}", text)


def check_body(template: Template, body: str) -> None:
    """WhatsApp's rules for a body: not empty, not starting or ending with a variable, no
    two variables side by side, within the length limit with its examples filled in."""
    stripped = body.strip()
    if not stripped:
        raise PackProblem(f"template {template.name}: the body is empty")
    if NUMBERED.match(stripped) or re.search(r"\{\{\d+\}\}[.!?]?$", stripped):
        raise PackProblem(f"template {template.name}: the body starts or ends with a variable")
    if re.search(r"\}\}\s*\{\{", body):
        raise PackProblem(f"template {template.name}: two variables side by side")
    examples = {str(n): v.example for n, v in enumerate(template.variables, 1)}
    if len(NUMBERED.sub(lambda m: examples[m[1]], body)) > BODY_LIMIT:
        raise PackProblem(f"template {template.name}: over {BODY_LIMIT} characters")


def pack_entry(template: Template, translate: Translator, public_base_url: str) -> PackEntry:
    text = translate(template.key)  # without values: the text with its placeholders
    body = numbered_body(template, text)
    check_body(template, body)
    media_url = None
    if template.media:
        media_url = public_base_url.rstrip("/") + f"/{{{{{len(template.variables)}}}}}"
    return PackEntry(template, body, media_url)


def template_pack(
    translate: Translator, public_base_url: str, templates: Iterable[Template] | None = None
) -> list[PackEntry]:
    """Every declared template, checked (:class:`PackProblem` on the first one that
    fails), in declaration order."""
    chosen = TEMPLATES.values() if templates is None else templates
    return [pack_entry(template, translate, public_base_url) for template in chosen]


def pack_document(entries: Iterable[PackEntry]) -> dict[str, Any]:
    """The pack as one JSON document: each template's Content API request, with what
    each variable holds and the template's category for the operator submitting it."""
    return {
        "category": CATEGORY,
        "language": LANGUAGE,
        "templates": [
            {
                "key": entry.template.key,
                "name": entry.template.name,
                "purpose": entry.template.purpose,
                "category": CATEGORY,
                "variables": [
                    {
                        "number": number,
                        "name": variable.name,
                        "kind": variable.kind.value,
                        "holds": variable.holds,
                        "example": variable.example,
                    }
                    for number, variable in enumerate(entry.template.variables, 1)
                ],
                "content_api_request": entry.request(),
            }
            for entry in entries
        ],
    }
