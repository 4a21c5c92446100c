"""rsvp.answered_by_kpm_id, outbox delivery results by address: the ketua kelompok relays

A ketua kelompok answers a meeting reminder for members who cannot be reached directly
(no phone, no linked chat, or their last message failed): ``rsvp.answered_by_kpm_id``
is the ketua who answered (NULL when the KPM answered themselves, as every RSVP before
this release did). ``ix_outbox_address_done`` indexes the messages that reached a final
delivery result (sent, delivered, read, failed, undelivered) by address, so "did the last
message to this number fail?" is a lookup per address; the rows a sweep enqueues (pending)
are not in it, so the sweep's bulk insert does not pay for it.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-12 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

DONE = sa.text("status IN ('sent', 'delivered', 'read', 'failed', 'undelivered')")


def upgrade() -> None:
    with op.batch_alter_table('rsvp', schema=None) as batch_op:
        batch_op.add_column(sa.Column('answered_by_kpm_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_rsvp_answered_by_kpm_id_kpm'), 'kpm', ['answered_by_kpm_id'], ['id'],
            ondelete='SET NULL',
        )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index(
            'ix_outbox_address_done', ['address', 'id'], unique=False,
            sqlite_where=DONE, postgresql_where=DONE,
        )


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_address_done')
    with op.batch_alter_table('rsvp', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_rsvp_answered_by_kpm_id_kpm'), type_='foreignkey')
        batch_op.drop_column('answered_by_kpm_id')
