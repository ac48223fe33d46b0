"""where each task stands, by its node (for the diagrams), what a version's scenarios cover, versions
known by their parsed content, and incidents by element and time

Revision ID: f3b8d2a6c910
Revises: e5c1a9d4b7f2
Create Date: 2026-12-07 00:30:00.000000

"""
import json

from alembic import op
import sqlalchemy as sa

from orchestrator.engine.compile import payload_schemas
from orchestrator.engine.digest import content_digest


# revision identifiers, used by Alembic.
revision = 'f3b8d2a6c910'
down_revision = 'e5c1a9d4b7f2'
branch_labels = None
depends_on = None

# SpiffWorkflow's task states by their number (SpiffWorkflow/util/task.py).
STATES = {1: "MAYBE", 2: "LIKELY", 4: "FUTURE", 8: "WAITING", 16: "READY", 32: "STARTED", 64: "COMPLETED",
          128: "ERROR", 256: "CANCELLED"}


def upgrade():
    with op.batch_alter_table('task_state', schema=None) as batch_op:
        batch_op.add_column(sa.Column('spec', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('state', sa.String(length=12), nullable=True))
    with op.batch_alter_table('pathway_version', schema=None) as batch_op:
        batch_op.add_column(sa.Column('coverage', sa.JSON(), nullable=True))
    with op.batch_alter_table('instance', schema=None) as batch_op:
        batch_op.add_column(sa.Column('incident_element', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('incident_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_instance_incident', ['status', 'incident_at'], unique=False)
    # An incident of before: its element is what its text names first, its time the instance's last step.
    op.execute("UPDATE instance SET incident_at = updated_at, incident_element = "
               "substr(incident, 1, instr(incident, ':') - 1) WHERE status = 'incident'"
               if op.get_bind().dialect.name == "sqlite" else
               "UPDATE instance SET incident_at = updated_at, incident_element = split_part(incident, ':', 1) "
               "WHERE status = 'incident'")
    # The rows written before: their node and state read from the task document itself.
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        spec, state = "(doc::json)->>'task_spec'", "((doc::json)->>'state')::int"
    else:
        spec, state = "json_extract(doc, '$.task_spec')", "json_extract(doc, '$.state')"
    names = " ".join(f"WHEN {number} THEN '{name}'" for number, name in STATES.items())
    op.execute(f"UPDATE task_state SET spec = {spec}, state = CASE {state} {names} END")
    # A version is now known by its parsed content: a modeller's re-save of it is not a new version.
    versions = sa.table("pathway_version", sa.column("id", sa.Integer), sa.column("content_hash", sa.String),
                        sa.column("sources", sa.JSON), sa.column("forms", sa.JSON), sa.column("content", sa.JSON),
                        sa.column("settings", sa.JSON))
    for row in bind.execute(sa.select(versions)).all():
        digest = content_digest({n: t for n, t in _json(row.sources).items() if n.endswith((".bpmn", ".dmn"))},
                                _json(row.forms), _json(row.content), payload_schemas(_json(row.settings)))
        bind.execute(versions.update().where(versions.c.id == row.id).values(content_hash=digest))


def _json(value) -> dict:
    return (json.loads(value) if isinstance(value, str) else value) or {}


def downgrade():
    with op.batch_alter_table('instance', schema=None) as batch_op:
        batch_op.drop_index('ix_instance_incident')
        batch_op.drop_column('incident_at')
        batch_op.drop_column('incident_element')
    with op.batch_alter_table('pathway_version', schema=None) as batch_op:
        batch_op.drop_column('coverage')
    with op.batch_alter_table('task_state', schema=None) as batch_op:
        batch_op.drop_column('state')
        batch_op.drop_column('spec')
