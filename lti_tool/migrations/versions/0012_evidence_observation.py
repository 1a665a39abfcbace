"""Evidence rows carry the observation they stand for (difficulty, guess, slip, scales)

An attempt's evidence is the engine's own observation of it (``attempt_observations``):
stored with its question group's difficulty, fitted guess and slip and learning and
ability scales, the learner's model folds in exactly what a simulation of the same
attempt would. Rows without them (xAPI evidence, older rows) keep today's defaults.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ("difficulty", "guess", "slip", "learn_scale", "ability_scale")


def upgrade() -> None:
    with op.batch_alter_table("evidence") as batch:
        for name in _COLUMNS:
            batch.add_column(sa.Column(name, sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("evidence") as batch:
        for name in reversed(_COLUMNS):
            batch.drop_column(name)
