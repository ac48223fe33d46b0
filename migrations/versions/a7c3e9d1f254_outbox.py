"""the outbox: a client's channels, messages to send, webhook subscriptions, and each attempt at sending

Revision ID: a7c3e9d1f254
Revises: f3b8d2a6c910
Create Date: 2026-12-07 01:15:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7c3e9d1f254'
down_revision = 'f3b8d2a6c910'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'contact_choice',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('owner', sa.String(length=200), nullable=False),
        sa.Column('channel', sa.String(length=10), nullable=False),
        sa.Column('address', sa.String(length=320), nullable=True),
        sa.Column('language', sa.String(length=5), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_contact_choice_owner', 'contact_choice', ['owner', 'channel', 'id'], unique=False)
    op.create_table(
        'outbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=10), nullable=False),
        sa.Column('recipient', sa.String(length=2000), nullable=False),
        sa.Column('subject', sa.String(length=300), nullable=True),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('headers', sa.JSON(), nullable=True),
        sa.Column('reference', sa.String(length=100), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['instance_id'], ['instance.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('reference'),
    )
    op.create_index('ix_outbox_due', 'outbox', ['status', 'due_at'], unique=False)
    op.create_index(op.f('ix_outbox_instance_id'), 'outbox', ['instance_id'], unique=False)
    op.create_table(
        'webhook_subscription',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('url', sa.String(length=2000), nullable=False),
        sa.Column('secret', sa.String(length=200), nullable=False),
        sa.Column('event_types', sa.JSON(), nullable=False),
        sa.Column('created_by', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'delivery_attempt',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('outgoing_id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ok', sa.Boolean(), nullable=False),
        sa.Column('detail', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['outgoing_id'], ['outbox.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_delivery_attempt_outgoing_id'), 'delivery_attempt', ['outgoing_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_delivery_attempt_outgoing_id'), table_name='delivery_attempt')
    op.drop_table('delivery_attempt')
    op.drop_table('webhook_subscription')
    op.drop_index(op.f('ix_outbox_instance_id'), table_name='outbox')
    op.drop_index('ix_outbox_due', table_name='outbox')
    op.drop_table('outbox')
    op.drop_index('ix_contact_choice_owner', table_name='contact_choice')
    op.drop_table('contact_choice')
