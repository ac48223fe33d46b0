"""The professionals' daily digest: at 07:00 local time of the service (``POLKU_TIME_ZONE``), one e-mail to each
professional who chose it, telling how many new alerts (urgent tasks opened in the last 24 hours and still open)
and how many late client messages (past their reply-by time, unanswered) wait in each of her care teams' inboxes,
with a link to the inbox.

It holds counts and team names only: never a client's name or id, a pathway, or anything of anyone's health. A day
with nothing to tell sends nothing. Each digest is an outbox row (sent after commit like every other) whose
``reference`` is the person's and the day's, unique in the table, and it is inserted so that a second attempt
does nothing: however many processes run, and however often one restarts, nobody gets two digests for a day.
"""

import hashlib
import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale, gettext, ngettext
from sqlalchemy import func, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from ..care import messaging
from ..core import outbox, queries
from ..core.database import core, write
from ..core.store import store
from ..engine.metadata import ROUTINE
from ..extensions import db
from ..models import ContactChoice, HumanTask, Outgoing, Person
from .contact import CHANNELS

AT = time(7, 0)  # local time of the service
NEW = timedelta(hours=24)  # an alert opened this recently is new
DONE = "polku_digest_day"  # the local day this process has written its digests for
_PLAIN_LOGIN = re.compile(r"[A-Za-z0-9._-]{1,70}")
[CHANNEL] = CHANNELS["professional"]
TASKS = HumanTask.__table__


def due(at: datetime) -> bool:
    """Whether this process is to write the digests now: it is 07:00 or later, local time, and it has not written
    today's (another process may have: then writing them again does nothing)."""
    local = at.astimezone(_zone())
    return local.time() >= AT and current_app.extensions.get(DONE) != local.date()


def send_digests(at: datetime) -> int:
    """Write the day's digests (the local day of ``at``) to the outbox, each professional's at most once a day;
    returns how many were written now.

    Each tells the inboxes as they were at 07:00 (or at ``at``, if earlier) and as they still are: an alert opened
    in the 24 hours before then and still open, a message late then and still unanswered. So a process that starts
    later in the morning writes the same digest, or none, as one that ran at seven.
    """
    zone, at = _zone(), at.astimezone(UTC)  # stored as UTC: SQLite keeps the wall time of any other offset
    day = at.astimezone(zone).date()
    as_of = min(at, datetime.combine(day, AT, zone).astimezone(UTC))
    chosen = {row.owner: row for row in db.session.scalars(
        select(ContactChoice).where(ContactChoice.id.in_(
            select(func.max(ContactChoice.id)).where(ContactChoice.channel == CHANNEL).group_by(ContactChoice.owner)))
        .order_by(ContactChoice.owner)) if row.address}
    references = {owner: reference(owner, day) for owner in chosen}
    written = set(db.session.scalars(select(Outgoing.reference)
                                     .where(Outgoing.reference.in_(sorted(references.values())))))
    rows = []
    for owner, choice in chosen.items():
        if references[owner] in written:
            continue
        counts = tally(teams_of(owner), as_of)
        if counts:
            rows.append({**_mail(choice, counts, at), "reference": references[owner]})
    made = 0
    with write():
        for row in rows:
            made += _insert_once(row)
    current_app.extensions[DONE] = day
    return made


def reference(owner: str, day: date) -> str:
    """The digest's own id, the same for one person and day in every process: ``digest-<login>-<date>`` (a login
    that could not stand in a Message-ID, or too long a one, by its SHA-256)."""
    name = owner if _PLAIN_LOGIN.fullmatch(owner) else "h" + hashlib.sha256(owner.encode()).hexdigest()[:40]
    return f"digest-{name}-{day.isoformat()}"


def teams_of(login: str) -> dict[str, str]:
    """The care teams (key: name) of the professional with this login; none if nobody with it is one now."""
    escaped = login.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    people = db.session.scalars(select(Person).where(or_(Person.subject == login,
                                                         Person.subject.like(f"%:{escaped}", escape="\\"))))
    return {team.key: team.name for person in people if person.login == login and "professional" in person.roles
            for team in person.teams}


def tally(teams: dict[str, str], at: datetime) -> list[tuple[str, int, int]]:
    """(team name, new alerts, late client messages) as of ``at`` of each team with something to tell, by name:
    open urgent tasks opened in the 24 hours before ``at``, and unanswered client messages due before it."""
    every = queries.version_ids()
    found = []
    for key, name in teams.items():
        followed = [version for version in every if key in store().info(version).teams]
        alerts = core().execute(select(func.count()).select_from(TASKS).where(
            *queries.team_inbox({key}, followed), TASKS.c.priority > ROUTINE,
            TASKS.c.created_at > at - NEW, TASKS.c.created_at <= at)
        ).scalar_one()
        late = sum(messaging.late(message, at) for message in messaging.unanswered({key}))
        if alerts or late:
            found.append((name, alerts, late))
    return sorted(found)


def _mail(choice: ContactChoice, counts: list[tuple[str, int, int]], at: datetime) -> dict:
    base = current_app.config["POLKU_PUBLIC_URL"].rstrip("/")
    with force_locale(choice.language):
        lines = [gettext("Waiting in your care teams' inboxes in Polku:"), ""]
        for team, alerts, late in counts:
            said = ([ngettext("%(num)s new alert", "%(num)s new alerts", alerts)] if alerts else []) + \
                ([ngettext("%(num)s late client message", "%(num)s late client messages", late)] if late else [])
            lines.append(f"{team}: {', '.join(said)}")
        lines += ["", gettext("New alerts are urgent tasks opened in the last 24 hours."), "",
                  gettext("Open the inbox: %(link)s", link=f"{base}/work"), "",
                  gettext("You get this summary because you chose it in Polku. Change or stop it: %(link)s",
                          link=f"{base}/work/settings")]
        subject = gettext("Polku: your daily summary")
    return outbox.message("email", choice.address, "\n".join(lines), "digest", subject=subject, due_at=at)


def _insert_once(row: dict) -> int:
    """Insert the row unless one with its reference exists (written meanwhile by another process): 1 or 0."""
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(Outgoing.__table__).on_conflict_do_nothing(index_elements=["reference"])
    # What RETURNING gives tells what was inserted (the driver's row count need not say, psycopg's among them).
    return len(core().execute(insert.returning(Outgoing.__table__.c.id), row).all())


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["POLKU_TIME_ZONE"])


def when_due(at) -> None:
    """The scheduler's pass: the day's digests once it is their time (registered in ``reach.init``)."""
    if due(at):
        send_digests(at)
