"""Events for other systems: a receiver on loopback gets signed CloudEvents 1.0 documents for a pathway run end to
end, through the outbox; the signature verifies with the subscription's secret, and a changed body does not."""

import hashlib
import hmac

from cloudevents.core.bindings.http import HTTPMessage, from_http_event

from orchestrator.core import outbox

from .conftest import ANSWERS
from .reach_servers import http_gateway


def open_task(instance: dict, spec: str) -> dict:
    (task,) = [t for t in instance["tasks"] if t["spec"] == spec]
    return task


def verifies(secret: str, delivery: dict) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), delivery["raw"], hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, delivery["headers"]["X-Polku-Signature"])


def test_a_subscribed_system_gets_a_pathway_run_as_signed_cloudevents(app, api, sample, runner):
    with http_gateway() as (url, receiver), app.app_context():
        added = runner.invoke(args=["webhooks", "add", url, "--event", "instance.started", "--event", "task.opened",
                                    "--event", "task.completed", "--event", "message.received",
                                    "--event", "instance.ended"])
        assert added.exit_code == 0, added.output
        secret = added.output.split("secret: ")[1].strip()

        instance = api.start(business_key="asiakas-1:esitieto", client_id="asiakas-1")
        done = api.complete(open_task(instance, "esitietolomake")["id"], ANSWERS["esitietolomake"]).json
        done = api.complete(open_task(done, "hoitajan_arvio")["id"], ANSWERS["hoitajan_arvio_lab"]).json
        done = api.post("/api/v1/messages", {"name": "lab_result_ready", "business_key": "asiakas-1:esitieto",
                                             "payload": {"hb": 141}}).json
        done = api.complete(open_task(done, "tulosten_arvio")["id"], ANSWERS["tulosten_arvio"]).json
        done = api.complete(open_task(done, "asiakas_kuittaa")["id"], ANSWERS["asiakas_kuittaa"]).json
        assert done["status"] == "completed"
        assert receiver.received == [], "nothing leaves before the outbox sends it"
        assert outbox.send_due() == len(receiver.received) > 0

        events = [from_http_event(HTTPMessage(d["headers"], d["raw"])) for d in receiver.received]
        kinds = [e.get_type() for e in events]
        assert kinds == ["fi.polku.instance.started", "fi.polku.task.opened",  # the questionnaire
                         "fi.polku.task.completed", "fi.polku.task.opened",  # answered: the nurse's review
                         "fi.polku.task.completed", "fi.polku.message.received", "fi.polku.task.opened",
                         "fi.polku.task.completed", "fi.polku.task.opened",  # the results: the client reads
                         "fi.polku.task.completed", "fi.polku.instance.ended"]
        assert all(e.get_specversion() == "1.0" and e.get_id().startswith("polku-") for e in events)
        assert len({e.get_id() for e in events}) == len(events)
        assert events[1].get_data()["element"] == "esitietolomake" and events[1].get_data()["instance"] == \
            instance["id"]
        questionnaire = {"instance": instance["id"], "pathway": "esitieto", "version": 1,
                         "task": open_task(instance, "esitietolomake")["id"], "element": "esitietolomake"}
        assert events[2].get_data() == questionnaire, "the completed task, by its ids"
        assert "asiakas-1" not in str([d["raw"] for d in receiver.received]), "ids of Polku's only, no client"
        assert all(verifies(secret, d) for d in receiver.received)
        forged = {**receiver.received[0], "raw": receiver.received[0]["raw"].replace(b"started", b"ended")}
        assert not verifies(secret, forged)
        assert all(d["headers"]["Idempotency-Key"] == e.get_id() for d, e in zip(receiver.received, events,
                                                                                   strict=True))


def test_an_unknown_event_type_is_refused_naming_the_known_ones(app, runner):
    with app.app_context():
        refused = runner.invoke(args=["webhooks", "add", "https://example.org/hook", "--event", "kaikki"])
    assert refused.exit_code == 1 and "instance.started" in refused.output and "kaikki" in refused.output


def test_an_administrator_subscribes_over_the_api_and_others_may_not(api, ctx):
    admin = {"X-Polku-Actor": "yllapitaja.makinen"}
    made = api.client.post("/api/v1/webhooks", json={"url": "https://potilastiedot.example/polku",
                                                     "event_types": ["alert.raised"]}, headers=admin)
    assert made.status_code == 201 and len(made.json["secret"]) > 30, made.json
    listed = api.client.get("/api/v1/webhooks", headers=admin).json
    assert [s["url"] for s in listed] == ["https://potilastiedot.example/polku"] and "secret" not in listed[0]
    bad = api.client.post("/api/v1/webhooks", json={"url": "ftp://x", "event_types": ["kaikki"]}, headers=admin)
    assert bad.status_code == 422 and "event_types" in str(bad.json) and "url" in str(bad.json)
    for person in ("suunnittelija.laine", "hoitaja.virtanen"):
        assert api.client.get("/api/v1/webhooks", headers={"X-Polku-Actor": person}).status_code == 403
    assert api.client.delete(f"/api/v1/webhooks/{made.json['id']}", headers=admin).status_code == 204
    assert api.client.get("/api/v1/webhooks", headers=admin).json == []
    assert api.client.delete(f"/api/v1/webhooks/{made.json['id']}", headers=admin).status_code == 404
