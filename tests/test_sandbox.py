"""Pathway code runs restricted: refused at deploy when it can be seen, an incident when it runs."""

import pytest

from .fixtures.builders import process_bpmn
from .helpers import assert_rejected, upload


def script_task(code: str) -> str:
    return f'<bpmn:scriptTask id="skripti"><bpmn:script>{code}</bpmn:script></bpmn:scriptTask>'


def with_script(code: str) -> str:
    """start → script → user task → gateway → ends (the builder's process with a script first)."""
    bpmn = process_bpmn(extra=script_task(code))
    return bpmn.replace('sourceRef="alku" targetRef="tehtava"', 'sourceRef="alku" targetRef="skripti"').replace(
        "</bpmn:process>",
        '<bpmn:sequenceFlow id="f_skripti" sourceRef="skripti" targetRef="tehtava"/></bpmn:process>')


@pytest.mark.parametrize("code, reason", [
    ("__import__('os').system('id')", "__import__"),
    ("x = ().__class__.__bases__", "__class__"),
    ("d = {'a': 1}\nd['a'] += 1", "Augmented assignment of object items"),
])
def test_forbidden_code_is_refused_at_deploy(api, ctx, code, reason):
    response = upload(api, {"s.bpmn": with_script(code).encode()})
    assert_rejected(response, "script uses what pathway code may not", reason, element="skripti")


@pytest.mark.parametrize("code", [
    "x = open('/etc/hostname').read()",
    "import os",
    "x = getattr(1, '__class__')",
    "x = '{0.__class__}'.format(1)",
])
def test_forbidden_calls_become_incidents_when_run(api, code):
    assert upload(api, {"s.bpmn": with_script(code).encode()}).status_code == 201
    instance = api.start("testi")
    assert instance["status"] == "incident"
    assert instance["incident"].startswith("skripti:")
    assert instance["tasks"] == []


def test_ordinary_computation_works(api):
    code = ("pisteet = sum([1, 2, 3])\npisteet += 1\nluokka = 'korkea' if pisteet > 5 else 'matala'\n"
            "valinnat = {'a': [1]}\nvalinnat['a'] = valinnat['a'] + [2]")
    assert upload(api, {"s.bpmn": with_script(code).encode()}).status_code == 201
    instance = api.start("testi")
    assert instance["status"] == "running" and [t["spec"] for t in instance["tasks"]] == ["tehtava"]
