"""The audit log: who did what to which record. Ids and codes only, never personal data."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from models.tables import AuditLog


def audit(
    session: AsyncSession,
    *,
    action: str,
    entity: str,
    entity_id: int | None,
    actor: str = "system",
    actor_staff_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Add an audit row to the session; it commits with the change it records."""
    session.add(
        AuditLog(
            actor=actor,
            actor_staff_id=actor_staff_id,
            action=action,
            entity=entity,
            entity_id=entity_id,
            detail=detail,
        )
    )
