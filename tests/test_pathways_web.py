"""The three real pathways end to end through the web pages, as the client and as the care team,
on a moved clock with the scheduler's own timer code firing what falls due."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from orchestrator.clock import CLOCK
from orchestrator.core import firing
from orchestrator.extensions import db
from orchestrator.models import ContentView, DiaryEntry, Event, HumanTask, Instance, Notification, Observation

from .helpers import consent, deploy_all, open_task, text, until_open, wake

START = datetime(2027, 1, 4, 7, 0, tzinfo=UTC)  # Monday 09:00 in Helsinki
AINO_CODE = "010150-998J"
pytestmark = pytest.mark.clock(START)


@pytest.fixture
def world(app, clock):
    """Every pathway deployed, on the clock stopped at the start."""
    with app.app_context():
        deploy_all()
    app.config["POLKU_IDLE_MINUTES"] = 10 ** 7  # the clock jumps weeks; the browsers stay signed in


def at(days: float = 0, hours: float = 0) -> datetime:
    """Move the clock to ``days`` after the start and fire what is due, as the scheduler would."""
    CLOCK.set(START + timedelta(days=days, hours=hours))
    firing.fire_due()
    firing.end_overdue()
    db.session.rollback()
    return CLOCK.now()


def follow(instance_id: int, plan: dict, within: timedelta) -> dict[str, list[datetime]]:
    """Answer each task of the plan through its page as soon as it opens, moving the clock from one due
    timer to the next, until the pathway ends; returns when each task opened."""
    limit, opened, done = CLOCK.now() + within, {}, set()
    while only_instance_by_id(instance_id).status == "running":
        waiting = [t for t in open_tasks(instance_id) if t.spec in plan and t.id not in done]
        for task in waiting:
            web, answers = plan[task.spec]
            opened.setdefault(task.spec, []).append(task.created_at)
            prefix = "/work" if task.audience == "professional" else "/me"
            answer(web, instance_id, task.spec, answers(len(opened[task.spec])), prefix=prefix)
            done.add(task.id)
        if not waiting:
            wake(limit, f"nothing more to do by {limit}: {open_tasks(instance_id)}")
    return opened


def open_tasks(instance_id: int) -> list[HumanTask]:
    db.session.rollback()
    return list(db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                           HumanTask.state == "open").order_by(HumanTask.created_at)))


def only_instance_by_id(instance_id: int) -> Instance:
    db.session.rollback()
    return db.session.get(Instance, instance_id)


def task_page(web, instance_id: int, spec: str) -> str:
    """A task's page, also once it is done (history)."""
    task = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                      HumanTask.spec == spec)).first()
    return text(web.get(f"/me/tasks/{task.id}"))


def form_value(value) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def answer(web, instance_id: int, spec: str, answers: dict | None = None, prefix: str = "/me") -> str:
    """Open the task's page from the pathway and send the answers (a content page: mark it read)."""
    task = open_task(instance_id, spec)
    assert task is not None, f"{spec} is not open"
    page = web.get(f"{prefix}/tasks/{task.id}")
    assert page.status_code == 200, (spec, page.status_code)
    key = re.search(r'name="key" value="([^"]+)"', text(page))
    data = {name: form_value(value) for name, value in (answers or {}).items()}
    if key:
        data.update(key=key.group(1), action="send")
    sent = web.post(f"{prefix}/tasks/{task.id}", data)
    assert sent.status_code == 302, (spec, sent.status_code, text(sent)[-1500:])
    db.session.rollback()
    assert db.session.get(HumanTask, task.id).state == "completed", spec
    return text(page)


def only_instance(client_id: str) -> Instance:
    db.session.rollback()
    return db.session.scalars(select(Instance).where(Instance.client_id == client_id)).one()


def consent_to_offer(aino) -> Instance:
    offer_link = re.search(r'href="(/me/offers/\d+)"', text(aino.get("/me"))).group(1)
    assert consent(aino, offer_link, "given").status_code == 302
    return only_instance("asiakas-123")


# --------------------------------------------------------------------------- Diabetesriskin itsehoitopolku

FINDRISC_HIGH = {"ika_pisteet": 3, "sukupuoli": "mies", "pituus": 178, "paino": 95, "vyotaro": 104,
                 "liikunta_pisteet": 2, "kasvikset_pisteet": 1, "verenpainelaake_pisteet": 2,
                 "verensokeri_pisteet": 0, "suku_pisteet": 3}  # 3 + 1 (BMI 30.0) + 4 + 2 + 1 + 2 + 0 + 3 = 16
FINDRISC_LOWER = {**FINDRISC_HIGH, "paino": 85, "vyotaro": 99, "liikunta_pisteet": 0,
                  "kasvikset_pisteet": 0}  # 3 + 1 (BMI 26.8) + 3 + 0 + 0 + 2 + 0 + 3 = 12


def test_diabetes_risk_self_care_from_the_catalogue_to_the_follow_up_test(world, web_as, ctx):
    aino, hanna = web_as("asiakas-123"), web_as("hoitaja.virtanen")
    assert aino.post("/me/catalogue", {"pathway": "diabetesriski"}).headers["Location"].endswith(
        "/me/catalogue/diabetesriski/consent")
    assert consent(aino, "/me/catalogue/diabetesriski/consent", "given").status_code == 302
    instance = only_instance("asiakas-123")
    # P4M from Monday 4 January 09:00 is 4 May at 09:00, in summer time (an hour less in UTC)
    assert instance.ends_at == START + timedelta(days=31 + 28 + 31 + 30) - timedelta(hours=1)

    read = answer(aino, instance.id, "lue_diabetes")
    assert "<h2" in read and "<script" not in read
    views = db.session.scalars(select(ContentView)).all()
    assert [(v.pathway_key, v.page, v.role) for v in views] == [("diabetesriski", "tyypin2_diabetes.md", "client")]

    at(days=1)
    answer(aino, instance.id, "findrisc_testi", FINDRISC_HIGH)
    result = answer(aino, instance.id, "tulos")
    assert "16 pistettä" in result and "korkea" in result and "1/3" in result
    answer(aino, instance.id, "lue_korkea_riski")  # the content the band chose
    assert open_task(instance.id, "lue_hyvat_elintavat") is None
    weight = db.session.scalars(select(Observation).where(Observation.kind == "weight")).one()
    assert (weight.code, weight.value, weight.unit) == ("29463-7", 95.0, "kg")

    answer(aino, instance.id, "uusintatesti_kysely", {"muistutus": True})
    waiting = text(aino.get(f"/me/pathways/{instance.id}"))
    coming = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", waiting[waiting.index("Seuraavaksi"):]))
    assert "Uusintatesti ma 5.4. klo 9.00" in coming  # the first 09:00 three months after the answer
    assert "Polku päättyy ti 4.5. klo 9.00" in coming
    at(days=1 + 89)
    assert open_task(instance.id, "findrisc_testi") is None  # three months are not up yet
    at(days=1 + 92)
    reminder = db.session.scalars(select(Notification).where(Notification.source == "kolme_kuukautta")).one()
    assert reminder.recipient == "asiakas-123"
    answer(aino, instance.id, "findrisc_testi", FINDRISC_LOWER)
    assert "12 pistettä" in answer(aino, instance.id, "tulos")
    answer(aino, instance.id, "lue_elintapamuutokset")
    assert only_instance("asiakas-123").status == "completed"

    history = aino.get(f"/me/pathways/{instance.id}")  # readable after the end, with both weights plotted
    assert history.status_code == 200 and "chart-image" in text(history)
    for url in (f"/work/pathways/{instance.id}", "/work/clients/asiakas-123"):  # never for a professional
        assert hanna.get(url).status_code == 404


# --------------------------------------------------------------------------- Verenpaineen kotiseuranta

def reading(systolic: int, diastolic: int) -> dict:
    return {"systolinen_1": systolic, "diastolinen_1": diastolic, "systolinen_2": systolic - 2,
            "diastolinen_2": diastolic - 1}


def test_home_blood_pressure_follow_up_escalates_once_and_ends_with_the_nurses_summary(world, web_as, ctx):
    aino, hanna = web_as("asiakas-123"), web_as("hoitaja.virtanen")
    assert hanna.post("/work/open/verenpaine", {"identity_code": AINO_CODE}).status_code == 302
    instance = consent_to_offer(aino)
    answer(aino, instance.id, "mittausohje")
    escalations = []
    opened = []
    for n in range(14):
        opened.append(until_open(instance.id, "verenpainemittaus", timedelta(hours=25 if n == 0 else 13)).created_at)
        values = reading(148, 92) if n == 2 else reading(128, 80)
        answer(aino, instance.id, "verenpainemittaus", values)
        escalations.append(len(db.session.scalars(select(HumanTask).where(HumanTask.spec == "kohonneet_arvot"))
                               .all()))
    assert escalations[:2] == [0, 0] and set(escalations[2:]) == {1}  # right after the high reading, once
    # Morning and evening on days 1-7 of the plan, at 07:00 and 18:00 in Helsinki (the pathway opened at 09:00).
    assert [round((t - START) / timedelta(hours=1)) for t in opened] == \
        [22 + 24 * (n // 2) + (11 if n % 2 else 0) for n in range(14)]
    inbox = text(hanna.get("/work"))
    assert "Kohonnut kotimittausarvo" in inbox
    escalated = answer(hanna, instance.id, "kohonneet_arvot",
                       {"toimenpide": "seuranta", "kirjaus": "Yksittäinen koholla oleva arvo, seurataan."},
                       prefix="/work")
    assert "148" in escalated  # the high values are in the nurse's task
    lab = open_task(instance.id, "laboratoriokaynti")  # the lab reminder came on day 5, before the visit
    assert lab.audience == "client" and round((lab.created_at - START) / timedelta(hours=1)) == 119  # day 5, 08:00
    reminder = db.session.scalars(select(Notification).where(Notification.source == "laboratorio_muistutus")).one()
    assert reminder.recipient == "asiakas-123" and "laboratoriossa" in reminder.text
    answer(aino, instance.id, "laboratoriokaynti", {"kayty": True})
    at(days=8)
    answer(hanna, instance.id, "yhteenveto_hoitaja",
           {"jatko": "ennallaan", "yhteenveto": "Kotimittausten keskiarvo on tavoitteessa."}, prefix="/work")
    assert "Kotimittausten keskiarvo on tavoitteessa." in answer(aino, instance.id, "lue_yhteenveto")
    assert only_instance("asiakas-123").status == "completed"

    systolic = db.session.scalars(select(Observation).where(Observation.kind == "systolic")).all()
    assert len(systolic) == 28 and {o.code for o in systolic} == {"8480-6"} and {o.panel for o in systolic} == \
        {"85354-9"}
    team_view = text(hanna.get(f"/work/pathways/{instance.id}"))
    assert team_view.count("chart-image") == 1 and "90–135" in team_view  # both readings in one, with its target
    # one table, both readings in it
    assert '<th scope="col"><span>Yläpaine</span> (mmHg)</th><th scope="col"><span>Alapaine</span> (mmHg)</th>' \
        in team_view


# --------------------------------------------------------------------------- Painonhallinta

def test_weight_management_with_modules_diaries_review_messages_and_end_questionnaire(world, web_as, ctx):
    aino, hanna = web_as("asiakas-123"), web_as("hoitaja.virtanen")
    form = text(hanna.get("/work/open/painonhallinta"))
    assert "Ruokapäiväkirja" in form and "Liikuntapäiväkirja" in form
    assert hanna.post("/work/open/painonhallinta", {"identity_code": AINO_CODE,
                                                    "module-ruokapaivakirja": "1"}).status_code == 302
    instance = consent_to_offer(aino)
    variables = db.session.scalars(select(Event).where(Event.instance_id == instance.id,
                                                       Event.kind == "started")).one().data["variables"]
    assert variables == {"ruokapaivakirja": True, "liikuntapaivakirja": False}
    answer(aino, instance.id, "aloituskysely", {"tavoite": "Laihtua 5 kiloa", "valmius": 8, "pituus": 170,
                                                "paino": 96, "vyotaro": 104})
    assert open_task(instance.id, "liikuntapaivakirja") is None  # switched off for her
    diary = open_task(instance.id, "ruokapaivakirja")
    for meal in ("aamiainen", "lounas"):
        entry = {"ateria": meal, "mita_soin": f"{meal}: puuroa ja marjoja", "kasvikset": True}
        assert aino.post(f"/me/tasks/{diary.id}", {k: form_value(v) for k, v in entry.items()}).status_code == 302
    assert len(db.session.scalars(select(DiaryEntry)).all()) == 2
    assert "lounas: puuroa ja marjoja" in text(hanna.get(f"/work/pathways/{instance.id}"))  # the team sees it
    assert aino.post(f"/me/tasks/{diary.id}", {"action": "done"}).status_code == 302

    aino.post(f"/me/pathways/{instance.id}/messages", {"body": "Saako puuroon laittaa hunajaa?"})
    hanna.post(f"/work/pathways/{instance.id}/messages", {"body": "Vähän saa."})

    review = {"edistyminen": "hyvin", "arvio": "Paino laskee tasaisesti.", "vastaanotto": False,
              "viesti_asiakkaalle": "Hienoa työtä, jatka samaan malliin!"}
    plan = {"viikkopunnitus": (aino, lambda n: {"paino": 96 - n * 0.5}),
            "vyotaromittaus": (aino, lambda n: {"vyotaro": 104 - n}),
            "valiarvio": (hanna, lambda n: review),
            "loppukysely": (aino, lambda n: {"tavoite_toteutui": "osittain", "suosittelu": 9, "helppous": 6}),
            **{spec: (aino, lambda n: None) for spec in ("lue_ruokavalio", "lue_arkiliikunta", "lue_muutos_pysyvaksi",
                                                         "lue_valiarvio")}}
    opened = follow(instance.id, plan, timedelta(weeks=14))
    weeks = {spec: [round((t - START) / timedelta(days=7), 1) for t in times] for spec, times in opened.items()}
    assert len(weeks["viikkopunnitus"]) == 12 and weeks["viikkopunnitus"][0] == 1.0
    assert weeks["viikkopunnitus"] == sorted(weeks["viikkopunnitus"])
    assert all(0.9 <= b - a <= 1.1 for a, b in zip(weeks["viikkopunnitus"], weeks["viikkopunnitus"][1:],
                                                                 strict=False))  # weekly
    assert len(weeks["vyotaromittaus"]) == 3  # monthly
    assert len(weeks["valiarvio"]) == 1 and 5.5 <= weeks["valiarvio"][0] <= 6.5  # the mid-point, week 6
    assert "Hienoa työtä, jatka samaan malliin!" in task_page(aino, instance.id, "lue_valiarvio")
    assert len(weeks["loppukysely"]) == 1 and 11.5 <= weeks["loppukysely"][0] <= 12.5  # week 12
    ended = only_instance("asiakas-123")
    assert ended.status == "completed" and ended.ended_at < ended.ends_at  # its own end, before its duration
    feedback = db.session.scalars(select(Event).where(Event.instance_id == instance.id, Event.spec == "loppukysely")
                                  ).one().data["answers"]
    assert (feedback["suosittelu"], feedback["helppous"]) == (9, 6)
    assert len(db.session.scalars(select(Observation).where(Observation.kind == "weight")).all()) == 13
    mine = text(aino.get(f"/me/pathways/{instance.id}"))
    assert "chart-image" in mine and "Paino taulukkona" in mine
