"""people directory: people before launch, their identities, roster status, match mode

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from lti_tool.infra.db import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.alter_column("sub", existing_type=sa.String(255), nullable=True)
        batch.alter_column(
            "last_seen_at", existing_type=UTCDateTime(timezone=True), nullable=True
        )
        batch.add_column(sa.Column("external_id", sa.String(255), nullable=True))
        batch.add_column(
            sa.Column("department", sa.String(200), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("job_role", sa.String(200), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("manager_id", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column(
                "source", sa.String(20), nullable=False, server_default="launch"
            )
        )
        batch.create_unique_constraint(
            "uq_people_tenant_id_external_id", ["tenant_id", "external_id"]
        )
        batch.create_foreign_key(
            "fk_people_manager_id_people",
            "people",
            ["manager_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index("ix_people_manager_id", ["manager_id"])
    op.create_table(
        "person_identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("value", sa.String(700), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["deployments.id"],
            name="fk_person_identities_tenant_id_deployments",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name="fk_person_identities_person_id_people",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_person_identities"),
        sa.UniqueConstraint(
            "tenant_id", "kind", "value", name="uq_person_identities_tenant_id_kind_value"
        ),
    )
    op.create_index(
        "ix_person_identities_person_id", "person_identities", ["person_id"]
    )
    with op.batch_alter_table("enrolments") as batch:
        batch.add_column(
            sa.Column("status", sa.String(20), nullable=False, server_default="Active")
        )
    with op.batch_alter_table("lrs_connections") as batch:
        batch.add_column(
            sa.Column("match_on", sa.String(10), nullable=False, server_default="all")
        )


def downgrade() -> None:
    with op.batch_alter_table("lrs_connections") as batch:
        batch.drop_column("match_on")
    with op.batch_alter_table("enrolments") as batch:
        batch.drop_column("status")
    op.drop_index("ix_person_identities_person_id", table_name="person_identities")
    op.drop_table("person_identities")
    # People without an LTI account cannot survive the old schema.
    op.execute("DELETE FROM people WHERE sub IS NULL")
    op.execute("UPDATE people SET last_seen_at = created_at WHERE last_seen_at IS NULL")
    with op.batch_alter_table("people") as batch:
        batch.drop_index("ix_people_manager_id")
        batch.drop_constraint("fk_people_manager_id_people", type_="foreignkey")
        batch.drop_constraint("uq_people_tenant_id_external_id", type_="unique")
        batch.drop_column("source")
        batch.drop_column("manager_id")
        batch.drop_column("job_role")
        batch.drop_column("department")
        batch.drop_column("external_id")
        batch.alter_column(
            "last_seen_at", existing_type=UTCDateTime(timezone=True), nullable=False
        )
        batch.alter_column("sub", existing_type=sa.String(255), nullable=False)
