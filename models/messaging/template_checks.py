"""The checks of a WhatsApp template's variables (``models.messaging.templates``): each
value against its kind's rule and length limit, before a message is enqueued, so that a
value WhatsApp would refuse is an error at the sweep, with the template, the variable and
the reason (never the value: it may be a name)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from models.db import json_text
from models.messaging.templates import (
    Template,
    TemplateProblem,
    Variable,
    VariableKind,
    template_of,
)

LIMITS = {
    VariableKind.NAME: 100,
    VariableKind.LABEL: 200,
    VariableKind.DATE: 40,
    VariableKind.TIME: 16,
    VariableKind.NUMBER: 16,
    VariableKind.PERCENT: 8,
    VariableKind.TEXT: 500,
    VariableKind.FILE: 500,
}
"""Characters per value; WhatsApp allows a whole body of 1,024."""
READER_LIMIT = LIMITS[VariableKind.NAME]
"""Characters of who a message names (``penerima``): the names on a shared phone are cut
to it (:func:`models.households.joined_names`)."""

_PATTERNS = {
    VariableKind.DATE: re.compile(r"(?=.*\d)(?=.*[A-Za-z])[\w ,.]+"),
    VariableKind.TIME: re.compile(r"\d{1,2}\.\d{2}( [A-Z]{3,4})?"),
    VariableKind.NUMBER: re.compile(r"\d+([.,]\d+)?"),
    VariableKind.PERCENT: re.compile(r"\d+([.,]\d+)? ?%"),
    VariableKind.FILE: re.compile(r"[\w./?=&%-]+"),
}
_CODE = re.compile(r"[a-z0-9]+(_[a-z0-9]+)+")  # "kks_bermasalah": a code, not a label
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SPACES = re.compile(r"\s+")


def variable_text(template: Template, variable: Variable, value: Any) -> str:
    """A value as the variable's text, checked against its kind: TEXT is put on one line
    and shortened; any other kind that does not fit raises :class:`TemplateProblem`.
    A missing value (None) is "-" whatever the kind."""
    # None is written "-", as in the message sent inside the window (payload_text)
    text = "-" if value is None else str(value).strip()
    limit = LIMITS[variable.kind]
    if variable.kind is VariableKind.TEXT:
        text = _SPACES.sub(" ", text)
        if len(text) > limit:
            text = text[: limit - 1].rstrip() + "…"
    problem = None
    if not text:
        problem = "is empty"
    elif len(text) > limit:
        problem = f"is over {limit} characters"
    elif "\n" in text or "\t" in text or "    " in text:
        problem = "has a new line, a tab or four spaces"
    elif (pattern := _PATTERNS.get(variable.kind)) is not None and text != "-" and not (
        pattern.fullmatch(text)
    ):
        problem = f"is not a {variable.kind.value}"
    elif variable.kind in (VariableKind.LABEL, VariableKind.NAME) and (
        _CODE.fullmatch(text) or _ISO_DATE.search(text)
    ):
        problem = f"is a code, not {variable.kind.value} text"
    if problem is not None:
        raise TemplateProblem(f"{template.where(variable)} {problem}")
    return text


_CACHED_TYPES = (str, int, type(None))  # values whose verdict is remembered (hashable)

Checked = dict[tuple[str, str, Any], str | TemplateProblem]
"""Texts already checked, by (template key, variable name, value)."""


def template_variables(
    template: Template,
    values: Mapping[str, Any],
    *,
    skip_files: bool = False,
    checked: Checked | None = None,
) -> dict[str, str]:
    """The ContentVariables of a message: ``{"1": ..., "2": ...}`` from its catalog
    values, each checked (:func:`variable_text`). ``skip_files`` leaves out FILE
    variables, which only the sender can fill (the signed URL is made at send time).
    ``checked`` remembers each value's verdict: a sweep's reminders share all their
    values but the reader's name."""
    variables: dict[str, str] = {}
    for number, variable in enumerate(template.variables, 1):
        if variable.kind is VariableKind.FILE and skip_files:
            continue
        if variable.name not in values:
            raise TemplateProblem(f"template {template.name}: no value for {variable.name}")
        value = values[variable.name]
        if checked is None or not isinstance(value, _CACHED_TYPES):
            variables[str(number)] = variable_text(template, variable, value)
            continue
        key = (template.key, variable.name, value)
        text = checked.get(key)  # a sweep's rows share all values but the reader's name
        if text is None:
            try:
                text = checked[key] = variable_text(template, variable, value)
            except TemplateProblem as problem:
                text = checked[key] = problem
        if isinstance(text, TemplateProblem):
            raise text
        variables[str(number)] = text
    return variables


@dataclass(frozen=True)
class _Shape:
    """A template's variables as :class:`TemplateCheck` fills them: the numbers, and which
    of them are names (a reminder's reader, different in every message) and which are the
    rest (the meeting's, the same for all its members)."""

    numbers: tuple[str, ...]  # "1", "2", ... of the variables filled (FILE ones skipped)
    variables: tuple[Variable, ...]
    names: tuple[tuple[int, Variable], ...]  # position in ``variables``, NAME variable
    rest: Callable[[Mapping[str, Any]], tuple[Any, ...]]  # the others; KeyError: one missing

    @classmethod
    def of(cls, template: Template) -> _Shape:
        filled = [(str(number), variable)
                  for number, variable in enumerate(template.variables, 1)
                  if variable.kind is not VariableKind.FILE]
        names = tuple((index, variable) for index, (_, variable) in enumerate(filled)
                      if variable.kind is VariableKind.NAME)
        others = [variable.name for _, variable in filled
                  if variable.kind is not VariableKind.NAME]
        getter = itemgetter(*others) if others else None
        rest: Callable[[Mapping[str, Any]], tuple[Any, ...]]
        if getter is None:
            rest = _no_values
        elif len(others) == 1:
            rest = lambda values: (getter(values),)  # noqa: E731
        else:
            rest = getter
        return cls(tuple(number for number, _ in filled),
                   tuple(variable for _, variable in filled), names, rest)


def _no_values(values: Mapping[str, Any]) -> tuple[Any, ...]:
    return ()


_FAILED = object()  # a template's values that do not all pass: the full check names why

READER = "penerima"
"""The payload value that names a message's reader (the templates' "penerima")."""


def addressed(payload: dict[str, Any], reader: str) -> dict[str, Any]:
    """``payload`` naming ``reader``: what is stored for a message with a reader."""
    return {**payload, "values": {**(payload.get("values") or {}), READER: reader}}


# Stand-ins for a reader in a payload's JSON text, split out of it (a stored payload never
# holds a NUL: PostgreSQL's jsonb refuses one): as the value, and as its template text.
_AS_VALUE, _AS_TEXT = "\x00reader\x00", "\x00text\x00"
_VALUE_MARK, _TEXT_MARK = (json_text(mark)[1:-1] for mark in (_AS_VALUE, _AS_TEXT))
_MARKS = re.compile(f"({re.escape(_VALUE_MARK)}|{re.escape(_TEXT_MARK)})")


@dataclass(frozen=True)
class _Frame:
    """The JSON text of a payload naming a reader, cut where the reader goes: the texts
    between, and what goes after each (0: the reader as the value, 1: as its template
    text); ``text_of``: the template and variable that check the reader's text (None: the
    payload is stored without variables); ``reason``: why none of its messages can go
    out as its template (then the frame is of the payload without variables)."""

    pieces: tuple[str, ...]
    marks: tuple[int, ...]
    text_of: tuple[Template, Variable] | None = None
    reason: str | None = None

    @classmethod
    def of(cls, payload: dict[str, Any], **more: Any) -> _Frame:
        cut = _MARKS.split(json_text(payload))
        marks = tuple(0 if part == _VALUE_MARK else 1 for part in cut[1::2])
        return cls(tuple(cut[0::2]), marks, **more)

    def text(self, value: str, as_text: str) -> str:
        parts, pieces = [self.pieces[0]], self.pieces
        for index, mark in enumerate(self.marks, 1):
            parts.append(as_text if mark else value)
            parts.append(pieces[index])
        return "".join(parts)


@dataclass
class TemplateCheck:
    """Checks the payloads of an enqueue once each (a sweep shares one payload between
    the members of a meeting, whatever their channel) and gives each its WhatsApp copy,
    with ``template_variables``, shared in turn by the WhatsApp rows.

    A sweep's reminders differ only in their reader's name: the texts of a template's
    other values are checked once per set of them (a meeting's), and of each message
    only its names, so a message costs a few lookups instead of a check per variable."""

    # by id(payload): the payload itself is kept too, so that its id is not reused
    checked: dict[int, tuple[dict[str, Any], dict[str, Any], str | None]] = field(
        default_factory=dict
    )
    texts: Checked = field(default_factory=dict)
    shapes: dict[str, _Shape] = field(default_factory=dict)
    rests: dict[tuple[str, tuple[Any, ...]], list[str | None] | object] = field(
        default_factory=dict
    )
    # by (id(payload), checked), for messages with a reader: the payload kept (its id)
    frames: dict[tuple[int, bool], tuple[dict[str, Any], _Frame]] = field(default_factory=dict)

    def __call__(self, payload: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        """The payload to store for WhatsApp, and None when it can go out as its
        template, else the reason."""
        found = self.checked.get(id(payload))
        if found is None:
            found = self.checked[id(payload)] = (payload, *self._fill(payload))
        return found[1], found[2]

    def addressed(
        self, payload: dict[str, Any], reader: str, *, checked: bool
    ) -> tuple[str, str | None]:
        """The JSON text to store of ``payload`` naming ``reader`` (:func:`addressed`);
        ``checked``: a WhatsApp message the business starts, given its template's
        variables as :meth:`__call__` does, and None or the reason it cannot go out.

        A sweep's members of one meeting share a payload: its text is made once, with
        stand-ins for the reader, and each message's is that text with the reader's put
        in; of each reader only the name is checked (once per enqueue)."""
        frame = self._frame(payload, checked)
        value = json_text(reader)[1:-1]
        if frame.text_of is None:
            return frame.text(value, value), frame.reason
        text = self._text(*frame.text_of, reader)
        if isinstance(text, TemplateProblem):  # stored without variables, as __call__ does
            return self._frame(payload, False).text(value, value), str(text)
        return frame.text(value, value if text == reader else json_text(text)[1:-1]), None

    def _frame(self, payload: dict[str, Any], checked: bool) -> _Frame:
        """The frame of ``payload``'s messages (see :meth:`addressed`), made once."""
        key = (id(payload), checked)
        found = self.frames.get(key)
        if found is None:
            found = self.frames[key] = (payload, self._made_frame(payload, checked))
        return found[1]

    def _made_frame(self, payload: dict[str, Any], checked: bool) -> _Frame:
        probe = addressed(payload, _AS_VALUE)
        if not checked:
            return _Frame.of(probe)
        template = template_of(probe)
        filled, reason = self._fill(probe)  # the stand-in passes as a name: the rest decides
        if template is None or reason is not None or "template_variables" not in filled:
            return _Frame.of(probe, reason=reason)
        variables = {number: _AS_TEXT if text == _AS_VALUE else text
                     for number, text in filled["template_variables"].items()}
        reader_variable = next((variable for variable in template.variables
                                if variable.name == READER), None)
        return _Frame.of({**filled, "template_variables": variables},
                         text_of=None if reader_variable is None
                         else (template, reader_variable))

    def _fill(self, payload: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        template = template_of(payload)
        if template is None:  # free text: it goes inside the window, or fails as it did
            return payload, None
        values = payload.get("values") or {}
        variables = self._quick(template, values)
        if variables is None:  # a value missing, unhashable or refused: the full check
            try:
                variables = template_variables(template, values, skip_files=True,
                                               checked=self.texts)
            except TemplateProblem as problem:
                return payload, str(problem)
        return {**payload, "template_variables": variables}, None

    def _quick(self, template: Template, values: Mapping[str, Any]) -> dict[str, str] | None:
        """The variables from the texts of the values checked before (None: the full check
        decides, and says what is wrong)."""
        shape = self.shapes.get(template.key)
        if shape is None:
            shape = self.shapes[template.key] = _Shape.of(template)
        try:
            key = (template.key, shape.rest(values))
            texts = self.rests.get(key)
        except (KeyError, TypeError):  # a value missing, or one not hashable
            return None
        if texts is None:
            try:
                texts = [None if variable.kind is VariableKind.NAME
                         else variable_text(template, variable, values[variable.name])
                         for variable in shape.variables]
            except TemplateProblem:
                texts = _FAILED
            self.rests[key] = texts
        if texts is _FAILED:
            return None
        assert isinstance(texts, list)
        if shape.names:
            texts = list(texts)
            for index, variable in shape.names:
                value = values.get(variable.name, _FAILED)
                if not isinstance(value, _CACHED_TYPES):
                    return None
                text = self._text(template, variable, value)
                if isinstance(text, TemplateProblem):
                    return None
                texts[index] = text
        return dict(zip(shape.numbers, texts, strict=True))

    def _text(self, template: Template, variable: Variable, value: Any) -> str | TemplateProblem:
        """A value's text, or what is wrong with it: checked once per value."""
        key = (template.key, variable.name, value)
        text = self.texts.get(key)
        if text is None:
            try:
                text = self.texts[key] = variable_text(template, variable, value)
            except TemplateProblem as problem:
                text = self.texts[key] = problem
        return text
