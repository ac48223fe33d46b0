"""Reading a pathway's scenario files (the format is described in ``scenarios.py``): each checked against the
pathway, so that a file naming a task, message or team the pathway does not have is refused at deploy, naming
the file and the field."""

import json
from dataclasses import dataclass
from datetime import datetime

from .. import engine
from ..core import projection
from ..engine import PackageInvalid, Problem
from . import simulate

ANSWERS = ("start", "client_id", "variables", "tasks", "delays", "messages")
FIELDS = ("name", "days", "expect", *ANSWERS)
MAX_DAYS = 800
EVENTS = {"opens": ("task '{}' to open", "it opened"), "alert": ("alert '{}' to open", "it opened"),
          "missed": ("task '{}' to be missed", "it was missed"),
          "reminder": ("reminder '{}' to be sent", "it was sent"), "notice": ("notice '{}' to be sent", "it was sent")}
SEEN = ("times", "at", "on_days", "between", "to")
OPTIONS = {"opens": SEEN, "alert": SEEN, "missed": SEEN, "reminder": (*SEEN, "says"), "notice": (*SEEN, "says"),
           "no_client_task_between": (), "no_reminder_between": (), "ends": ("by", "at"), "incident": ("says",),
           "no_incident": ()}
ENDS = {"completed": "the pathway to reach its end", "duration ended": "the pathway to be ended by its duration",
        "never": "the pathway to be still running"}
ENDED = {"never": "it was still running at the scenario's end", "completed": "it reached its end {}",
         "duration ended": "its duration ended it {}", "cancelled": "it was cancelled {}"}
@dataclass
class Scenario:
    file: str
    name: str
    days: int
    script: simulate.Script
    expect: list[dict]


class _Bad(Exception):
    """What is wrong with one field of a scenario file."""

    def __init__(self, field: str, reason: str):
        super().__init__(reason)
        self.field, self.reason = field, reason


def load(file: str, data: bytes, result: engine.CompiledPathway, zone: str) -> Scenario:
    """A scenario file read and checked against the pathway; PackageInvalid names the file, field and what is wrong."""
    try:
        raw = json.loads(data.decode("utf-8"))
        if not isinstance(raw, dict):
            raise _Bad("", "a scenario is a JSON object with name, days, start, expect and the answers")
        return _scenario(file, raw, result, zone)
    except _Bad as bad:
        raise PackageInvalid([Problem(file, f"{bad.field}: {bad.reason}" if bad.field else bad.reason)]) from None
    except ValueError as exc:  # not UTF-8, not JSON
        raise PackageInvalid([Problem(file, f"not JSON: {exc}")]) from None


def _scenario(file: str, raw: dict, result: engine.CompiledPathway, zone: str) -> Scenario:
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise _Bad(unknown[0], f"not a field of a scenario (its fields: {', '.join(FIELDS)})")
    name, days = raw.get("name"), raw.get("days")
    if not isinstance(name, str) or not name.strip():
        raise _Bad("name", "give the scenario a name; errors show it")
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise _Bad("days", f"how many days the scenario runs: a whole number from 1 to {MAX_DAYS}")
    if not isinstance(raw.get("start"), str):
        raise _Bad("start", "the moment the scenario starts, such as \"2026-01-05T09:00\", so that it runs alike")
    if not isinstance(raw.get("expect"), list) or not raw["expect"]:
        raise _Bad("expect", "a list of expectations, such as [{\"opens\": \"<task id>\"}]")
    try:
        script = simulate.Script.from_dict({k: raw[k] for k in ANSWERS if k in raw}, zone)
    except simulate.ScriptInvalid as exc:
        raise _Bad("", str(exc)) from None
    _check_names(script, result)
    return Scenario(file, name.strip(), days, script,
                    [_expectation(f"expect[{i}]", e, result) for i, e in enumerate(raw["expect"])])


def _check_names(script: simulate.Script, result: engine.CompiledPathway) -> None:
    """The answers name the pathway's own tasks and messages."""
    tasks = _elements(result, "opens")
    for spec in (*script.tasks, *script.delays):
        if spec not in tasks:
            raise _Bad(f"{'tasks' if spec in script.tasks else 'delays'}.{spec}",
                       f"'{spec}' is not a task of the pathway (its tasks: {', '.join(sorted(tasks))})")
    for message in script.messages:
        if message["name"] not in result.messages:
            raise _Bad(f"messages[{message['index']}].name", f"'{message['name']}' is not a message the pathway "
                                                             f"takes ({', '.join(result.messages) or 'none'})")


def _elements(result: engine.CompiledPathway, kind: str) -> set[str]:
    """The element ids an expectation of ``kind`` may name."""
    meta = result.task_meta
    if kind in ("reminder", "notice"):
        return {k for k, m in meta.items() if (m.get("reminder") if kind == "reminder" else m.get("kind") == "notice")}
    human = {k for k, m in meta.items() if m.get("kind") in engine.metadata.HUMAN_TAGS}
    return {k for k in human if kind != "alert" or projection.audience(
        meta[k].get("lane"), meta[k].get("candidate_groups") or []) == "professional"}


def _expectation(where: str, exp, result: engine.CompiledPathway) -> dict:
    if not isinstance(exp, dict):
        raise _Bad(where, "an expectation is a JSON object, such as {\"opens\": \"<task id>\"}")
    kinds = [k for k in exp if k in OPTIONS]
    if len(kinds) != 1:
        unknown = [k for k in exp if k not in OPTIONS]
        said = f"unknown expectation '{unknown[0]}'" if unknown and not kinds else "one expectation per item"
        raise _Bad(where, f"{said} (the expectations: {', '.join(OPTIONS)})")
    for option, value in exp.items():
        if option != kinds[0] and option not in OPTIONS[kinds[0]]:
            raise _Bad(f"{where}.{option}", f"not an option of '{kinds[0]}' (its options: "
                                            f"{', '.join(OPTIONS[kinds[0]]) or 'none'})")
        if option in EVENTS and value not in _elements(result, option):
            known = ", ".join(sorted(_elements(result, option))) or "none"
            raise _Bad(f"{where}.{option}", f"'{value}' is not {WANTED[option]} of the pathway (those it has: {known})")
        teams = sorted(projection.teams(result.task_meta, result.kind))
        test, wanted = VALUES.get(option, (lambda v, t: True, ""))
        try:
            fits = test(value, teams)
        except ValueError:
            fits = False
        if not fits:
            raise _Bad(f"{where}.{option}", f"'{value}' is not {wanted.format(', '.join(teams) or 'none')}")
    return exp


def _clocks(value) -> bool:
    clocks = [value] if isinstance(value, str) else value
    return isinstance(clocks, list) and bool(clocks) and all(engine.calendar.clock_time(c) for c in clocks)


def _window(value, _teams=None) -> bool:
    return isinstance(value, list) and len(value) == 2 and _clocks(value)


WINDOW = "[from, to] in local clock time, such as [\"22:00\", \"06:00\"]"
WANTED = {"opens": "a task", "missed": "a task", "alert": "a professional's task",
          "reminder": "a timer with a reminder", "notice": "an event with a notice"}
VALUES = {  # each option's test (value, the pathway's teams) and what it takes
    "times": (lambda v, t: isinstance(v, int) and not isinstance(v, bool) and v >= 0, "a count, such as 12"),
    "at": (lambda v, t: bool(datetime.fromisoformat(v)) if isinstance(v, str) and "T" in v else _clocks(v),
           "a local time such as \"2026-01-12T09:00\", or a clock time such as \"07:00\" or a list of such"),
    "on_days": (lambda v, t: isinstance(v, list) and all(isinstance(d, int) and d >= 0 for d in v),
                "a list of the pathway's days (day 0 the start's), such as [7, 14]"),
    "between": (_window, WINDOW), "no_client_task_between": (_window, WINDOW), "no_reminder_between": (_window, WINDOW),
    "to": (lambda v, t: v == "client" or v in t, "\"client\" or a team that follows the pathway ({})"),
    "says": (lambda v, t: isinstance(v, str) and bool(v), "a text to look for"),
    "incident": (lambda v, t: isinstance(v, str) and bool(v), "an element id"),
    "ends": (lambda v, t: v in ENDS, f"one of: {', '.join(ENDS)}"),
    "by": (lambda v, t: isinstance(v, str) and bool(engine.calendar.parse(v)), "a duration such as \"P13W\""),
    "no_incident": (lambda v, t: v is True, "true"),
}
