"""LRS connections: an admin-set xAPI version (for LRSs without /about)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("lrs_connections") as batch:
        batch.add_column(
            sa.Column("xapi_version_override", sa.String(length=10), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("lrs_connections") as batch:
        batch.drop_column("xapi_version_override")
