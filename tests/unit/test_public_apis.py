"""Our code uses its dependencies through their public APIs only: no private module, no
underscore name of a dependency's object, no subclass of a library's internal classes.
An upgrade of SQLAlchemy, python-telegram-bot or twilio must not be able to break us
silently; this reads every module of ours (and the benchmarks) and names what breaks it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = ("bot", "handlers", "models", "scheduler", "reporting", "bench", "tests")
SCANNED = ("bot", "handlers", "models", "scheduler", "reporting", "bench")
NAMEDTUPLE_API = {"_fields", "_asdict", "_replace", "_make", "_field_defaults"}
"""Documented public API of ``collections.namedtuple`` and ``typing.NamedTuple``."""
INTERNAL_MODULES = (
    "sqlalchemy.connectors",  # the async adapters' machinery
    "sqlalchemy.dialects.sqlite.aiosqlite",  # an adapter, reached through the URL only
    "sqlalchemy.sql.cache_key",
    "sqlalchemy.util",
    "aiohttp.helpers",
    "telegram.ext._",
)
"""Modules without an underscore in their name that their projects do not document for
use (internal classes that may change in any release)."""


def _files() -> list[Path]:
    return sorted(path for folder in SCANNED for path in (ROOT / folder).rglob("*.py"))


def _is_ours(module: str) -> bool:
    return module.split(".")[0] in OURS


def _internal(module: str) -> bool:
    if _is_ours(module):
        return False
    if any(part.startswith("_") and not part.startswith("__") for part in module.split(".")):
        return True
    return any(module == prefix or module.startswith(prefix) for prefix in INTERNAL_MODULES)


def violations(source: str) -> list[str]:
    """What in ``source`` reaches into a dependency's internals, one line each."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if _internal(node.module):
                found.append(f"{node.lineno}: imports from {node.module}")
            elif not _is_ours(node.module):
                private = [a.name for a in node.names if a.name.startswith("_")]
                if private:
                    found.append(f"{node.lineno}: imports {', '.join(private)}")
        elif isinstance(node, ast.Import):
            found.extend(
                f"{node.lineno}: imports {alias.name}"
                for alias in node.names
                if _internal(alias.name)
            )
        elif isinstance(node, ast.Attribute):
            name = node.attr
            if not name.startswith("_") or name.startswith("__") or name in NAMEDTUPLE_API:
                continue
            base = node.value
            if isinstance(base, ast.Name) and base.id in ("self", "cls"):
                continue  # our own objects' state
            found.append(f"{node.lineno}: reads or writes {ast.unparse(node)}")
    return found


def test_no_module_of_ours_reaches_into_a_dependency() -> None:
    report = {}
    for path in _files():
        relative = path.relative_to(ROOT).as_posix()
        found = violations(path.read_text())
        if found:
            report[relative] = found
    assert report == {}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from telegram._utils.types import ODVInput", "imports from telegram._utils.types"),
        ("import sqlalchemy.util", "imports sqlalchemy.util"),
        ("from sqlalchemy.connectors.asyncio import X", "imports from sqlalchemy.connectors"),
        ("from twilio.base import _private", "imports _private"),
        ("statement._propagate_attrs = {}", "reads or writes statement._propagate_attrs"),
        ("column.type._cached_bind_processor(d)", "reads or writes column.type._cached"),
    ],
)
def test_each_kind_of_reach_is_named(source: str, expected: str) -> None:
    (line,) = violations(source)
    assert expected in line


@pytest.mark.parametrize(
    "source",
    [
        "self._pool = pool",
        "cls._instances.clear()",
        "Row._fields",
        "point._replace(x=1)",
        "from models._private import thing",  # ours: a private module of ours is fine
        "from sqlalchemy.orm import Session",
        "import telegram.error",
    ],
)
def test_public_use_and_our_own_state_pass(source: str) -> None:
    assert violations(source) == []
