"""Mentor pairings: a manager pairs a learner below target with a colleague at it

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from lti_tool.infra.db import UTCDateTime

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mentor_pairings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("learner_id", sa.Integer(), nullable=False),
        sa.Column("mentor_id", sa.Integer(), nullable=False),
        sa.Column("skill_id", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=300), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["deployments.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["learner_id"], ["people.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["mentor_id"], ["people.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["skill_id"], ["skills.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_mentor_pairings_learner_id"),
        "mentor_pairings",
        ["learner_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_mentor_pairings_mentor_id"),
        "mentor_pairings",
        ["mentor_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_mentor_pairings_mentor_id"), table_name="mentor_pairings")
    op.drop_index(op.f("ix_mentor_pairings_learner_id"), table_name="mentor_pairings")
    op.drop_table("mentor_pairings")
