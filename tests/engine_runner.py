"""Drives a workflow through the engine facade and restores it after every step.

Each step's changes are applied to an in-memory copy of the stored rows. Every ``reload_every``
steps the workflow is rebuilt from those rows and from SpiffWorkflow's own full serialization, both
must match, and the run goes on with the rebuilt one; in between it goes on with the live workflow,
as the server does while an instance stays in its cache.
"""

import json
from pathlib import Path

from SpiffWorkflow.util.task import TaskState

from orchestrator import engine
from orchestrator.engine import runtime

ROOT = Path(__file__).resolve().parent.parent


def forms_lookup(name: str) -> bytes | None:
    path = ROOT / "forms" / name
    return path.read_bytes() if path.is_file() else None


def package_files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.suffix in (".bpmn", ".dmn", ".md", ".json")}


class EngineRun:
    def __init__(self, files: dict[str, bytes], forms=forms_lookup, data: dict | None = None, reload_every: int = 1):
        self.reload_every, self.steps = reload_every, 0
        pages = {n: d for n, d in files.items() if n.endswith(".md")}  # content pages travel apart from the BPMN
        own = {n: d for n, d in files.items() if n.endswith(".json")}  # the package's own, before the shared forms
        self.compiled = engine.compile_files({n: d for n, d in files.items() if n not in pages and n not in own},
                                             lambda name: own.get(name) or forms(name), pages)
        self.specs = engine.restore_specs(json.loads(json.dumps(self.compiled.spec)))
        self.workflow = runtime.start(self.specs, engine.script_engine(), data)
        self.rows: dict[str, tuple] = {}
        self.snapshot = engine.Snapshot()
        self.restores = 0
        self.step(runtime.advance)

    def step(self, operation, *args):
        operation(self.workflow, *args)
        self._save_and_restore()

    def _save_and_restore(self):
        changes, self.snapshot, _ = engine.codec().changes(self.workflow, self.snapshot)
        for scope, task_id, doc in changes.upserts:
            self.rows[task_id] = (scope, task_id, doc)
        for task_id in changes.deletes:
            del self.rows[task_id]
        self.steps += 1
        if self.steps % self.reload_every:
            return
        head = json.loads(json.dumps(changes.head))
        restored = engine.codec().load(self.specs, head, list(self.rows.values()), engine.script_engine())
        assert engine.compare(self.workflow, restored) is None, engine.compare(self.workflow, restored)
        full = engine.serializer().deserialize_json(engine.serializer().serialize_json(self.workflow))
        assert engine.compare(self.workflow, full) is None
        # Carry on with the restored workflow, as the server does after a restart.
        self.workflow = restored
        self.snapshot = engine.snapshot(restored)
        self.restores += 1

    def ready(self) -> dict[str, str]:
        """Open human tasks: spec name → task id."""
        return {v.spec: v.id for v in map(engine.view, self.workflow.get_tasks(state=TaskState.READY)) if v.human}

    def complete(self, spec: str, data: dict):
        self.step(runtime.complete, self.ready()[spec], data)

    def data(self) -> dict:
        return self.workflow.data | self.workflow.last_task.data if self.workflow.last_task else {}
