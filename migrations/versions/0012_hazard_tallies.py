"""hazard tallies: standing counts by zone and category, kept by triggers on hazards

The rectification report over all time read every hazard for its counts: a million rows and
most of a second on a loaded machine. hazard_tallies holds what each change of hazards adds
to its zone and category's counts (found, rectified, rectified on time, rework), written by
triggers in the statement that changes the hazards, whatever sends it: the app, the sync
batch, a CLI command, or plain SQL (not with triggers turned off, as in a replica-mode
restore: run the backfill below again after one). Rows are only ever added, so no two writers wait on one
row; the report sums them and folds them into one row per group when they pile up.

PostgreSQL: statement triggers with transition tables (one INSERT … SELECT per statement, so a
bulk load of a million hazards adds a few hundred rows), and a TRUNCATE of hazards empties the
tallies. SQLite: row triggers. Existing hazards are counted in the same transaction as the
triggers are made, so a write that lands meanwhile is counted once.

A later migration that rebuilds hazards on SQLite (alembic's batch mode copies the table) drops
these triggers with the old table, and must create them again.

Also puts back the rectified hazards' partial index on (zone_id, category, rectify_hours) that
0011 folded into the report index: the report's percentiles read it when its counts come from
the tallies (a tenth of the report index's size).

Revision ID: 0012_hazard_tallies
Revises: 0011_hazard_report_index
Create Date: 2026-11-29 11:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0012_hazard_tallies"
down_revision = "0011_hazard_report_index"
branch_labels = None
depends_on = None

_RECTIFIED = "state = 'rectified'"
_ON_TIME = "state = 'rectified' AND rectified_at <= deadline_at"

# One hazard row's counts (PostgreSQL), signed: +1 for a row that is there now, -1 for one gone.
_COUNTS = f"""zone_id, category, {{sign}} AS found, {{sign}} * ({_RECTIFIED})::int AS rectified,
    {{sign}} * coalesce(({_ON_TIME}), false)::int AS on_time, {{sign}} * rework_count AS rework"""

# `#variable_conflict use_column`: PL/pgSQL's FOUND variable would otherwise shadow the column.
_PG_FUNCTION = f"""
CREATE FUNCTION hazard_tallies_keep() RETURNS trigger LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        -- Waits for a report folding the rows to commit, then deletes what it wrote too.
        LOCK TABLE hazard_tallies IN EXCLUSIVE MODE;
        DELETE FROM hazard_tallies;
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO hazard_tallies (zone_id, category, found, rectified, on_time, rework)
        SELECT zone_id, category, sum(found), sum(rectified), sum(on_time), sum(rework)
        FROM (SELECT {_COUNTS.format(sign=1)} FROM new_rows) AS d
        GROUP BY zone_id, category;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO hazard_tallies (zone_id, category, found, rectified, on_time, rework)
        SELECT zone_id, category, sum(found), sum(rectified), sum(on_time), sum(rework)
        FROM (SELECT {_COUNTS.format(sign=-1)} FROM old_rows) AS d
        GROUP BY zone_id, category;
    ELSE
        INSERT INTO hazard_tallies (zone_id, category, found, rectified, on_time, rework)
        SELECT zone_id, category, sum(found), sum(rectified), sum(on_time), sum(rework)
        FROM (SELECT {_COUNTS.format(sign=1)} FROM new_rows
              UNION ALL SELECT {_COUNTS.format(sign=-1)} FROM old_rows) AS d
        GROUP BY zone_id, category
        HAVING sum(found) <> 0 OR sum(rectified) <> 0 OR sum(on_time) <> 0 OR sum(rework) <> 0;
    END IF;
    RETURN NULL;
END
$$
"""

_PG_TRIGGERS = {
    "hazard_tallies_insert": "AFTER INSERT ON hazards REFERENCING NEW TABLE AS new_rows",
    "hazard_tallies_update": "AFTER UPDATE ON hazards REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "hazard_tallies_delete": "AFTER DELETE ON hazards REFERENCING OLD TABLE AS old_rows",
    "hazard_tallies_truncate": "AFTER TRUNCATE ON hazards",
}


def _sqlite_counts(row: str) -> tuple[str, ...]:
    """zone_id, category, rectified (1/0), on time (1/0) and rework of the row OLD or NEW."""
    return (
        f"{row}.zone_id",
        f"{row}.category",
        f"({row}.{_RECTIFIED})",
        f"coalesce(({row}.state = 'rectified' AND {row}.rectified_at <= {row}.deadline_at), 0)",
        f"{row}.rework_count",
    )


def _sqlite_values(row: str, sign: int) -> str:
    zone, category, rectified, on_time, rework = _sqlite_counts(row)
    return f"{zone}, {category}, {sign}, {sign} * {rectified}, {sign} * {on_time}, {sign} * {rework}"


_SQLITE_INSERT = "INSERT INTO hazard_tallies (zone_id, category, found, rectified, on_time, rework) VALUES"
# An update that changes none of the counts (a notice, a new description) adds no rows.
_SQLITE_CHANGED = " OR ".join(
    f"{old} IS NOT {new}" for old, new in zip(_sqlite_counts("OLD"), _sqlite_counts("NEW"), strict=True)
)
_SQLITE_TRIGGERS = {
    "hazard_tallies_insert": f"AFTER INSERT ON hazards BEGIN {_SQLITE_INSERT} ({_sqlite_values('NEW', 1)}); END",
    "hazard_tallies_update": (
        f"AFTER UPDATE ON hazards WHEN {_SQLITE_CHANGED} BEGIN"
        f" {_SQLITE_INSERT} ({_sqlite_values('OLD', -1)}), ({_sqlite_values('NEW', 1)}); END"
    ),
    "hazard_tallies_delete": f"AFTER DELETE ON hazards BEGIN {_SQLITE_INSERT} ({_sqlite_values('OLD', -1)}); END",
}

_BACKFILL = f"""
INSERT INTO hazard_tallies (zone_id, category, found, rectified, on_time, rework)
SELECT zone_id, category, count(*),
    sum(CASE WHEN {_RECTIFIED} THEN 1 ELSE 0 END),
    sum(CASE WHEN {_ON_TIME} THEN 1 ELSE 0 END),
    sum(rework_count)
FROM hazards GROUP BY zone_id, category
"""


def upgrade():
    op.create_table(
        "hazard_tallies",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("zone_id", sa.Uuid(), nullable=False),
        sa.Column("category", sa.String(length=24), nullable=False),
        sa.Column("found", sa.Integer(), nullable=False),
        sa.Column("rectified", sa.Integer(), nullable=False),
        sa.Column("on_time", sa.Integer(), nullable=False),
        sa.Column("rework", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hazard_tallies")),
    )
    with op.batch_alter_table("hazards", schema=None) as batch_op:
        batch_op.create_index(
            "ix_hazards_rectified_hours",
            ["zone_id", "category", "rectify_hours"],
            unique=False,
            postgresql_where=sa.text(_RECTIFIED),
            sqlite_where=sa.text(_RECTIFIED),
        )
    # Every hazard counted exactly once, by the backfill or by a trigger, even with writers about.
    if op.get_bind().dialect.name == "postgresql":
        # The triggers first: creating one locks hazard writes until this transaction commits.
        op.execute(_PG_FUNCTION)
        for name, when in _PG_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {when} FOR EACH STATEMENT EXECUTE FUNCTION hazard_tallies_keep()")
        op.execute(_BACKFILL)
    else:
        # The backfill first: Python's sqlite3 opens a transaction at the first INSERT, not at
        # DDL, so the INSERT takes SQLite's write lock and the triggers join its transaction.
        op.execute(_BACKFILL)
        for name, body in _SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    for name in _PG_TRIGGERS if postgres else _SQLITE_TRIGGERS:
        op.execute(f"DROP TRIGGER {name}" + (" ON hazards" if postgres else ""))
    if postgres:
        op.execute("DROP FUNCTION hazard_tallies_keep()")
    with op.batch_alter_table("hazards", schema=None) as batch_op:
        batch_op.drop_index("ix_hazards_rectified_hours")
    op.drop_table("hazard_tallies")
