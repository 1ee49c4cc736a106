"""audit log: PostgreSQL refuses TRUNCATE on audit_event

Revision ID: 2257dee1a4ae
Revises: e8686e08bd76
Create Date: 2026-11-23 22:40:00

TRUNCATE skips the row-level UPDATE/DELETE trigger of 0001, so a statement-level BEFORE TRUNCATE
trigger (reusing the audit_event_append_only() function) refuses it. SQLite has no TRUNCATE.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '2257dee1a4ae'
down_revision = 'e8686e08bd76'
branch_labels = None
depends_on = None


def upgrade():
    from qa.models.audit_chain import POSTGRESQL_TRUNCATE_GUARD

    if op.get_bind().dialect.name == "postgresql":
        for sql in POSTGRESQL_TRUNCATE_GUARD:
            op.execute(sql)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event")
