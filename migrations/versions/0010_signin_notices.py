"""sign-in notices: tell every worker when an account, its zones or a session changes

Workers remember sign-in checks (signage/accounts/signins.py) and must forget one the moment it
stops being true, whoever changed it: the app in another worker, a CLI command, or plain SQL.
These triggers send NOTIFY signage_signins with the user's id when a row of users, user_zones or
auth_sessions is updated or deleted (a zone given is an insert too), and '*' when one of them is
truncated. PostgreSQL delivers a notice when its transaction commits, and only then. SQLite has
no NOTIFY; there nothing is remembered, so nothing is needed.

Revision ID: 0010_signin_notices
Revises: 0009_hazard_write_indexes
Create Date: 2026-11-28 15:50:00

"""

from alembic import op

revision = "0010_signin_notices"
down_revision = "0009_hazard_write_indexes"
branch_labels = None
depends_on = None

# (table, the user id column, the row events that concern a sign-in)
_WATCHED = (
    ("users", "id", "UPDATE OR DELETE"),
    ("user_zones", "user_id", "INSERT OR UPDATE OR DELETE"),
    ("auth_sessions", "user_id", "UPDATE OR DELETE"),
)


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column, events in _WATCHED:
        op.execute(f"""
            CREATE FUNCTION signage_signins_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'DELETE' THEN
                    PERFORM pg_notify('signage_signins', OLD.{column}::text);
                ELSE
                    PERFORM pg_notify('signage_signins', NEW.{column}::text);
                    IF TG_OP = 'UPDATE' AND OLD.{column} IS DISTINCT FROM NEW.{column} THEN
                        PERFORM pg_notify('signage_signins', OLD.{column}::text);
                    END IF;
                END IF;
                RETURN NULL;
            END $$
        """)
        op.execute(f"""
            CREATE TRIGGER signage_signins_{table} AFTER {events} ON {table}
            FOR EACH ROW EXECUTE FUNCTION signage_signins_{table}()
        """)
    op.execute("""
        CREATE FUNCTION signage_signins_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('signage_signins', '*');
            RETURN NULL;
        END $$
    """)
    for table, _column, _events in _WATCHED:
        op.execute(f"""
            CREATE TRIGGER signage_signins_{table}_truncated AFTER TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION signage_signins_truncated()
        """)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, _column, _events in _WATCHED:
        op.execute(f"DROP TRIGGER signage_signins_{table}_truncated ON {table}")
        op.execute(f"DROP TRIGGER signage_signins_{table} ON {table}")
        op.execute(f"DROP FUNCTION signage_signins_{table}()")
    op.execute("DROP FUNCTION signage_signins_truncated()")
