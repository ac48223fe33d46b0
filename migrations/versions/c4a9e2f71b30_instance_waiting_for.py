"""the messages an instance can take now

Revision ID: c4a9e2f71b30
Revises: edbd157e12e2
Create Date: 2026-12-06 19:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4a9e2f71b30'
down_revision = 'edbd157e12e2'
branch_labels = None
depends_on = None


def upgrade():
    # Instances written before: None until their next step (the API then falls back to what the version declares).
    with op.batch_alter_table('instance', schema=None) as batch_op:
        batch_op.add_column(sa.Column('waiting_for', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('instance', schema=None) as batch_op:
        batch_op.drop_column('waiting_for')
