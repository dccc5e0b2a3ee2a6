"""rectify hours: hours from finding to rectification kept on each hazard, indexed for the report

Revision ID: 0008_rectify_hours
Revises: 0007_perf_indexes
Create Date: 2026-11-28 11:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0008_rectify_hours"
down_revision = "0007_perf_indexes"
branch_labels = None
depends_on = None

_RECTIFIED = sa.text("state = 'rectified'")


def upgrade():
    with op.batch_alter_table("hazards", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rectify_hours", sa.Float(), nullable=True))
        batch_op.create_index(
            "ix_hazards_rectified_hours",
            ["zone_id", "category", "rectify_hours"],
            unique=False,
            postgresql_where=_RECTIFIED,
            sqlite_where=_RECTIFIED,
        )
    if op.get_bind().dialect.name == "postgresql":
        hours = "extract(epoch FROM rectified_at - found_at) / 3600.0"
    else:
        hours = "(julianday(rectified_at) - julianday(found_at)) * 24.0"
    op.execute(
        f"UPDATE hazards SET rectify_hours = {hours} "
        "WHERE state = 'rectified' AND rectified_at IS NOT NULL"
    )


def downgrade():
    with op.batch_alter_table("hazards", schema=None) as batch_op:
        batch_op.drop_index("ix_hazards_rectified_hours")
        batch_op.drop_column("rectify_hours")
