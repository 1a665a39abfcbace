"""launch-time pull: one cursor per agent query (lrs_query_cursors), not per person

The old per-person cursor was shared by a person's account and mbox queries, so the
second query could start after statements it never read (issue 10). Its rows are not
carried over: a shared place is not a valid place for either query, and the next pull
re-reads each query from the start (evidence is unique per statement and skill).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from lti_tool.infra.db import UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lrs_query_cursors",
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("query_key", sa.String(length=64), nullable=False),
        sa.Column("actor_key", sa.String(length=700), nullable=False),
        sa.Column("last_stored", UTCDateTime(timezone=True), nullable=True),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["lrs_connections.id"],
            name=op.f("fk_lrs_query_cursors_connection_id_lrs_connections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_lrs_query_cursors_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "connection_id", "person_id", "query_key", name=op.f("pk_lrs_query_cursors")
        ),
    )
    op.drop_table("lrs_learner_cursors")


def downgrade() -> None:
    op.create_table(
        "lrs_learner_cursors",
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("last_stored", UTCDateTime(timezone=True), nullable=True),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["lrs_connections.id"],
            name=op.f("fk_lrs_learner_cursors_connection_id_lrs_connections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_lrs_learner_cursors_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "connection_id", "person_id", name=op.f("pk_lrs_learner_cursors")
        ),
    )
    op.drop_table("lrs_query_cursors")
