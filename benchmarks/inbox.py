"""The team inbox at a real team's size: 10,000 open tasks for one care team.

Seeds (in SQL, in seconds) 2,000 clients, each with a name and an instance of the sample pathway
``esitieto``, and five open tasks for the team *Hoitaja* on each (a fifth of them late), on a fresh
SQLite file migrated with ``flask db upgrade`` (or the PostgreSQL of ``POLKU_TEST_DATABASE_URL`` with
``--postgres``). Then, signed in as the nurse Hanna Virtanen, it renders in turns, so that all three
come from the same minutes (this kind of machine drifts in speed by up to 2x):

* ``/work/open``: a trivial signed-in page (the pathways she may open), the reference;
* ``/work``: the inbox's first page (filters, counts and page links over all 10,000);
* ``/work?client=<surname>``: a search by a client's name, for reference (no target: it reads the whole
  inbox once more, to count what it finds).

Target (``ok``/``MISSED``; ``--strict`` exits 1 when missed): the inbox's p95 <= 3 x the reference's p95
of the same run.

    .venv/bin/python benchmarks/inbox.py [--clients 2000] [--per-client 5] [--repeats 40] [--strict]

The last line of output is ``RESULT {...}``: every figure as one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from figures import Timings, machine_speed_ms
from sqlalchemy import insert, select
from timers import app_context, fresh_database, signed_in

from orchestrator.clock import now
from orchestrator.extensions import db
from orchestrator.models import HumanTask, Instance, Pathway, PathwayVersion, Person
from orchestrator.tools import deploy

REPO = Path(__file__).resolve().parent.parent
FACTOR = 3.0
SURNAMES = ["Virtanen", "Korhonen", "Mäkinen", "Nieminen", "Mäkelä", "Hämäläinen", "Laine", "Heikkinen",
            "Koskinen", "Järvinen", "Lehtonen", "Lehtinen", "Saarinen", "Salminen", "Heinonen", "Niemi"]
FIRST = ["Aino", "Eino", "Helmi", "Väinö", "Sofia", "Onni", "Aada", "Leo", "Ella", "Elias"]


def seed(clients: int, per_client: int) -> int:
    """``clients`` named clients on ``esitieto``, each with ``per_client`` open tasks for the team Hoitaja."""
    version = db.session.scalar(select(PathwayVersion).join(PathwayVersion.pathway).where(Pathway.key == "esitieto")
                                .order_by(PathwayVersion.number.desc()))
    at = now()
    db.session.execute(insert(Person), [
        {"subject": f"bench:{i}", "name": f"{FIRST[i % len(FIRST)]} {SURNAMES[i // len(FIRST) % len(SURNAMES)]}{i}",
         "client_id": f"c-bench{i}", "roles": ["client"], "created_at": at} for i in range(clients)])
    ids = db.session.execute(insert(Instance).returning(Instance.id), [
        {"version_id": version.id, "client_id": f"c-bench{i}", "status": "running", "head": {},
         "serializer_version": "bench", "started_by": "bench", "created_at": at, "updated_at": at}
        for i in range(clients)]).scalars().all()
    tasks = [{"id": str(uuid.uuid4()), "instance_id": instance_id, "version_id": version.id, "client_id": f"c-bench{i}",
              "pathway_key": "esitieto", "spec": "arvio", "title": f"Arvioi esitiedot {n}", "role": "Hoitaja",
              "queue": "Hoitaja", "priority": 80 if (i + n) % 50 == 0 else 50,
              "summary": f"Verenpaine {150 + n}/{95 + n} mmHg",
              "audience": "professional", "candidate_groups": [], "state": "open", "created_at": at,
              "due_at": at + timedelta(hours=(i * per_client + n) % 600 - 120)}
             for i, instance_id in enumerate(ids) for n in range(per_client)]
    db.session.execute(insert(HumanTask), tasks)
    db.session.commit()
    return len(tasks)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--per-client", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--postgres", action="store_true", help="the database of POLKU_TEST_DATABASE_URL")
    parser.add_argument("--strict", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = fresh_database("postgresql" if args.postgres else "sqlite", Path(tmp), 0)
        with app_context(url, sweep=3600) as app:
            deploy.deploy(deploy.packages_in(REPO / "bpmn", REPO / "forms"), "bench")
            t0 = time.perf_counter()
            tasks = seed(args.clients, args.per_client)
            seeding = time.perf_counter() - t0
            client = app.test_client()
            signed_in(client, "hoitaja.virtanen")
            pages = {"reference": "/work/open", "inbox": "/work", "search": f"/work?client={SURNAMES[3]}"}
            figures = {name: Timings() for name in pages}
            for turn in range(args.repeats + 2):  # two to warm the caches, not counted
                for name, page in pages.items():
                    t0 = time.perf_counter()
                    response = client.get(page)
                    elapsed = time.perf_counter() - t0
                    assert response.status_code == 200, (page, response.status_code)
                    if turn >= 2:
                        figures[name].add(elapsed)
            shown = response.get_data(as_text=True).count('href="/work/tasks/')
    reference = figures["reference"].percentile(95)
    print(f"machine speed {machine_speed_ms()} ms; {tasks:,} open tasks for one team, seeded in {seeding:.1f} s; "
          f"the search shows {shown} on its first page")
    print(f"{'page':<10} {'url':<28} {'n':>3} {'p50 ms':>8} {'p95 ms':>8} {'x ref p95':>9}")
    for name, timings in figures.items():
        print(f"{name:<10} {pages[name]:<28} {len(timings.ms):>3} {timings.percentile(50):8.1f} "
              f"{timings.percentile(95):8.1f} {timings.percentile(95) / reference:9.2f}")
    checks = {"inbox": figures["inbox"].percentile(95) <= FACTOR * reference}
    print("Targets:")
    for name, holds in checks.items():
        print(f"  [{'    ok' if holds else 'MISSED'}] {name}: p95 {figures[name].percentile(95):.1f} ms "
              f"<= {FACTOR:g} x reference p95 {reference:.1f} ms = {FACTOR * reference:.1f} ms")
    print("ALL TARGETS MET" if all(checks.values()) else "SOME TARGETS MISSED")
    print("RESULT " + json.dumps({"tasks": tasks, "seconds_seeding": round(seeding, 1),
                                  "pages": {n: t.summary() for n, t in figures.items()},
                                  "targets": checks}))
    return 1 if args.strict and not all(checks.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
