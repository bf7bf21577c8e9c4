"""score fingerprints, and room on the customer_scores pages for updates on PostgreSQL

A rescore reads each customer's fingerprint (a digest of the stored scores) instead of the scores, and
writes only the customers whose digest changed. On a new day that is nearly every buyer: with half of
each page free, PostgreSQL writes the new row version beside the old one without touching the indexes
(a HOT update). Pages written from now on keep the room; existing ones get it when the table is
rewritten (VACUUM FULL).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 05:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('customer_scores', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fingerprint', sa.BigInteger(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE customer_scores SET (fillfactor = 50)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE customer_scores RESET (fillfactor)")
    with op.batch_alter_table('customer_scores', schema=None) as batch_op:
        batch_op.drop_column('fingerprint')
