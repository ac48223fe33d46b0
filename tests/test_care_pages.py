"""The client's care-pathway pages on their own: free measurements, and a diary after it has ended."""

import pytest
from sqlalchemy import select

from orchestrator.care import enrolment
from orchestrator.core import queries, steps
from orchestrator.extensions import db
from orchestrator.models import DiaryEntry, HumanTask, Observation

from .helpers import deploy_all, text


@pytest.fixture
def on(ctx):
    """``on(key, **variables)``: Aino on that pathway, in the test's application context."""
    deploy_all()

    def start(key: str, **variables):
        return enrolment.join(queries.pathway_or_404(key).latest, "asiakas-123", "asiakas-123", "given", variables)
    return start


@pytest.mark.parametrize("typed", ["1_20", "١٢٠", "120,5", "12e1", "nan", "-0", "999"])
def test_a_measurement_that_is_not_a_plausible_number_is_named_and_nothing_is_saved(on, web_as, ctx, typed):
    instance = on("verenpaine")
    page = web_as("asiakas-123").post(f"/me/pathways/{instance.id}/measurements", {"systolic": typed})
    assert page.status_code == 422
    body = text(page)
    assert 'href="#measure-systolic"' in body and 'id="measure-systolic" name="systolic"' in body
    assert "<title>Virhe:" in body
    assert db.session.scalars(select(Observation)).all() == []


def test_a_measurement_entered_freely_is_stored_with_its_code_and_plotted(on, web_as, ctx):
    instance = on("painonhallinta", ruokapaivakirja=True, liikuntapaivakirja=True)
    aino = web_as("asiakas-123")
    saved = aino.post(f"/me/pathways/{instance.id}/measurements", {"weight": "82,4", "waist": ""})
    assert saved.status_code == 302
    (row,) = db.session.scalars(select(Observation)).all()
    assert (row.kind, row.code, row.value, row.unit, row.task_id) == ("weight", "29463-7", 82.4, "kg", None)
    page = text(aino.get(f"/me/pathways/{instance.id}"))
    assert "chart-image" in page and "82,4" in page
    assert aino.post(f"/me/pathways/{instance.id}/measurements", {}).status_code == 422  # nothing typed


def test_an_entry_to_a_diary_that_has_ended_is_refused_and_says_so(on, web_as, ctx):
    on("painonhallinta", ruokapaivakirja=True, liikuntapaivakirja=False)
    start = db.session.scalars(select(HumanTask).where(HumanTask.spec == "aloituskysely")).one()
    steps.complete(start.id, {"tavoite": "Laihtua", "valmius": 8, "pituus": 170, "paino": 96, "vyotaro": 104},
                   "asiakas-123")
    diary = db.session.scalars(select(HumanTask).where(HumanTask.spec == "ruokapaivakirja")).one()
    aino = web_as("asiakas-123")
    assert aino.post(f"/me/tasks/{diary.id}", {"action": "done"}).status_code == 302
    late = aino.post(f"/me/tasks/{diary.id}", {"ateria": "lounas", "mita_soin": "Keittoa"})
    assert late.status_code == 409 and "merkintää ei tallennettu" in text(late)
    assert db.session.scalars(select(DiaryEntry)).all() == []
