"""deadline sweep: reminders about pending (unassigned) questions; corrections of published 集萃 items

Revision ID: 5c0f3e9a7b21
Revises: 2257dee1a4ae
Create Date: 2026-11-23 22:50:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '5c0f3e9a7b21'
down_revision = '2257dee1a4ae'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('pending_reminder',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['question_id'], ['question.id'], name=op.f('fk_pending_reminder_question_id_question'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_reminder')),
    sa.UniqueConstraint('question_id', 'kind', name='uq_pending_reminder_question_kind')
    )
    op.create_table('batch_correction',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('answer_md', sa.Text(), nullable=False),
    sa.Column('legal_basis', sa.Text(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_batch_correction_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['item_id'], ['batch_item.id'], name=op.f('fk_batch_correction_item_id_batch_item'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_batch_correction')),
    sa.UniqueConstraint('item_id', 'version', name='uq_batch_correction_item_version')
    )
    with op.batch_alter_table('batch_correction', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_batch_correction_item_id'), ['item_id'], unique=False)


def downgrade():
    with op.batch_alter_table('batch_correction', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_batch_correction_item_id'))
    op.drop_table('batch_correction')
    op.drop_table('pending_reminder')
