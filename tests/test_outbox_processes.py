"""The outbox sent by real server processes on one database: every message delivered once, none lost.

Messages are written in-process; ``flask serve`` processes send them through an HTTP gateway on loopback
(their schedulers send the outbox after each pass). The gateway is the witness: every message's reference
arrives, and a message a sender was killed in the middle of sending arrives again only under the same
Idempotency-Key, which a gateway takes once.
"""

import os
import re
from collections import Counter

from sqlalchemy import func, select

from orchestrator.core import outbox
from orchestrator.core.database import write
from orchestrator.extensions import db
from orchestrator.models import Outgoing

from .conftest import ROOT
from .fixtures.processes import Server, wait_for
from .reach_servers import http_gateway

COUNT = 1000
SENT = re.compile(r"sent (\d+) outbox message")
DEADLINE = 180


def env_for(app, gateway_url: str, lease: float = 150) -> dict[str, str]:
    return {**os.environ, "POLKU_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "POLKU_SCHEDULER": "serve",
            "POLKU_TIMER_SWEEP_SECONDS": "0.3", "POLKU_FORMS_DIR": str(ROOT / "forms"),
            "POLKU_SMS_URL": gateway_url, "POLKU_SMS_QUIET_HOURS": "00:00-00:00",
            "POLKU_OUTBOX_LEASE_SECONDS": str(lease)}


def written(count: int) -> list[str]:
    """``count`` text messages in the outbox, due now; their references."""
    rows = [outbox.message("sms", f"+35840{n:07d}", f"Muistutus {n}", "reminder") for n in range(count)]
    with write():
        outbox.add(rows)
    db.session.remove()
    return [row["reference"] for row in rows]


def sent() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Outgoing).where(Outgoing.status == "sent"))


def test_two_server_processes_send_a_thousand_messages_once_each(app, ctx, tmp_path):
    with http_gateway() as (url, gateway):
        references = written(COUNT)
        env = env_for(app, url)
        with Server("first", env, tmp_path) as first, Server("second", env, tmp_path) as second:
            wait_for(lambda: sent() == COUNT, DEADLINE, [first, second], f"all {COUNT} sent")
            assert first.errors() == [] and second.errors() == []
            by = {server.name: sum(int(n) for n in SENT.findall(server.log())) for server in (first, second)}
        received = Counter(gateway.references())
        assert set(received) == set(references) and max(received.values()) == 1, "each once"
        assert sum(by.values()) == COUNT, by
        if db.engine.dialect.name == "postgresql":  # SQLite's one writer may keep the other out the whole time
            assert all(by.values()), f"both processes sent: {by}"


def test_a_sender_killed_mid_batch_loses_none_and_doubles_none(app, ctx, tmp_path):
    with http_gateway(delay=0.004) as (url, gateway):  # a gateway at 4 ms a message: seconds for the batch
        references = written(COUNT)
        env = env_for(app, url, lease=3)
        with Server("killed", env, tmp_path) as killed:
            wait_for(lambda: sent() >= COUNT // 4, DEADLINE, [killed], "a quarter sent")
            killed.kill()
        at_kill = sent()
        assert 0 < at_kill < COUNT, f"the kill landed mid-batch ({at_kill} of {COUNT} sent)"
        with Server("restarted", env, tmp_path) as restarted:
            wait_for(lambda: sent() == COUNT, DEADLINE, [restarted], f"all {COUNT} sent")
            assert restarted.errors() == []
        received = Counter(gateway.references())
        assert set(received) == set(references), "none lost"
        again = [ref for ref, n in received.items() if n > 1]
        # Only a message on the wire at the kill can arrive twice: its answer came, its record did not.
        assert len(again) <= 1, again
        keys = Counter(r["headers"]["Idempotency-Key"] for r in gateway.received)
        assert keys == received, "a second arrival carries the first one's Idempotency-Key: the gateway takes it once"
        assert db.session.scalar(select(func.count()).select_from(Outgoing).where(Outgoing.status != "sent")) == 0
