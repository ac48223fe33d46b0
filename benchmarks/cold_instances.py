"""Many active instances for the completion benchmark's cold mode, seeded fast and restored for real.

    .venv/bin/python benchmarks/cold_instances.py DATABASE_URL OUT.json --sizes 10,500 --count 5000 [--models 5]

For each size n (the benchmark's pathway ``seq<n>``, already deployed on the database):

1. ``--models`` instances are started with ``steps.start`` and advanced with ``steps.complete`` (the step
   transaction, in process, with the round-trip verification off) to positions spread over the pathway:
   0, n/models, 2n/models, ... completed tasks, so the cold instances are at as many stages of their lives.
2. From each model, one template: a copy of its rows (instance, task_state documents, human_task rows, events)
   with a new instance id and every SpiffWorkflow task id replaced by a fresh one, consistently in the head, the
   documents, the task rows and the events. A template's task ids share their last 12 hex digits (the rest is
   random), so a copy of it needs one text replacement per value.
3. ``--count`` copies in all, made in SQL from the templates (``INSERT ... SELECT``, the last 12 hex digits of
   the task ids replaced by each copy's own random ones): real, independent instances, each with its own ids
   and rows, which no server process has seen, so each first step on one restores it from the database. Each
   copy's rows are written together, as a start writes an instance's (an instance that has lived for months
   on PostgreSQL has its task rows' newer versions spread over more pages than that).
4. Two copies of each size are loaded back with a fresh app and checked: the engine's one READY user task is
   the copy's one open human_task row; and an instance of each template is completed one step in process.

Models that other tables than those four would hold rows for (observations, outbox, ...) are refused: a copy
would then miss them. The output file maps each size to its copies' [instance id, open task id] pairs.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import uuid
from pathlib import Path

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import JSON, func, insert, select, text

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.setrecursionlimit(20_000)  # SpiffWorkflow restores specs recursively, one level per node in a sequence

from config import Config  # noqa: E402
from orchestrator import create_app  # noqa: E402
from orchestrator.core import steps  # noqa: E402
from orchestrator.extensions import db  # noqa: E402
from orchestrator.models import Event, HumanTask, Instance, Pathway, PathwayVersion  # noqa: E402
from orchestrator.models import TaskState as TaskStateRow  # noqa: E402

ACTOR = "bench"
COPIED = {"instance": Instance.__table__, "task_state": TaskStateRow.__table__, "human_task": HumanTask.__table__,
          "event": Event.__table__}
TASK_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
COPY_TABLE = "bench_cold_copy"


def app_for(url: str):
    class BenchConfig(Config):
        POLKU_ENV = "development"
        SQLALCHEMY_DATABASE_URI = url
        POLKU_SCHEDULER = "off"
        POLKU_VERIFY_STATE = False

    return create_app(BenchConfig)


def open_task(instance_id: int) -> str:
    found = db.session.scalars(select(HumanTask.id).where(HumanTask.instance_id == instance_id,
                                                          HumanTask.state == "open")).all()
    db.session.rollback()
    if len(found) != 1:
        raise RuntimeError(f"instance {instance_id}: {len(found)} open tasks, expected one")
    return found[0]


def start_models(version: PathwayVersion, n: int, models: int) -> list[int]:
    """Instances of seq<n> advanced to positions spread over the pathway (each has a task left)."""
    started = []
    for k in range(models):
        instance_id = steps.start(version, ACTOR, {}, None, None).id
        for i in range(k * n // models):
            steps.complete(open_task(instance_id), {"v": i + 1}, ACTOR)
        started.append(instance_id)
    return started


def suffix() -> str:
    return uuid.uuid4().hex[:12]


def new_task_id(tail: str) -> str:
    return str(uuid.uuid4())[:24] + tail


def other_rows(instance_id: int) -> list[str]:
    """Tables other than the copied ones that hold rows of the instance."""
    found = []
    for table in db.metadata.sorted_tables:
        if table.name not in COPIED and "instance_id" in table.c and db.session.scalar(
                select(func.count()).select_from(table).where(table.c.instance_id == instance_id)):
            found.append(table.name)
    return found


def make_template(model_id: int, template_id: int) -> str:
    """Copy a model's rows with new task ids sharing one tail; returns the tail."""
    others = other_rows(model_id)
    if others:
        raise RuntimeError(f"model instance {model_id} has rows in {others}: the copies would miss them")
    tail = suffix()
    rows = {name: [dict(r) for r in db.session.execute(
        select(table).where((table.c.id if name == "instance" else table.c.instance_id) == model_id)).mappings()]
        for name, table in COPIED.items()}
    mapping = {r["task_id"]: new_task_id(tail) for r in rows["task_state"]}

    def rekey(value):
        if isinstance(value, str):
            return TASK_ID.sub(lambda m: mapping.get(m.group(), m.group()), value)
        if isinstance(value, dict | list):
            return json.loads(rekey(json.dumps(value)))
        return value

    for name, found in rows.items():
        for row in found:
            row.update({key: rekey(value) for key, value in row.items()})
            row["instance_id" if name != "instance" else "id"] = template_id
            if name == "event":
                del row["id"]
    conn = db.session.connection()
    for name, table in COPIED.items():
        conn.execute(insert(table), rows[name])
    db.session.commit()
    return tail


def copy_sql(dialect: str) -> list[str]:
    """One INSERT ... SELECT per table: every copy of every template at once, task id tails replaced."""
    statements = []
    for name, table in COPIED.items():
        columns, values = [], []
        for column in table.c:
            if name == "event" and column.name == "id":
                continue
            source = f"t.{column.name}"
            if column.name == ("id" if name == "instance" else "instance_id"):
                value = "c.new_id"
            elif isinstance(column.type, JSON):  # stored as text on SQLite
                value = (f"replace({source}::text, c.template_tail, c.tail)::json" if dialect == "postgresql"
                         else f"replace({source}, c.template_tail, c.tail)")
            elif python_type(column) is str:
                value = f"replace({source}, c.template_tail, c.tail)"
            else:
                value = source
            columns.append(column.name)
            values.append(value)
        key = "id" if name == "instance" else "instance_id"
        statements.append(f"INSERT INTO {name} ({', '.join(columns)}) SELECT {', '.join(values)} "
                          # Copy by copy (CROSS JOIN keeps that order on SQLite), each template's rows by index, and
                          # each copy's rows written together, as a start writes an instance's: PostgreSQL's planner
                          # would otherwise interleave the copies, one page per task row of an instance.
                          f"FROM {COPY_TABLE} c CROSS JOIN {name} t WHERE t.{key} = c.template_id ORDER BY c.new_id")
    return statements


def python_type(column):
    try:
        return column.type.python_type
    except NotImplementedError:
        return None


def copy_all(templates: list[tuple[int, str]], count: int, first_id: int) -> list[int]:
    """``count`` copies spread over the templates, instance ids from ``first_id``."""
    dialect = db.engine.dialect.name
    conn = db.session.connection()
    if dialect == "sqlite":  # the indexes' pages in memory while a million rows go in (in KiB; this connection)
        conn.execute(text("PRAGMA cache_size = -2000000"))
    conn.execute(text(f"DROP TABLE IF EXISTS {COPY_TABLE}"))
    conn.execute(text(f"CREATE TABLE {COPY_TABLE} (new_id INTEGER PRIMARY KEY, template_id INTEGER NOT NULL, "
                      "template_tail VARCHAR(12) NOT NULL, tail VARCHAR(12) NOT NULL)"))
    tails = set()
    rows = []
    for k in range(count):
        template_id, template_tail = templates[k % len(templates)]
        tail = suffix()
        while tail in tails:
            tail = suffix()
        tails.add(tail)
        rows.append({"new_id": first_id + k, "template_id": template_id, "template_tail": template_tail,
                     "tail": tail})
    conn.execute(text(f"INSERT INTO {COPY_TABLE} VALUES (:new_id, :template_id, :template_tail, :tail)"), rows)
    for statement in copy_sql(dialect):
        conn.execute(text(statement))
    conn.execute(text(f"DROP TABLE {COPY_TABLE}"))
    db.session.commit()
    return [row["new_id"] for row in rows]


def advance_sequence() -> None:
    """Instance ids were given explicitly: on PostgreSQL, move the id sequence past them."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SELECT setval(pg_get_serial_sequence('instance', 'id'), "
                                "(SELECT max(id) FROM instance))"))
        db.session.commit()


def check_copy(instance_id: int) -> None:
    """Loaded from its rows, the copy's one READY user task is its one open human_task row."""
    store = steps.store()
    workflow = store.load(store.lock(instance_id)).workflow
    db.session.rollback()
    ready = [str(t.id) for t in workflow.get_tasks(state=TaskState.READY, manual=True)]
    if ready != [open_task(instance_id)]:
        raise RuntimeError(f"copy {instance_id}: READY tasks {ready}, open task row {open_task(instance_id)}")


def seed(url: str, sizes: list[int], count: int, models: int) -> dict:
    began = time.perf_counter()
    found: dict = {"sizes": {}, "seconds": {}}
    app = app_for(url)
    with app.app_context():
        versions = {n: db.session.scalars(select(PathwayVersion).join(PathwayVersion.pathway)
                                          .where(Pathway.key == f"seq{n}").order_by(PathwayVersion.number.desc())
                                          ).first() for n in sizes}
        next_id = (db.session.scalar(select(func.max(Instance.id))) or 0) + 1
        plans = {}
        for n in sizes:
            t0 = time.perf_counter()
            model_ids = start_models(versions[n], n, models)
            next_id = max(next_id, (db.session.scalar(select(func.max(Instance.id))) or 0) + 1)
            templates = []
            for model_id in model_ids:
                templates.append((next_id, make_template(model_id, next_id)))
                next_id += 1
            plans[n] = templates
            advance_sequence()
            found["seconds"][f"models_seq{n}"] = round(time.perf_counter() - t0, 1)
        for n in sizes:
            t0 = time.perf_counter()
            copies = copy_all(plans[n], count, next_id)
            next_id += count
            found["seconds"][f"copies_seq{n}"] = round(time.perf_counter() - t0, 1)
            found["sizes"][str(n)] = copies
        advance_sequence()
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("ANALYZE"))  # as autovacuum soon would after a bulk load
            db.session.commit()
        db.session.remove()
        db.engine.dispose()
    checked = create_checks(url, found["sizes"], plans)
    with app_for(url).app_context():
        tasks = dict(db.session.execute(select(HumanTask.instance_id, HumanTask.id).where(HumanTask.state == "open")
                                        ).all())
        db.session.remove()
        db.engine.dispose()
    found["sizes"] = {n: [[i, tasks[i]] for i in ids] for n, ids in found["sizes"].items()}
    found["checked"] = checked
    found["seconds"]["total"] = round(time.perf_counter() - began, 1)
    return found


def create_checks(url: str, sizes: dict[str, list[int]], plans: dict) -> list[int]:
    """A fresh app (nothing cached): two copies of each size loaded and checked; each template one step on."""
    checked = []
    with app_for(url).app_context():
        for ids in sizes.values():
            for instance_id in (ids[0], ids[-1]):
                check_copy(instance_id)
                checked.append(instance_id)
        for templates in plans.values():
            for template_id, _ in templates:
                check_copy(template_id)
                steps.complete(open_task(template_id), {"v": 1}, ACTOR)
                checked.append(template_id)
        db.session.remove()
        db.engine.dispose()
    return checked


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="the database (SQLAlchemy URL), migrated, with seq<n> deployed")
    parser.add_argument("out", type=Path, help="where to write the instances (JSON)")
    parser.add_argument("--sizes", default="10,500")
    parser.add_argument("--count", type=int, default=5000, help="instances per size (default 5000)")
    parser.add_argument("--models", type=int, default=5, help="instances started for real per size (default 5)")
    args = parser.parse_args(argv)
    found = seed(args.url, [int(n) for n in args.sizes.split(",")], args.count, args.models)
    args.out.write_text(json.dumps(found))
    return 0


if __name__ == "__main__":
    sys.exit(main())
