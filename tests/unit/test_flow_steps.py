"""Every flow's table and its prompts use the same step names: each step a flow asks for
is a member of its module's ``Step`` enum (or a shared helper's) and has a handler, and
option values are read back by one helper that refuses anything malformed."""

from __future__ import annotations

import sys
from enum import StrEnum

import pytest

from handlers.flow import Pick, option_value, picked_id, picked_key
from handlers.group_choice import GroupStep
from handlers.kpm_lookup import KpmStep
from handlers.registry import FLOWS


def test_every_step_of_a_flow_module_has_a_handler_in_its_flows() -> None:
    by_module: dict[str, set[str]] = {}
    for flow in FLOWS:
        by_module.setdefault(flow.entry.__module__, set()).update(flow.steps)
    for module_name, handled in by_module.items():
        step_enum = getattr(sys.modules[module_name], "Step", None)
        if step_enum is None:
            continue
        assert issubclass(step_enum, StrEnum)
        missing = {member.value for member in step_enum} - handled
        assert missing == set(), f"{module_name}: steps asked but not handled: {missing}"


def test_every_handled_step_is_an_enum_member() -> None:
    shared = {member.value for enum in (GroupStep, KpmStep) for member in enum}
    for flow in FLOWS:
        own = getattr(sys.modules[flow.entry.__module__], "Step", ())
        names = {member.value for member in own} | shared
        assert set(flow.steps) <= names, flow.name


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("k:12", 12),
        ("k:0", 0),
        ("m:12", None),
        ("k:", None),
        ("k:12x", None),
        ("k:-1", None),
        ("k:١٢", None),
        ("12", None),
        ("", None),
        (None, None),
        ("k:1:2", None),
    ],
)
def test_an_option_value_is_read_back_only_when_well_formed(
    choice: str | None, expected: int | None
) -> None:
    assert picked_id(choice, Pick.KELOMPOK) == expected


def test_values_made_are_values_read() -> None:
    assert picked_id(option_value(Pick.CASE, 7), Pick.CASE) == 7
    assert picked_key(option_value(Pick.INDICATOR, "tabungan"), Pick.INDICATOR) == "tabungan"
    assert picked_key(option_value(Pick.INDICATOR, "tabungan"), Pick.MEMBER) is None
