"""Files only the service can read: the SQLite database and its ``-wal``/``-shm``, backups,
exported workbooks. They are created ``0600`` and the folders made for them ``0700``,
whatever the process's umask (a umask can only take bits away, and a permissive one
such as 0 or 022 would leave NIK and phone numbers readable by every local account).

Files and folders that exist already are not changed here (the operator may have chosen
otherwise); ``pendamping doctor`` warns when the database or a configuration file holding
a secret is open to others.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import IO, Any

PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700
SQLITE_SIDECARS = ("-wal", "-shm", "-journal")


def private_folder(path: Path) -> None:
    """Make ``path`` (and its missing parents) a folder; those made here are ``0700``."""
    missing: list[Path] = []
    folder = path
    while not folder.exists():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    for made in reversed(missing):
        try:
            made.mkdir(mode=PRIVATE_FOLDER)
        except FileExistsError:  # made meanwhile by another process: not ours to change
            continue
        os.chmod(made, PRIVATE_FOLDER)


def create_private_file(path: Path) -> bool:
    """Create ``path`` empty and ``0600`` unless it exists; True when it was created."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        return False
    try:
        os.fchmod(descriptor, PRIVATE_FILE)
    finally:
        os.close(descriptor)
    return True


def open_private(path: Path, mode: str = "wb", **options: Any) -> IO[Any]:
    """Open ``path`` for writing from empty, ``0600`` (an existing file is made so too)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    try:
        os.fchmod(descriptor, PRIVATE_FILE)
        return os.fdopen(descriptor, mode, **options)
    except BaseException:
        os.close(descriptor)
        raise


def private_temp(folder: Path, name: str) -> Path:
    """An empty ``0600`` file beside ``folder / name`` to write and then move into place
    (hidden, ending ``.part``; ``mkstemp`` creates it ``0600`` under any umask)."""
    descriptor, temp_name = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".part")
    os.close(descriptor)
    return Path(temp_name)


def write_private(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` through a ``0600`` temporary file moved into place."""
    temp = private_temp(path.parent, path.name)
    try:
        temp.write_bytes(content)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def tighten_sqlite_sidecars(database: Path) -> None:
    """Make the ``-wal``, ``-shm`` and ``-journal`` files of a SQLite database ``0600``
    (SQLite creates them with the database file's mode; this also covers files made
    before the database was private)."""
    for suffix in SQLITE_SIDECARS:
        sidecar = database.with_name(database.name + suffix)
        try:
            mode = stat.S_IMODE(sidecar.stat().st_mode)
            if mode != PRIVATE_FILE:
                os.chmod(sidecar, PRIVATE_FILE)
        except (FileNotFoundError, PermissionError):  # gone meanwhile, or not ours
            continue


def open_to_others(path: Path) -> int | None:
    """The permission bits of ``path`` when its group or other users have any, else None
    (also None when it does not exist)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return None
    return mode if mode & 0o077 else None
