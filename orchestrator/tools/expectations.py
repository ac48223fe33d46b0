"""Checking a played scenario's expectations against what happened to its instance, on the pathway's calendar:
the first that does not hold, said as what was expected and what happened."""

from collections import namedtuple
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from .. import engine
from ..extensions import db
from ..models import Event, HumanTask, Instance, Notification
from .scenario_files import ENDED, ENDS, EVENTS, OPTIONS, Scenario

Seen = namedtuple("Seen", "at to text")


class _Facts:
    """What happened to one scenario's instance, read from the throwaway database, on the pathway's calendar."""

    def __init__(self, instance_id: int, start: datetime, zone: str):
        self.zone, self.start = ZoneInfo(zone), start
        self.instance = db.session.get(Instance, instance_id)
        self.tasks = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id)
                                        .order_by(HumanTask.created_at)).all()
        self.notes = db.session.scalars(select(Notification).where(Notification.instance_id == instance_id)
                                        .order_by(Notification.id)).all()
        events = db.session.scalars(select(Event).where(Event.instance_id == instance_id).order_by(Event.id)).all()
        self.incidents = [(e.data["incident"].get("element") or "process", e.data["incident"].get("message", ""), e.at)
                          for e in events if (e.data or {}).get("incident")]
        self.duration_ended = any(e.kind == "duration_ended" for e in events)

    def seen(self, kind: str, element: str) -> list[Seen]:
        if kind in ("reminder", "notice"):
            return [Seen(n.created_at, "client" if n.audience == "client" else n.recipient, n.text)
                    for n in self.notes if n.kind == kind and n.source == element]
        return [Seen(t.completed_at if kind == "missed" else t.created_at,
                     "client" if t.audience == "client" else t.role, t.title) for t in self.tasks
                if t.spec == element and (kind != "missed" or t.state == "missed")
                and (kind != "alert" or t.audience == "professional")]

    def local(self, at: datetime) -> datetime:
        return at.astimezone(self.zone)

    def minute(self, at: datetime) -> int:
        return self.local(at).hour * 60 + self.local(at).minute

    def within(self, at: datetime, window: list[str]) -> bool:
        low, high = (_minute(c) for c in window)
        return low <= self.minute(at) < high if low <= high else not high <= self.minute(at) < low

    def day(self, at: datetime) -> int:
        return (self.local(at).date() - self.local(self.start).date()).days

    def when(self, at: datetime) -> str:
        return f"on day {self.day(at)} ({self.local(at):%a %Y-%m-%d %H:%M})"


def first_failed(scenario: Scenario, instance_id: int, zone: str) -> tuple[str, str | None] | None:
    """A played scenario's first unmet expectation: (what was expected, but what happened; its element), or None."""
    facts = _Facts(instance_id, scenario.script.start, zone)
    if facts.incidents and not any("incident" in exp for exp in scenario.expect):
        element, message, at = facts.incidents[0]
        return f"an incident at {element} {facts.when(at)}: {message}", element
    for exp in scenario.expect:
        kind = next(k for k in exp if k in OPTIONS)
        check = _events if kind in EVENTS else _ends if kind == "ends" else _incident if "incident" in kind \
            else _none_between
        failed = check(exp, kind, facts)
        if failed:
            return f"expected {failed}", exp[kind] if kind in (*EVENTS, "incident") else None
    return None


def _events(exp: dict, kind: str, facts: _Facts) -> str | None:
    what, past = EVENTS[kind][0].format(exp[kind]), EVENTS[kind][1]
    seen, times = facts.seen(kind, exp[kind]), exp.get("times")
    if (times is None and not seen) or (times is not None and len(seen) != times):
        shown = ", ".join(facts.when(s.at)[3:] for s in seen[:3]) + (", …" if len(seen) > 3 else "")
        return f"{what}{'' if times is None else ' ' + _count(times)} but {past} {_count(len(seen))}" + \
            (f" ({shown})" if seen else "")
    for check in (_at_fails, _days_fail, _between_fails, _to_fails, _says_fails):
        failed = check(exp, seen, facts)
        if failed:
            return f"{what} {failed[0]} but {past} {failed[1]}"
    return None


def _count(n: int) -> str:
    return f"{n} time{'' if n == 1 else 's'}"


def _at_fails(exp: dict, seen: list[Seen], facts: _Facts) -> tuple[str, str] | None:
    at = exp.get("at")
    if isinstance(at, str) and "T" in at:
        moment = datetime.fromisoformat(at)
        moment = facts.local(moment if moment.tzinfo else moment.replace(tzinfo=facts.zone))
        if not any(facts.local(s.at).replace(second=0, microsecond=0) == moment for s in seen):
            return f"at {moment:%a %Y-%m-%d %H:%M}", ", ".join(facts.when(s.at) for s in seen[:3])
    elif at is not None:
        clocks = [at] if isinstance(at, str) else at
        wrong = next((s for s in seen if facts.minute(s.at) not in {_minute(c) for c in clocks}), None)
        if wrong:
            return f"at {' or '.join(clocks)}", facts.when(wrong.at)
    return None


def _days_fail(exp: dict, seen: list[Seen], facts: _Facts) -> tuple[str, str] | None:
    days = sorted(facts.day(s.at) for s in seen)
    if "on_days" in exp and days != sorted(exp["on_days"]):
        return f"on days {', '.join(map(str, sorted(exp['on_days'])))}", f"on days {', '.join(map(str, days))}"
    return None


def _between_fails(exp: dict, seen: list[Seen], facts: _Facts) -> tuple[str, str] | None:
    wrong = next((s for s in seen if not facts.within(s.at, exp["between"])), None) if "between" in exp else None
    return (f"between {exp['between'][0]} and {exp['between'][1]}", facts.when(wrong.at)) if wrong else None


def _to_fails(exp: dict, seen: list[Seen], facts: _Facts) -> tuple[str, str] | None:
    wrong = next((s for s in seen if s.to != exp["to"]), None) if "to" in exp else None
    return (f"for {exp['to']}", f"for {wrong.to or 'nobody'} {facts.when(wrong.at)}") if wrong else None


def _says_fails(exp: dict, seen: list[Seen], facts: _Facts) -> tuple[str, str] | None:
    if "says" not in exp or any(exp["says"] in s.text for s in seen):
        return None
    return f"saying \"{exp['says']}\"", f"saying \"{seen[0].text[:200]}\" {facts.when(seen[0].at)}"


def _none_between(exp: dict, kind: str, facts: _Facts) -> str | None:
    low, high = exp[kind]
    if kind == "no_client_task_between":
        found, label = [(t.created_at, t.spec, "opened") for t in facts.tasks if t.audience == "client"], "client task"
    else:
        found, label = [(n.created_at, n.source, "was sent") for n in facts.notes if n.kind == "reminder"], "reminder"
    wrong = next((f for f in sorted(found) if facts.within(f[0], [low, high])), None)
    return f"no {label} between {low} and {high} but '{wrong[1]}' {wrong[2]} {facts.when(wrong[0])}" if wrong else None


def _ends(exp: dict, kind: str, facts: _Facts) -> str | None:
    ended = facts.instance.ended_at
    how = "never" if ended is None else "duration ended" if facts.duration_ended else facts.instance.status
    want, got = ENDS[exp["ends"]], ENDED.get(how, f"it ended {how} {{}}").format(ended and facts.when(ended))
    if how != exp["ends"]:
        return f"{want} but {got}"
    if "by" in exp and ended > engine.calendar.add(facts.start, exp["by"], facts.zone):
        return f"{want} by {exp['by']} but {got}"
    failed = _at_fails(exp, [Seen(ended, "", "")], facts) if ended else None
    return f"{want} {failed[0]} but {got}" if failed else None


def _incident(exp: dict, kind: str, facts: _Facts) -> str | None:
    found = facts.incidents[0] if facts.incidents else None
    if kind == "no_incident":
        return found and f"no incident but there was one at {found[0]} {facts.when(found[2])}: {found[1]}"
    if any(i[0] == exp["incident"] and exp.get("says", "") in i[1] for i in facts.incidents):
        return None
    said = f" saying \"{exp['says']}\"" if "says" in exp else ""
    return f"an incident at {exp['incident']}{said} but there was " + (f"one at {found[0]}: {found[1]}" if found
                                                                       else "none")


def _minute(clock: str) -> int:
    at = engine.calendar.clock_time(clock)
    return at.hour * 60 + at.minute
