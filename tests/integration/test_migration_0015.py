"""Migration 0015 on SQLite and PostgreSQL: channel_identity.not_on_whatsapp_at and
sms_switch_told_at, outbox.segments with its partial index; rows already there keep their
values and get NULL, and going back to 0014 drops the three columns and the index."""

from __future__ import annotations

from sqlalchemy import inspect, text

from models.db import create_engine, migrate

ROWS = (
    "INSERT INTO channel_identity (id, address, channel, linked_at) "
    "VALUES (1, 'whatsapp:+6281200000001', 'whatsapp', '2026-12-01 00:00:00')",
    "INSERT INTO outbox (id, channel, address, kind, payload, priority, status, attempts, "
    "next_attempt_at, created_at, updated_at, sent_at, provider_id) VALUES (1, 'sms', "
    "'sms:+6281200000001', 'reply', '{}', 0, 'sent', 1, '2026-12-01 00:00:00', "
    "'2026-12-01 00:00:00', '2026-12-01 00:00:00', '2026-12-01 00:00:00', 'SM1')",
)


def _shape(sync) -> tuple[set[str], set[str], set[str]]:
    found = inspect(sync)
    identity = {column["name"] for column in found.get_columns("channel_identity")}
    outbox = {column["name"] for column in found.get_columns("outbox")}
    indexes = {index["name"] for index in found.get_indexes("outbox")}
    return identity, outbox, indexes


async def test_0015_adds_the_sms_columns_and_going_back_drops_them(empty_db_url: str) -> None:
    engine = create_engine(empty_db_url)
    try:
        await migrate.upgrade(engine, "0014")
        async with engine.begin() as connection:
            for row in ROWS:
                await connection.execute(text(row))
        await migrate.upgrade(engine, "0015")
        async with engine.begin() as connection:
            identity, outbox, indexes = await connection.run_sync(_shape)
            assert {"not_on_whatsapp_at", "sms_switch_told_at"} <= identity
            assert "segments" in outbox and "ix_outbox_sms_sent" in indexes
            marked = await connection.execute(
                text("SELECT address, not_on_whatsapp_at, sms_switch_told_at "
                     "FROM channel_identity")
            )
            assert marked.all() == [("whatsapp:+6281200000001", None, None)]
            assert await connection.scalar(text("SELECT segments FROM outbox")) is None
            await connection.execute(text("UPDATE outbox SET segments = 2"))
        await migrate.downgrade(engine, "0014")
        async with engine.connect() as connection:
            identity, outbox, indexes = await connection.run_sync(_shape)
            assert not {"not_on_whatsapp_at", "sms_switch_told_at"} & identity
            assert "segments" not in outbox and "ix_outbox_sms_sent" not in indexes
            assert await connection.scalar(text("SELECT provider_id FROM outbox")) == "SM1"
    finally:
        await engine.dispose()
