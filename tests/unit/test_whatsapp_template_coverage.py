"""Every message the business starts has a declared WhatsApp template.

The modules that enqueue messages of a business-initiated kind are found by reading the
source (a kind's literal in the module); every catalog key they put in a payload (``"key":
...``, ``key=...``, or a name assigned such a literal in the same function; both
branches of a conditional) must be declared in
``models.messaging.templates``, or it could not go out outside the 24-hour window.
"""

from __future__ import annotations

import ast
from pathlib import Path

from models.messaging.outbox import BUSINESS_INITIATED_KINDS
from models.messaging.templates import TEMPLATES

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "handlers", "models", "scheduler", "reporting")


def _strings(node: ast.expr) -> list[str]:
    """The string constants a key expression can take: a literal or a conditional's two."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _strings(node.body) + _strings(node.orelse)
    return []


def _options(tree: ast.AST) -> set[int]:
    """The dicts inside a payload's ``options`` (a button's label key, not a message)."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for name, value in zip(node.keys, node.values, strict=True):
                if isinstance(name, ast.Constant) and name.value == "options":
                    inside.update(id(n) for n in ast.walk(value) if isinstance(n, ast.Dict))
    return inside


def _assigned(function: ast.AST) -> dict[str, list[str]]:
    """The strings each local name of a function is assigned (``key = "a" if x else "b"``)."""
    names: dict[str, list[str]] = {}
    for node in ast.walk(function):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    names.setdefault(target.id, []).extend(_strings(node.value))
    return names


def _sent_keys(tree: ast.AST) -> set[str]:
    keys: set[str] = set()
    options = _options(tree)
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef | ast.Module):
            continue
        local = _assigned(function) if not isinstance(function, ast.Module) else {}
        for node in ast.walk(function):
            if isinstance(node, ast.Dict) and id(node) not in options:
                for name, value in zip(node.keys, node.values, strict=True):
                    if isinstance(name, ast.Constant) and name.value in ("key", "template"):
                        keys.update(_strings(value))
                        if isinstance(value, ast.Name):  # "key": key, assigned above
                            keys.update(local.get(value.id, []))
            elif isinstance(node, ast.keyword) and node.arg == "key":
                keys.update(_strings(node.value))
    return keys


def _business_modules() -> dict[Path, ast.AST]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            literals = {
                n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
            }
            if literals & set(BUSINESS_INITIATED_KINDS) and path.name != "outbox.py":
                found[path] = tree
    return found


def test_every_key_a_business_message_carries_has_a_declared_template() -> None:
    modules = _business_modules()
    names = {path.relative_to(ROOT).as_posix() for path in modules}
    # the reading finds the senders it must (a rename would otherwise empty this test)
    assert {
        "scheduler/reminders.py",
        "scheduler/nudges.py",
        "scheduler/alerts.py",
        "scheduler/digests.py",
        "scheduler/planner.py",
        "models/meeting_changes.py",
        "models/staff_changes.py",
        "handlers/cases.py",
        "handlers/graduation.py",
        "handlers/rsvp.py",
    } <= names
    sent = {key: path for path, tree in modules.items() for key in _sent_keys(tree)}
    catalog_like = {key for key in sent if "." in key}
    missing = {
        key: sent[key].relative_to(ROOT).as_posix()
        for key in catalog_like
        if key not in TEMPLATES
    }
    assert not missing, f"business messages without a WhatsApp template: {missing}"
    # and every declared template is sent by one of them: named in a payload, or (the
    # handover's pair of messages, whose key is a loop variable) named in the module
    by_name = {"staff.handed_over": "models/staff_changes.py",
               "staff.received": "models/staff_changes.py"}
    for key, module in by_name.items():
        assert f'"{key}"' in (ROOT / module).read_text(encoding="utf-8")
    assert set(TEMPLATES) - set(by_name) <= catalog_like
