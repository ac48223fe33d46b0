"""Adherence: of a task the pathway plans a number of times (a series of readings), how many were done and missed."""

from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True)
class Adherence:
    spec: str
    title: str
    planned: int
    done: int
    missed: int

    @property
    def to_come(self) -> int:
        """The planned times neither done nor missed yet (none when the pathway did more than it planned)."""
        return max(self.planned - self.done - self.missed, 0)


def of(tasks, task_meta: dict) -> list[Adherence]:
    """Each task whose meta says how many times it is ``planned``, in the pathway's order, with the counts of its
    rows among ``tasks`` (the instance's HumanTask rows): completed ones are done, missed ones missed. A task
    closed otherwise (the pathway ended) and an open one count as neither."""
    counts = Counter((task.spec, task.state) for task in tasks)
    found = []
    for spec, meta in task_meta.items():
        planned = _planned(meta.get("planned"))
        if planned is not None:
            found.append(Adherence(spec, meta.get("title") or spec, planned, counts[spec, "completed"],
                                   counts[spec, "missed"]))
    return found


def _planned(value) -> int | None:
    """The planned count as the BPMN property writes it ("14"); anything else plans nothing to count."""
    text = str(value).strip() if value is not None else ""
    return int(text) if text.isdigit() and int(text) > 0 else None
