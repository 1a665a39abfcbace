"""grade outbox: the newest AGS score per learner and link, and each link's line item

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from lti_tool.infra.db import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "grade_lineitems",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("resource_link_pk", sa.Integer(), nullable=False),
        sa.Column("lineitem_url", sa.String(length=1000), nullable=False),
        sa.Column("score_maximum", sa.Float(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["deployments.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["resource_link_pk"], ["resource_links.id"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("resource_link_pk"),
    )
    op.create_table(
        "grade_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("resource_link_pk", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("completed", sa.Boolean(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sent_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_timestamp", UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["deployments.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["resource_link_pk"], ["resource_links.id"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("person_id", "resource_link_pk"),
    )
    op.create_index(
        "ix_grade_outbox_due", "grade_outbox", ["status", "next_attempt_at"]
    )
    op.create_index(
        op.f("ix_grade_outbox_tenant_id"), "grade_outbox", ["tenant_id"]
    )
    op.create_index(
        op.f("ix_grade_outbox_resource_link_pk"), "grade_outbox", ["resource_link_pk"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_grade_outbox_resource_link_pk"), table_name="grade_outbox")
    op.drop_index(op.f("ix_grade_outbox_tenant_id"), table_name="grade_outbox")
    op.drop_index("ix_grade_outbox_due", table_name="grade_outbox")
    op.drop_table("grade_outbox")
    op.drop_table("grade_lineitems")
