"""one-time submission keys on supplements: a retried 补充说明 finds the first one

Revision ID: 9b3e5d71c2a4
Revises: 7d41a6c2e9f0
Create Date: 2026-11-24 01:50:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '9b3e5d71c2a4'
down_revision = '7d41a6c2e9f0'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('supplement', sa.Column('submission_key', sa.String(length=64), nullable=True))
    op.create_index('uq_supplement_author_submission', 'supplement', ['author_id', 'submission_key'], unique=True)


def downgrade():
    op.drop_index('uq_supplement_author_submission', table_name='supplement')
    with op.batch_alter_table('supplement') as batch_op:
        batch_op.drop_column('submission_key')
