"""The long-running services' process (`run`, `scheduler`): its garbage collector, and on
SQLite the lock that lets one process serve a database."""

from __future__ import annotations

import contextlib
import fcntl
import gc
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import make_url

from models.private_files import private_folder

YOUNG_THRESHOLD = 50_000
"""Allocations between two collections of the youngest generation (Python's default: 700)."""


def tune_garbage_collector() -> None:
    """Freeze what start-up built and collect less often.

    Modules, mappers, compiled statements and the channels' objects live as long as the
    process; frozen, the collector's full passes no longer walk them. A chat step
    allocates a few thousand objects and leaves little cyclic garbage, so collecting the
    young generation every 50,000 allocations instead of 700 costs little memory. With
    Python's defaults, full collections over that heap were the slowest 1% of chat steps
    (``bench/conversation.py`` on SQLite: p99 27 ms, max 145 ms; tuned: p99 14 ms, max 28 ms).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, 20, 20)


class AlreadyServed(Exception):
    """Another process serves this SQLite database; the message says so in one sentence
    (in English, for logs; the command line says ``cli.already_served`` with ``database``
    and ``holder``, "" when the lock file does not name it)."""

    def __init__(self, message: str, *, database: str, holder: str) -> None:
        super().__init__(message)
        self.database = database
        self.holder = holder


@contextlib.contextmanager
def serving_alone(database_url: str, command: str) -> Iterator[bool]:
    """On SQLite, hold an exclusive lock beside the database file while serving: a second
    `pendamping run` or `pendamping scheduler` on the same file refuses to start (SQLite
    has one writer; two servers would also each believe the inbox's claims are theirs).
    Yields True when this process is then the only one serving the database (SQLite),
    False on PostgreSQL, where several processes share the work through leases."""
    url = make_url(database_url)
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        yield False
        return
    path = Path(database).with_name(Path(database).name + ".serving")
    private_folder(path.parent)
    # 0600: the lock says which command holds it; the folder is the private data folder
    handle = os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT, 0o600), "r+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip()
            raise AlreadyServed(
                f"{database} is already served by {holder or 'another process'}: on SQLite "
                f"one process serves a database (stop it first, or use PostgreSQL to run "
                f"several)",
                database=database,
                holder=holder,
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"`pendamping {command}` (pid {os.getpid()})")
        handle.flush()
        yield True
    finally:
        handle.close()  # closing the file lets the lock go
