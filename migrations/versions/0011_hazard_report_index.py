"""hazard report index: one index holds all the report reads, in zone and category order

The report by zone and category read two indexes and the table: (zone_id, category) and the
rectified hazards' (zone_id, category, rectify_hours). Both give way to one index on all
hazards, (zone_id, category, rectify_hours), carrying on PostgreSQL the other columns the report
reads (state, found_at, deadline_at, rectified_at, rework_count). Its rows come in group order
with everything the figures need, so the counts and percentiles take one pass over the index
alone: 422 → 277 ms over a million hazards, and one index fewer for every write to keep.

Building it locks hazard writes while it runs (a few seconds per million hazards). SQLite
gets the three columns only, and no longer a partial index of the rectified: its percentiles
read the whole index and check each row's state (slower there, and SQLite is not production).

Revision ID: 0011_hazard_report_index
Revises: 0010_signin_notices
Create Date: 2026-11-29 00:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0011_hazard_report_index"
down_revision = "0010_signin_notices"
branch_labels = None
depends_on = None

_INCLUDES = ["state", "found_at", "deadline_at", "rectified_at", "rework_count"]
_RECTIFIED = sa.text("state = 'rectified'")


def upgrade():
    with op.batch_alter_table("hazards", schema=None) as batch_op:
        batch_op.create_index(
            "ix_hazards_report",
            ["zone_id", "category", "rectify_hours"],
            unique=False,
            postgresql_include=_INCLUDES,
        )
        batch_op.drop_index("ix_hazards_rectified_hours")
        batch_op.drop_index("ix_hazards_zone_id_category")


def downgrade():
    with op.batch_alter_table("hazards", schema=None) as batch_op:
        batch_op.create_index("ix_hazards_zone_id_category", ["zone_id", "category"], unique=False)
        batch_op.create_index(
            "ix_hazards_rectified_hours",
            ["zone_id", "category", "rectify_hours"],
            unique=False,
            postgresql_where=_RECTIFIED,
            sqlite_where=_RECTIFIED,
        )
        batch_op.drop_index("ix_hazards_report")
