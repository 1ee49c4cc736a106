"""one-time submission keys on questions and answers: a retried post finds the first one

Revision ID: 7d41a6c2e9f0
Revises: 5c0f3e9a7b21
Create Date: 2026-11-23 23:35:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '7d41a6c2e9f0'
down_revision = '5c0f3e9a7b21'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('question', sa.Column('submission_key', sa.String(length=64), nullable=True))
    op.create_index('uq_question_asker_submission', 'question', ['asker_id', 'submission_key'], unique=True)
    op.add_column('answer', sa.Column('submission_key', sa.String(length=64), nullable=True))
    op.create_index('uq_answer_author_submission', 'answer', ['author_id', 'submission_key'], unique=True)


def downgrade():
    op.drop_index('uq_answer_author_submission', table_name='answer')
    with op.batch_alter_table('answer') as batch_op:
        batch_op.drop_column('submission_key')
    op.drop_index('uq_question_asker_submission', table_name='question')
    with op.batch_alter_table('question') as batch_op:
        batch_op.drop_column('submission_key')
