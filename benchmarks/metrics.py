"""Metric dashboards at scale: the overview and one pathway's page at two sizes of history, in one run.

Seeds (in SQL) two histories over two years on the sample pathways, each in a schema of its own on one
PostgreSQL: 100,000 instances with 2,000,000 event rows, 1,000,000 human tasks, 200,000 messages, 200,000
reminders, 300,000 content views and 100,000 scores, and ten times all of it (1,000,000 instances, 20,000,000
events). Each history's rollups are counted from its rows (``rollups.rebuild``, timed). Then, taking turns
between the two (so a drift in the machine's speed hits both alike), it renders ``/metrics`` and
``/metrics/<pathway>`` as an administrator and a trivial signed-in page (``/work/open``) as a nurse, and
prints p50/p95. Targets: each dashboard's p95 at the larger size <= 1.3 x its p95 at the smaller, and each
<= 10 x the trivial page's p95 of the same history. The pathway page's trends by month are shown beside them.

    .ci/with-postgres .venv/bin/python benchmarks/metrics.py [--instances 100000] [--scale 10] [--repeats 30]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from figures import Timings, machine_speed_ms
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from timers import app_context, migrated, signed_in

from orchestrator.extensions import db
from orchestrator.metrics import rollups
from orchestrator.tools import deploy

REPO = Path(__file__).resolve().parent.parent
QUARTER = "2026-Q3"  # a quarter gone by: its figures are all known
GROWTH_LIMIT, TRIVIAL_LIMIT = 1.3, 10.0
EVENTS_PER_INSTANCE = 20

SEED = [
    # Instances: spread over 2026–2027, seven in ten ended.
    """INSERT INTO instance (version_id, client_id, status, head, serializer_version, lock_version, started_by,
                             created_at, updated_at, ended_at)
       SELECT v.id, 'c-' || i, CASE WHEN i % 10 < 7 THEN 'completed' ELSE 'running' END, '{}', '1.5', 1, 'bench',
              t.at, t.at, CASE WHEN i % 10 < 7 THEN t.at + interval '40 days' END
       FROM generate_series(1, :instances) AS i
       JOIN LATERAL (SELECT timestamptz '2026-01-01' + (i::bigint * 7919 % 730) * interval '1 day'
                                                     + (i % 24) * interval '1 hour' AS at) t ON true
       JOIN LATERAL (SELECT id FROM pathway_version ORDER BY id OFFSET (i % :versions) LIMIT 1) v ON true""",
    """INSERT INTO event (instance_id, at, actor, kind, task_id, spec, data, idempotency_key)
       SELECT 1 + i % :instances, timestamptz '2026-01-01' + (i::bigint * 104729 % 63072000) * interval '1 second',
              'bench', 'task_completed', NULL, 'task', NULL, NULL
       FROM generate_series(1, :events) AS i""",
    # Ten tasks per instance: client forms and professional tasks, four in five completed.
    """INSERT INTO human_task (id, instance_id, version_id, pathway_key, spec, title, role, audience,
                               candidate_groups, form, state, created_at, completed_at, completed_by)
       SELECT md5(i::text)::uuid::text, n.id, n.version_id, p.key, 'tehtava', 'Tehtävä',
              CASE WHEN i % 3 = 0 THEN 'Hoitaja' ELSE 'Asiakas' END,
              CASE WHEN i % 3 = 0 THEN 'professional' ELSE 'client' END, '[]', 'lomake.json',
              CASE WHEN i % 5 < 4 THEN 'completed' ELSE 'open' END, n.created_at + (i % 10) * interval '3 days',
              CASE WHEN i % 5 < 4 THEN n.created_at + (i % 10) * interval '3 days' + (i % 48) * interval '1 hour' END,
              CASE WHEN i % 5 < 4 THEN 'bench' END
       FROM generate_series(1, :instances * 10) AS i
       JOIN instance n ON n.id = 1 + i % :instances
       JOIN pathway_version v ON v.id = n.version_id JOIN pathway p ON p.id = v.pathway_id""",
    """INSERT INTO message (instance_id, client_id, team, sender, author, author_name, body, sent_at, reply_by,
                            replied_at, read_at)
       SELECT n.id, n.client_id, 'Hoitaja', CASE WHEN i % 2 = 0 THEN 'client' ELSE 'professional' END, 'bench',
              'Bench', 'Viesti', n.created_at + (i % 30) * interval '1 day',
              CASE WHEN i % 2 = 0 THEN n.created_at + (i % 30 + 2) * interval '1 day' END,
              CASE WHEN i % 2 = 0 AND i % 7 <> 0 THEN n.created_at + (i % 30) * interval '1 day'
                                                       + (i % 96) * interval '1 hour' END, NULL
       FROM generate_series(1, :instances * 2) AS i JOIN instance n ON n.id = 1 + i % :instances""",
    """INSERT INTO notification (instance_id, kind, audience, recipient, task_id, source, text, created_at,
                                 delivered_at, read_at)
       SELECT n.id, 'reminder', 'client', n.client_id, md5((i * 10)::text)::uuid::text, 'muistutus', 'Muistutus',
              n.created_at + (i % 20) * interval '1 day', NULL, NULL
       FROM generate_series(1, :instances * 2) AS i JOIN instance n ON n.id = 1 + i % :instances""",
    """INSERT INTO content_view (instance_id, pathway_key, page, role, at)
       SELECT n.id, p.key, 'sivu-' || (i % 5) || '.md', 'client', n.created_at + (i % 60) * interval '1 day'
       FROM generate_series(1, :instances * 3) AS i JOIN instance n ON n.id = 1 + i % :instances
       JOIN pathway_version v ON v.id = n.version_id JOIN pathway p ON p.id = v.pathway_id""",
    """INSERT INTO score (instance_id, pathway_key, version_id, kind, name, task_spec, value, at)
       SELECT n.id, p.key, n.version_id, CASE WHEN i % 2 = 0 THEN 'nps' ELSE 'ces' END, 'kysymys', 'loppu',
              CASE WHEN i % 2 = 0 THEN i % 11 ELSE 1 + i % 7 END, n.created_at + interval '30 days'
       FROM generate_series(1, :instances) AS i JOIN instance n ON n.id = 1 + i % :instances
       JOIN pathway_version v ON v.id = n.version_id JOIN pathway p ON p.id = v.pathway_id""",
]
COUNTED = ("instance", "event", "human_task", "message", "notification", "content_view", "score")


def schema_database(base: str, schema: str) -> str:
    """An empty schema of its own on the server, migrated to the current schema; returns its URL."""
    engine = create_engine(base)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    finally:
        engine.dispose()
    return migrated(make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
                    .render_as_string(hide_password=False))


def seed(instances: int, events: int) -> dict[str, int]:
    """The history, loaded as a bulk load is: the seeded tables' secondary indexes are dropped first and built
    again after (row by row into ten indexes, ten million tasks take most of an hour)."""
    versions = db.session.execute(text("SELECT count(*) FROM pathway_version")).scalar()
    indexes = db.session.execute(text(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = ANY(:t) "
        "AND indexname NOT IN (SELECT conname FROM pg_constraint)"), {"t": list(COUNTED)}).all()
    for name, _definition in indexes:
        db.session.execute(text(f'DROP INDEX "{name}"'))
    for statement in SEED:
        db.session.execute(text(statement), {"instances": instances, "events": events, "versions": versions})
    for _name, definition in indexes:
        db.session.execute(text(definition))
    db.session.commit()
    return {table: db.session.execute(text(f"SELECT count(*) FROM {table}")).scalar() for table in COUNTED}


def analyze() -> None:
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


def timed_get(client, url: str) -> float:
    t0 = time.perf_counter()
    response = client.get(url)
    elapsed = time.perf_counter() - t0
    assert response.status_code == 200, (url, response.status_code)
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=100_000, help="instances of the smaller history")
    parser.add_argument("--scale", type=int, default=10, help="how many times larger the larger history is")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    base = os.environ.get("POLKU_TEST_DATABASE_URL", "")
    if not base.startswith("postgresql"):
        sys.exit("PostgreSQL needs POLKU_TEST_DATABASE_URL; run under .ci/with-postgres")
    sizes = {"small": args.instances, "large": args.instances * args.scale}
    seeded, apps, pages = {}, {}, {}
    for name, instances in sizes.items():
        with app_context(schema_database(base, f"bench_{name}"), sweep=3600) as app:
            deploy.deploy(deploy.packages_in(REPO / "bpmn", REPO / "forms"), "bench")
            t0 = time.perf_counter()
            rows = seed(instances, instances * EVENTS_PER_INSTANCE)
            t1 = time.perf_counter()
            rollups.rebuild()
            t2 = time.perf_counter()
            analyze()
            seeded[name] = {"rows": rows, "seconds_seeding": round(t1 - t0, 1), "seconds_rollups": round(t2 - t1, 1),
                            "rollup_rows": db.session.execute(text("SELECT count(*) FROM metric_day")).scalar()}
            pathway = db.session.execute(text("SELECT key FROM pathway ORDER BY key LIMIT 1")).scalar()
        apps[name] = app
        page = f"/metrics/{pathway}?quarter={QUARTER}"
        pages[name] = {"overview": f"/metrics?quarter={QUARTER}", "pathway": page, "by month": f"{page}&by=month",
                       "trivial": "/work/open"}
    # Signed in once both are seeded (a session ends after its idle time), and measured outside the app's
    # context: each request has a context (and a g) of its own.
    clients = {}
    for name, app in apps.items():
        admin, nurse = app.test_client(), app.test_client()
        signed_in(admin, "yllapitaja.makinen")
        signed_in(nurse, "hoitaja.virtanen")
        clients[name] = {"overview": admin, "pathway": admin, "by month": admin, "trivial": nurse}
    figures = {(size, page): Timings() for size in sizes for page in pages["small"]}
    for round_ in range(args.repeats + 2):  # two to warm the caches, not counted
        for size in sizes:
            for page, url in pages[size].items():
                elapsed = timed_get(clients[size][page], url)
                if round_ >= 2:
                    figures[(size, page)].add(elapsed)
    return report(args, sizes, seeded, pages, figures)


def report(args, sizes: dict, seeded: dict, pages: dict, figures: dict) -> int:
    print(f"machine speed {machine_speed_ms()} ms")
    for size, found in seeded.items():
        print(f"{size} ({sizes[size]:,} instances): seeded in {found['seconds_seeding']:.0f} s, rollups counted in "
              f"{found['seconds_rollups']:.0f} s ({found['rollup_rows']:,} rollup rows): "
              + ", ".join(f"{table} {n:,}" for table, n in found["rows"].items()))
    print(f"{'page':<10} {'url':<50} " + " ".join(f"{size + ' ' + p:>14}" for size in sizes for p in ("p50", "p95")))
    for page, url in pages["small"].items():
        print(f"{page:<10} {url:<50} " + " ".join(
            f"{figures[(size, page)].percentile(q):14.1f}" for size in sizes for q in (50, 95)))
    p95 = {key: timings.percentile(95) for key, timings in figures.items()}
    checks = []
    for page in ("overview", "pathway"):
        growth = p95[("large", page)] / p95[("small", page)]
        checks.append((f"{page}: p95 at {sizes['large']:,} <= {GROWTH_LIMIT} x at {sizes['small']:,}", growth,
                       growth <= GROWTH_LIMIT))
        for size in sizes:
            ratio = p95[(size, page)] / p95[(size, "trivial")]
            checks.append((f"{page} at {sizes[size]:,}: p95 <= {TRIVIAL_LIMIT:.0f} x the trivial page's", ratio,
                           ratio <= TRIVIAL_LIMIT))
    print("Targets:")
    for label, ratio, holds in checks:
        print(f"  [{'    ok' if holds else 'FAILED'}] {label}: {ratio:.2f}x")
    print("ALL TARGETS MET" if all(h for *_, h in checks) else "SOME TARGETS MISSED")
    print("RESULT " + json.dumps({
        "sizes": sizes, "seeded": seeded,
        "pages": {f"{size} {page}": {"p50_ms": round(t.percentile(50), 1), "p95_ms": round(t.percentile(95), 1)}
                  for (size, page), t in figures.items()},
        "checks": {label: round(ratio, 3) for label, ratio, _ in checks}}))
    return 0 if all(h for *_, h in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
