"""who viewed a content page

Revision ID: d7b3f0a8c215
Revises: c4a9e2f71b30
Create Date: 2026-12-06 19:55:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd7b3f0a8c215'
down_revision = 'c4a9e2f71b30'
branch_labels = None
depends_on = None


def upgrade():
    # Views counted before name no one: they count by their instance and role, as then.
    with op.batch_alter_table('content_view', schema=None) as batch_op:
        batch_op.add_column(sa.Column('viewer', sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table('content_view', schema=None) as batch_op:
        batch_op.drop_column('viewer')
