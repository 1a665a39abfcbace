"""one revision row for the per-process catalogue, configuration and path caches

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 19:30:00
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    revisions = op.create_table(
        "revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("catalogue", sa.String(length=36), nullable=False),
        sa.Column("config", sa.String(length=36), nullable=False),
        sa.Column("paths", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_revisions")),
    )
    # Fresh values: every process's cache starts empty against this database.
    op.bulk_insert(
        revisions,
        [
            {
                "id": 1,
                "catalogue": str(uuid.uuid4()),
                "config": str(uuid.uuid4()),
                "paths": str(uuid.uuid4()),
            }
        ],
    )
    op.drop_table("catalogue_revisions")


def downgrade() -> None:
    op.create_table(
        "catalogue_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=36), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogue_revisions")),
    )
    op.execute(
        "INSERT INTO catalogue_revisions (id, token, revision) "
        "SELECT id, catalogue, 1 FROM revisions"
    )
    op.drop_table("revisions")
