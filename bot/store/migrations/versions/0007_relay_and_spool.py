"""Outbox leases name their holder and record when a send began; escalations filed from the
local spool carry the key that makes filing them idempotent.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("lease_owner", sa.String(64), nullable=True))
        batch.add_column(sa.Column("send_started_at", sa.DateTime(timezone=True),
                                   nullable=True))
    with op.batch_alter_table("escalations") as batch:
        batch.add_column(sa.Column("source_key", sa.String(200), nullable=True))
        batch.create_unique_constraint("uq_escalations_source_key", ["source_key"])


def downgrade() -> None:
    with op.batch_alter_table("escalations") as batch:
        batch.drop_constraint("uq_escalations_source_key", type_="unique")
        batch.drop_column("source_key")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("send_started_at")
        batch.drop_column("lease_owner")
