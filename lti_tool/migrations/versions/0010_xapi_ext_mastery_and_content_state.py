"""xAPI of the learner journey: mastery marks and external content state

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from lti_tool.infra.db import UTCDateTime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "xapi_mastery_marks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("module_id", sa.Integer(), nullable=False),
        sa.Column("skill_id", sa.Integer(), nullable=False),
        sa.Column("mastered", sa.Boolean(), nullable=False),
        sa.Column("changes", sa.Integer(), nullable=False),
        sa.Column("changed_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["deployments.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["module_id"], ["modules.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["skill_id"], ["skills.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("person_id", "module_id", "skill_id"),
    )
    op.create_index(
        op.f("ix_xapi_mastery_marks_person_id"),
        "xapi_mastery_marks",
        ["person_id"],
        unique=False,
    )
    op.create_table(
        "xapi_content_states",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("registration", sa.String(length=36), nullable=False),
        sa.Column("activity_iri", sa.String(length=1000), nullable=False),
        sa.Column("state_id", sa.String(length=300), nullable=False),
        sa.Column("content_type", sa.String(length=200), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["deployments.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("person_id", "registration", "activity_iri", "state_id"),
    )
    op.create_index(
        op.f("ix_xapi_content_states_person_id"),
        "xapi_content_states",
        ["person_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_xapi_content_states_person_id"), table_name="xapi_content_states"
    )
    op.drop_table("xapi_content_states")
    op.drop_index(
        op.f("ix_xapi_mastery_marks_person_id"), table_name="xapi_mastery_marks"
    )
    op.drop_table("xapi_mastery_marks")
