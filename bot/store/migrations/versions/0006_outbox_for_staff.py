"""Outbox rows for staff have no asker: user and conversation become optional.

Rows written before this used the placeholders "*" and "triage"; they are cleared.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

STAFF_KINDS = ("staff-notice", "staff-update", "kb-review")


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.alter_column("user_id", existing_type=sa.String(128), nullable=True)
        batch.alter_column("conversation_id", existing_type=sa.String(128), nullable=True)
    outbox = sa.table("outbox", sa.column("kind", sa.String), sa.column("user_id", sa.String),
                      sa.column("conversation_id", sa.String))
    op.execute(outbox.update().where(outbox.c.kind.in_(STAFF_KINDS))
               .values(user_id=None, conversation_id=None))


def downgrade() -> None:
    outbox = sa.table("outbox", sa.column("kind", sa.String), sa.column("user_id", sa.String),
                      sa.column("conversation_id", sa.String))
    op.execute(outbox.update().where(outbox.c.kind.in_(STAFF_KINDS))
               .values(user_id="*", conversation_id="triage"))
    with op.batch_alter_table("outbox") as batch:
        batch.alter_column("user_id", existing_type=sa.String(128), nullable=False)
        batch.alter_column("conversation_id", existing_type=sa.String(128), nullable=False)
