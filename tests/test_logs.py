"""Logs an operator can follow: the request's id on its lines and in its answer, JSON lines when asked for, and
SpiffWorkflow's per-task INFO lines left out."""

import json
import logging
import threading

from orchestrator import logs


def test_a_request_carries_its_id_back_and_a_sane_one_given_is_kept(client):
    made = client.get("/healthz")
    assert len(made.headers["X-Request-ID"]) == 32
    given = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.2"})
    assert given.headers["X-Request-ID"] == "lb-7f3a.2"
    odd = client.get("/healthz", headers={"X-Request-ID": "x" * 300})
    assert odd.headers["X-Request-ID"] != "x" * 300, "an id no proxy would send is replaced"


def test_json_lines_carry_the_request_id(app, capsys):
    root = logging.getLogger()
    kept = root.handlers[:], root.level
    logs.configure(json_lines=True)
    try:
        with app.test_request_context(headers={"X-Request-ID": "pyynto-1"}):
            app.preprocess_request()
            logging.getLogger("orchestrator.core.outbox").warning("outbox %s given up", 7)
        line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
        assert line["message"] == "outbox 7 given up" and line["request_id"] == "pyynto-1"
        assert line["level"] == "WARNING" and line["logger"] == "orchestrator.core.outbox" and "time" in line
    finally:
        root.handlers[:], _ = kept
        root.setLevel(kept[1])


def test_spiffworkflows_per_task_info_lines_are_left_out(api, sample, caplog):
    caplog.set_level(logging.INFO)
    api.start()
    assert not [r for r in caplog.records if r.name.startswith("spiff") and r.levelno < logging.WARNING]


def test_the_timer_sweep_s_every_run_is_left_out_and_what_it_fired_is_said(app, caplog):
    from apscheduler.schedulers.background import BackgroundScheduler

    caplog.set_level(logging.INFO)
    ran = threading.Event()
    sweep = BackgroundScheduler()
    sweep.add_job(ran.set, "interval", seconds=0.05, id="sweep")
    sweep.start()
    try:
        assert ran.wait(5)
    finally:
        sweep.shutdown()
    assert not [r for r in caplog.records if r.name.startswith("apscheduler") and r.levelno < logging.WARNING]
    assert logging.getLogger("orchestrator.core.scheduler").isEnabledFor(logging.INFO)
