"""the metrics' rollups: per version, day and metric; clients' forms and PROM answers per quarter; how far
they are counted

Revision ID: b4d2f7e8a913
Revises: a7c3e9d1f254
Create Date: 2026-12-07 04:30:00.000000

The rollups are filled by the service itself: the first time it brings them up to date it counts them all
from the rows (``metrics.rollups``). The indexes let it find what was written since it last counted.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b4d2f7e8a913'
down_revision = 'a7c3e9d1f254'
branch_labels = None
depends_on = None

INDEXES = [
    ('ix_instance_updated', 'instance', ['updated_at']),
    ('ix_human_task_created', 'human_task', ['created_at']),
    ('ix_human_task_completed', 'human_task', ['completed_at']),
    ('ix_message_replied', 'message', ['replied_at']),
    ('ix_message_reply_by', 'message', ['reply_by']),
    ('ix_score_at', 'score', ['at']),
    ('ix_content_view_when', 'content_view', ['at']),
    ('ix_notification_task', 'notification', ['task_id']),
]


def upgrade():
    op.create_table(
        'metric_day',
        sa.Column('version_id', sa.Integer(), nullable=False),
        sa.Column('pathway_key', sa.String(length=100), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('metric', sa.String(length=40), nullable=False),
        sa.Column('known', sa.Date(), nullable=False),
        sa.Column('label', sa.String(length=200), nullable=False),
        sa.Column('bucket', sa.Integer(), nullable=False),
        sa.Column('value', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('version_id', 'pathway_key', 'day', 'metric', 'known', 'label', 'bucket'),
    )
    op.create_table(
        'metric_client',
        sa.Column('pathway_key', sa.String(length=100), nullable=False),
        sa.Column('quarter', sa.Date(), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=False),
        sa.Column('answered', sa.Integer(), nullable=False),
        sa.Column('decided', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('pathway_key', 'quarter', 'instance_id'),
    )
    op.create_index('ix_metric_client_instance', 'metric_client', ['instance_id'], unique=False)
    op.create_table(
        'metric_prom',
        sa.Column('pathway_key', sa.String(length=100), nullable=False),
        sa.Column('quarter', sa.Date(), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=False),
        sa.Column('scale', sa.String(length=100), nullable=False),
        sa.Column('answers', sa.Integer(), nullable=False),
        sa.Column('first', sa.Float(), nullable=False),
        sa.Column('last', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('pathway_key', 'quarter', 'instance_id', 'scale'),
    )
    op.create_index('ix_metric_prom_instance', 'metric_prom', ['instance_id'], unique=False)
    op.create_table(
        'rollup_mark',
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade():
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    op.drop_table('rollup_mark')
    op.drop_index('ix_metric_prom_instance', table_name='metric_prom')
    op.drop_table('metric_prom')
    op.drop_index('ix_metric_client_instance', table_name='metric_client')
    op.drop_table('metric_client')
    op.drop_table('metric_day')
