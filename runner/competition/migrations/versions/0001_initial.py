"""Teams, submissions, their folds, phases and settings."""

import sqlalchemy as sa
from alembic import op

from runner.competition.db import UTCDateTime

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "teams",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
    )
    op.create_table(
        "submissions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("team_id", sa.Integer, sa.ForeignKey("teams.id"), nullable=False, index=True),
        sa.Column("phase", sa.String(64), nullable=False, index=True),
        sa.Column("image_id", sa.String(80), nullable=False),
        sa.Column("image_ref", sa.String(200), nullable=False),
        sa.Column("archive_bytes", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("created_at", UTCDateTime(), nullable=False, index=True),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("counts", sa.Boolean, nullable=False),
        sa.Column("disqualified", sa.Boolean, nullable=False),
        sa.Column("logs_released", sa.Boolean, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
    )
    op.create_table(
        "folds",
        sa.Column(
            "submission_id", sa.String(32), sa.ForeignKey("submissions.id"), primary_key=True
        ),
        sa.Column("bundle_id", sa.String(128), primary_key=True),
        sa.Column("fold_id", sa.String(128), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("status", sa.String(32), nullable=True),
        sa.Column("phase_now", sa.String(16), nullable=True),
        sa.Column("summary", sa.JSON, nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "phases",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("revealed_at", UTCDateTime(), nullable=True),
    )
    op.create_table(
        "settings",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in ("settings", "phases", "folds", "submissions", "teams"):
        op.drop_table(table)
