"""A pathway's own settings, read from its process properties and checked at deploy.

Every setting is a ``spiffworkflow:property`` (or ``camunda:property``) on the pathway's process:

==========================  ==================================================================
``duration``                ISO-8601 length, e.g. ``P12W``: a still-running instance ends then
``consent``                 the Markdown page in the package with the informed-consent text
``replyWithinWorkingDays``  the service promise for messages, e.g. ``2`` (professional only)
``messageTeam``             the care team that answers the client's messages
``phases``                  ``P0D Aloitus; P1W Seuranta``: offsets from the start and names
``module:<variable>``       an optional module the professional switches on or off (a boolean)
``target:<measurement>``    the target range the charts draw, ``90-135``
``measurements``            kinds the client may also record freely, ``weight,waist``
``goal:<metric>``           a metric's target for the traffic lights, ``goal:within_promise`` = ``95``
``language``                the language its own texts are written in, ``sv``: one the service speaks
                            (fi, sv, en); Finnish when not given
``results``                 the process variables that are the pathway's results, each optionally
                            labelled: ``findrisc_pisteet:FINDRISC-pisteet, findrisc_luokka``; the API
                            shows their current values and nothing else of the instance's data
==========================  ==================================================================

The messages a package declares (``payloadSchema``) are read by ``payloads.py`` and kept under ``messages``.
"""

import keyword
import re

from lxml import etree

from ..metrics.names import UNITS as METRICS
from .measurements import KINDS as MEASUREMENTS
from .metadata import process_properties
from .problems import Problem
from .timers import check_literal

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# A process variable as pathway code names it: a plain Python identifier, not one of the names starting with _ that
# pathway code may not reach.
VARIABLE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$", re.ASCII)
WHOLE = re.compile(r"^\s*[0-9]{1,3}\s*$", re.ASCII)
RANGE = re.compile(r"^\s*(-?\d+(?:[.,]\d+)?)\s*-\s*(-?\d+(?:[.,]\d+)?)\s*$")
# The languages the service speaks, as config.py's POLKU_LANGUAGES (the engine knows nothing of the app's config).
LANGUAGES = ("fi", "sv", "en")


def read(process: etree._Element, filename: str, kind: str, pages: set[str]) -> tuple[dict, list[Problem]]:
    """The settings as stored with the version, and the problems found in them."""
    props = process_properties(process)
    problems: list[Problem] = []

    def problem(reason: str) -> None:
        problems.append(Problem(filename, reason, process.get("id"), process.sourceline))

    settings: dict = {"duration": props.get("duration"), "consent": props.get("consent"),
                      "message_team": props.get("messageTeam"),
                      "reply_within_working_days": _promise(props.get("replyWithinWorkingDays"), kind, problem),
                      "phases": _phases(props.get("phases"), problem), "modules": {}, "targets": {}, "goals": {},
                      "measurements": _measurements(props.get("measurements"), problem)}
    settings.update(_optional(props, problem))
    if settings["duration"] and check_literal("duration", settings["duration"]):
        problem(f"duration {check_literal('duration', settings['duration'])}")
    if settings["message_team"] and kind == "self-care":
        problem("a self-care pathway has no messages, so no messageTeam")
    if settings["consent"] and settings["consent"] not in pages:
        problem(f"consent page '{settings['consent']}' is not a Markdown file of the package")
    for name, value in sorted(props.items()):
        prefix, _, rest = name.partition(":")
        if prefix == "module":
            _module(settings, rest, value, problem)
        elif prefix == "target":
            _target(settings, rest, value, problem)
        elif prefix == "goal":
            _goal(settings, rest, value, problem)
    return settings, problems


def _promise(value: str | None, kind: str, problem) -> int | None:
    if value is None:
        return None
    if not WHOLE.match(value) or not 0 < int(value) <= 30:
        problem(f"replyWithinWorkingDays must be a whole number of working days (1–30), not '{value}'")
    elif kind == "self-care":
        problem("a self-care pathway has no messages, so no replyWithinWorkingDays")
    else:
        return int(value)
    return None


def _measurements(value: str | None, problem) -> list[str]:
    found = []
    for key in filter(None, (k.strip() for k in (value or "").split(","))):
        if key in MEASUREMENTS:
            found.append(key)
        else:
            problem(f"measurements: '{key}' is not one of {', '.join(MEASUREMENTS)}")
    return found


def _optional(props: dict, problem) -> dict:
    """The settings stored only when the package gives them (its language, its results)."""
    return {name: read_one(props[name], problem) for name, read_one in (("language", _language),
                                                                          ("results", _results)) if name in props}


def _results(value: str | None, problem) -> list[dict]:
    """The declared results, in order: each ``name`` (a process variable) with its ``label`` (the name unless
    ``name:Label`` gives one)."""
    found: list[dict] = []
    entries = [e.strip() for e in (value or "").split(",")]
    if not any(entries):
        problem("results must name at least one process variable, e.g. 'findrisc_pisteet:FINDRISC-pisteet'")
    for entry in filter(None, entries):
        name, colon, label = (part.strip() for part in entry.partition(":"))
        if not VARIABLE.match(name) or keyword.iskeyword(name):
            problem(f"results: '{name}' is not a process variable's name (a plain identifier: letters, digits and _, "
                    "beginning with a letter)")
        elif colon and not label:
            problem(f"results: '{entry}' has no label after the colon (write '{name}' or '{name}:Label')")
        elif any(r["name"] == name for r in found):
            problem(f"results: '{name}' is declared twice")
        else:
            found.append({"name": name, "label": label or name})
    return found


def _language(value: str | None, problem) -> str | None:
    """The language tag of the pathway's own texts (titles, instructions, forms, content pages)."""
    tag = (value or "").strip()
    if tag in LANGUAGES:
        return tag
    problem(f"language '{value or ''}' is not one of {', '.join(LANGUAGES)}")
    return None


def _module(settings: dict, name: str, label: str | None, problem) -> None:
    if IDENTIFIER.match(name):
        settings["modules"][name] = label or name
    else:
        problem(f"module '{name}' must be a lower-case variable name (letters, digits, _)")


def _phases(value: str | None, problem) -> list[dict]:
    phases = []
    for entry in filter(None, (e.strip() for e in (value or "").split(";"))):
        offset, _, name = entry.partition(" ")
        if check_literal("duration", offset) or not name.strip():
            problem(f"phases: '{entry}' is not '<ISO-8601 offset> <name>', e.g. 'P1W Seuranta'")
        else:
            phases.append({"offset": offset, "name": name.strip()})
    starts = [_length(p["offset"]) for p in phases]
    if starts != sorted(starts):
        problem("phases must be listed in the order they begin")
    return phases


def _length(offset: str) -> float:
    """An ISO-8601 duration's rough length in days, for ordering (a month as 30 days, a year as 365)."""
    days = {"Y": 365, "M": 30, "W": 7, "D": 1}
    date_part, _, time_part = offset[1:].partition("T")
    total = sum(float(n.replace(",", ".")) * days[u] for n, u in re.findall(r"([\d.,]+)([YMWD])", date_part))
    hours = {"H": 1 / 24, "M": 1 / 1440, "S": 1 / 86400}
    return total + sum(float(n.replace(",", ".")) * hours[u] for n, u in re.findall(r"([\d.,]+)([HMS])", time_part))


def _goal(settings: dict, key: str, value: str | None, problem) -> None:
    """A metric's target for the traffic lights, e.g. ``goal:response_rate`` = ``80`` (per cent)."""
    try:
        number = float((value or "").replace(",", "."))
    except ValueError:
        number = None
    if key not in METRICS:
        problem(f"goal:{key}: '{key}' is not a metric ({', '.join(METRICS)})")
    elif number is None or not number > 0 or number != number or number == float("inf"):
        problem(f"goal:{key} must be a positive number, not '{value}'")
    else:
        settings["goals"][key] = number


def _target(settings: dict, key: str, value: str | None, problem) -> None:
    found = RANGE.match(value or "")
    if key not in MEASUREMENTS:
        problem(f"target:{key}: '{key}' is not one of {', '.join(MEASUREMENTS)}")
    elif not found or float(found[1].replace(",", ".")) >= float(found[2].replace(",", ".")):
        problem(f"target:{key} must be a range such as '90-135', not '{value}'")
    else:
        settings["targets"][key] = [float(found[1].replace(",", ".")), float(found[2].replace(",", "."))]
