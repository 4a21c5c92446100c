"""Logged exceptions keep their traceback and type but never their message, which can
quote personal data (a name in a workbook cell, a phone number in a provider error)."""

from __future__ import annotations

import io
import json
import logging

import pytest

from bot.config import LoggingSettings
from bot.logging_setup import configure_logging


@pytest.mark.parametrize("form", ["text", "json"])
def test_a_logged_exception_shows_where_and_what_but_not_its_message(form: str) -> None:
    configure_logging(LoggingSettings(format=form))
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "pendamping")
    stream = io.StringIO()
    handler.setStream(stream)
    name = "Rini" + " Sulastri"  # a value, as in real code (source lines hold no data)
    try:
        try:
            raise ValueError(f"{name} cannot be used in worksheets.")
        except ValueError:
            logging.getLogger("pendamping.test").exception("digest of coordinator %s failed", 7)
    finally:
        handler.setStream(__import__("sys").stderr)
    output = stream.getvalue()
    assert "Rini" not in output
    assert "digest of coordinator 7 failed" in output
    assert "ValueError (message not logged)" in output
    assert "test_a_logged_exception_shows_where_and_what_but_not_its_message" in output
    if form == "json":
        assert json.loads(output.strip().splitlines()[-1])["level"] == "ERROR"
