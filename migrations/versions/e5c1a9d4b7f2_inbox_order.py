"""the team inbox read in index order: a task's client, priority and inbox line

Revision ID: e5c1a9d4b7f2
Revises: d7b3f0a8c215
Create Date: 2026-12-06 22:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e5c1a9d4b7f2'
down_revision = 'd7b3f0a8c215'
branch_labels = None
depends_on = None

INBOX = ['state', 'audience', 'role', 'priority', 'due_at', 'created_at', 'id', 'pathway_key', 'version_id',
         'client_id', 'assignee']


def upgrade():
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_id', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('summary', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('priority', sa.Integer(), nullable=False, server_default='50'))
        batch_op.drop_index('ix_human_task_open')
    # Tasks already open belong to their instance's client, at routine priority.
    op.execute("UPDATE human_task SET client_id = "
               "(SELECT instance.client_id FROM instance WHERE instance.id = human_task.instance_id)")
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.create_index('ix_human_task_inbox', INBOX, unique=False)


def downgrade():
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.drop_index('ix_human_task_inbox')
        batch_op.create_index('ix_human_task_open', ['state', 'role', 'due_at'], unique=False)
        batch_op.drop_column('priority')
        batch_op.drop_column('summary')
        batch_op.drop_column('client_id')
