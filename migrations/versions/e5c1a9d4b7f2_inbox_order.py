"""the team inbox read in index order: a task's client, priority and inbox line; the inbox a task is in; a person's own tasks by index

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

INBOX = ['state', 'queue', 'priority', 'due_at', 'created_at', 'id', 'pathway_key', 'client_id', 'assignee']
MINE = ['assignee', 'state', 'queue']


def upgrade():
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_id', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('summary', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('priority', sa.Integer(), nullable=False, server_default='50'))
        batch_op.add_column(sa.Column('queue', sa.String(length=200), nullable=True))
        batch_op.drop_index('ix_human_task_open')
        batch_op.drop_index('ix_human_task_assignee')
    # Tasks already there belong to their instance's client, at routine priority; a professional task of a
    # client on a pathway that teams follow is in its role's inbox.
    op.execute("UPDATE human_task SET client_id = "
               "(SELECT instance.client_id FROM instance WHERE instance.id = human_task.instance_id)")
    op.execute("UPDATE human_task SET queue = role WHERE audience = 'professional' AND client_id IS NOT NULL "
               "AND version_id IN (SELECT id FROM pathway_version WHERE kind <> 'self-care')")
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.create_index('ix_human_task_inbox', INBOX, unique=False)
        batch_op.create_index('ix_human_task_assignee', MINE, unique=False)


def downgrade():
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.drop_index('ix_human_task_inbox')
        batch_op.drop_index('ix_human_task_assignee')
        batch_op.create_index('ix_human_task_open', ['state', 'role', 'due_at'], unique=False)
        batch_op.create_index('ix_human_task_assignee', ['assignee'], unique=False)
        batch_op.drop_column('queue')
        batch_op.drop_column('priority')
        batch_op.drop_column('summary')
        batch_op.drop_column('client_id')
