"""Many metric values at once: every pathway's for the overview, or one pathway's per week, month or quarter.

The one place the dashboard's metrics (``KEYS``) are counted: ``metrics.report`` takes them from here
for its one scope and period. They are read from the rollups (``rollups``), in one grouped query by version
and period, so a dashboard costs the same however long the history behind it. Periods are a CASE over their
first days. Counted as known now, or as known at a moment (``at``): what began after it, and an outcome
(an answer, a reply, a view) known only after it, is left out.
"""

from collections import defaultdict
from datetime import date, datetime

from sqlalchemy import select

from ..extensions import db
from ..models import PathwayVersion
from . import rollups
from .values import Metric, nps_score

KEYS = ("clients_started", "clients_active", "clients_ended", "response_rate", "within_promise", "nps", "ces",
        "content_views")


def table(edges: list[datetime], pathway_of: dict[int, str], goals: dict[str, dict],
          also: dict[str, list[str]] | None = None, at: datetime | None = None) -> dict[tuple[str, int], dict]:
    """Metric values (``KEYS``) by (pathway key, period index) for the periods between ``edges``, over the
    versions in ``pathway_of`` (version id → pathway key); ``goals`` by pathway key. ``also`` adds each
    pathway's numbers to more groups (pathway key → group keys, e.g. a total, or all of one kind). A group
    named in ``goals`` has its rows even if none of its versions is given (nothing counted: zeros and Nones).
    ``at``: as known at that moment, counting only what was recorded before it (None: as known now).
    Read from the rollups, by day: a period's edges are local midnights (one clipped at the present moment
    counts its whole day, in which nothing later is recorded yet)."""
    counts: dict[tuple[str, int], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    versions, also = sorted(pathway_of), also or {}
    into = {key: {key, *also.get(key, [])} for key in set(pathway_of.values())}
    groups = sorted(set(goals).union(*into.values()))
    days = [rollups.day_of(edge) for edge in edges]
    last = rollups.until(days[-1], at)
    for version, key, period, name, value in rollups.read(versions, set(pathway_of.values()), days[0], last, COUNTED,
                                                          rollups.known_by(at), by_period=days):
        for group in into.get(pathway_of.get(version, key), ()):
            counts[(group, period)][name] += value or 0
    since = _first_deployed(versions, pathway_of)
    found = {(key, period): _metrics(counts.get((key, period), {}),
                                     goals.get(key) or {} if edges[period + 1] > since.get(key, edges[0]) else {})
             for key in groups for period in range(len(edges) - 1)}
    _active(found, days[0], len(edges) - 1, pathway_of, versions, into, at)
    return found


# The rollups' metrics the table counts (see ``rollups.families``).
COUNTED = ("started", "ended", "answered", "decided", "messages", "promises", "kept", "nps_n", "promoters",
           "detractors", "ces_n", "ces_sum", "views")


def _first_deployed(versions: list[int], pathway_of: dict[int, str]) -> dict[str, datetime]:
    """When each pathway's first version (of those given) was deployed: a period that ended by then has no
    target, so no light (a pathway is not behind its target before it existed)."""
    first: dict[str, datetime] = {}
    for version, at in db.session.execute(select(PathwayVersion.id, PathwayVersion.deployed_at)
                                          .where(PathwayVersion.id.in_(versions))):
        key = pathway_of[version]
        first[key] = min(at, first.get(key, at))
    return first


def _active(found: dict, first: date, periods: int, pathway_of: dict[int, str], versions,
            into: dict[str, set[str]], at) -> None:
    """On the pathway at the end of each period (or at ``at``, if earlier): started before then and not ended
    before then, counted as those before the first period plus each period's starts and ends."""
    earlier: dict[str, float] = defaultdict(float)
    for version, _key, _period, name, n in rollups.read(versions, (), EARLIEST, first, ("started", "ended"),
                                                        rollups.known_by(at)):
        for group in into[pathway_of[version]]:
            earlier[group] += n if name == "started" else -n
    for key in set().union(*into.values()) if into else ():
        running = earlier[key]
        for i in range(periods):
            metrics = found[(key, i)]
            running += metrics["clients_started"].value - metrics["clients_ended"].value
            metrics["clients_active"] = Metric("clients_active", int(running), int(running),
                                               metrics["clients_active"].target)


EARLIEST = date(1900, 1, 1)


def _metrics(c: dict, goals: dict) -> dict[str, Metric]:
    def share(part: str, whole: str) -> float | None:
        return 100 * c.get(part, 0) / c[whole] if c.get(whole) else None

    values = {
        "clients_started": (int(c.get("started", 0)), c.get("started", 0)),
        "clients_active": (0, 0),  # filled in by _active
        "clients_ended": (int(c.get("ended", 0)), c.get("ended", 0)),
        "response_rate": (share("answered", "decided"), c.get("decided", 0)),
        "within_promise": (share("kept", "promises"), c.get("promises", 0)),
        "nps": (nps_score(c.get("promoters", 0), c.get("detractors", 0), c.get("nps_n", 0)), c.get("nps_n", 0)),
        "ces": (c["ces_sum"] / c["ces_n"] if c.get("ces_n") else None, c.get("ces_n", 0)),
        "content_views": (int(c.get("views", 0)), c.get("views", 0)),
    }
    return {key: Metric(key, value, int(basis), goals.get(key)) for key, (value, basis) in values.items()}
