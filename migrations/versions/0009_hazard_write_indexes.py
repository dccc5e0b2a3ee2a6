"""hazard indexes: drop those no query uses, so each write maintains fewer

Every hazard written updated 19 indexes. Six served no query: category, severity, shift and
rework_count have a handful of values each (a filter on them reads the found_at index and
checks the rows; EXPLAIN on a million hazards shows none of them chosen), and zone_id alone
is the leading column of (zone_id, category). flagged is rare: a partial index of the flagged
hazards, in list order, serves its filter and costs unflagged writes nothing.

Revision ID: 0009_hazard_write_indexes
Revises: 0008_rectify_hours
Create Date: 2026-11-28 13:50:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0009_hazard_write_indexes"
down_revision = "0008_rectify_hours"
branch_labels = None
depends_on = None

_UNUSED = ("category", "severity", "shift", "rework_count", "zone_id")
_FLAGGED = sa.text("flagged")
_FLAGGED_SQLITE = sa.text("flagged = 1")  # the term SQLite must see in the query to use it


def upgrade():
    with op.batch_alter_table("hazards", schema=None) as batch_op:
        for column in _UNUSED:
            batch_op.drop_index(f"ix_hazards_{column}")
        batch_op.drop_index("ix_hazards_flagged")
        batch_op.create_index(
            "ix_hazards_flagged_found_at",
            ["found_at", "id"],
            unique=False,
            postgresql_where=_FLAGGED,
            sqlite_where=_FLAGGED_SQLITE,
        )


def downgrade():
    with op.batch_alter_table("hazards", schema=None) as batch_op:
        batch_op.drop_index("ix_hazards_flagged_found_at")
        batch_op.create_index("ix_hazards_flagged", ["flagged"], unique=False)
        for column in _UNUSED:
            batch_op.create_index(f"ix_hazards_{column}", [column], unique=False)
