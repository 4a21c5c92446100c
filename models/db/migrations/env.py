"""Alembic environment: runs migrations on the async engine the application uses.

Called through :mod:`models.db.migrate`, which hands over an open connection in
``config.attributes["connection"]``; batch mode lets SQLite alter tables.
"""

from __future__ import annotations

from alembic import context

from models import (  # noqa: F401  (registers every table on the metadata)
    bansos,
    referral_tables,
    tables,
)
from models.base import Base
from models.messaging import tables as messaging_tables  # noqa: F401

target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through `pendamping init`, not the alembic command")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("offline migrations are not supported; run `pendamping init`")
run_migrations_online()
