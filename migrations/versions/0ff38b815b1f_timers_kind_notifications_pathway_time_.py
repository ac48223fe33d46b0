"""timers: kind, notifications, pathway time zone

Revision ID: 0ff38b815b1f
Revises: 1807e3f704d3
Create Date: 2026-11-22 04:25:45.695463

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0ff38b815b1f'
down_revision = '1807e3f704d3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('audience', sa.String(length=20), nullable=False),
    sa.Column('recipient', sa.String(length=200), nullable=True),
    sa.Column('task_id', sa.String(length=36), nullable=True),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['instance.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index('ix_notification_recipient', ['audience', 'recipient', 'created_at'], unique=False)
        batch_op.create_index('ix_notification_undelivered', ['delivered_at'], unique=False)

    with op.batch_alter_table('pathway_version', schema=None) as batch_op:
        batch_op.add_column(sa.Column('time_zone', sa.String(length=64), nullable=True))

    with op.batch_alter_table('timer', schema=None) as batch_op:
        # Timers set before kinds were recorded: duration is what they were (the only kind projected then).
        batch_op.add_column(sa.Column('kind', sa.String(length=20), nullable=False, server_default='duration'))




def downgrade():
    with op.batch_alter_table('timer', schema=None) as batch_op:
        batch_op.drop_column('kind')

    with op.batch_alter_table('pathway_version', schema=None) as batch_op:
        batch_op.drop_column('time_zone')

    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_undelivered')
        batch_op.drop_index('ix_notification_recipient')
        batch_op.drop_index(batch_op.f('ix_notification_instance_id'))

    op.drop_table('notification')

