"""Charts people can read: blood pressure in one chart, few dates on the axis in the reader's language, the target
as a band, values outside it marked by shape and in the table, a sentence instead of an empty chart, the trend in
words."""

import base64
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask_babel import force_locale

from orchestrator.care import enrolment, observations
from orchestrator.core import queries
from orchestrator.engine.measurements import KINDS
from orchestrator.extensions import db
from orchestrator.models import Instance
from orchestrator.web import charts

from .helpers import deploy_all, text

HELSINKI = ZoneInfo("Europe/Helsinki")
START = datetime(2026, 9, 14, 5, tzinfo=UTC)  # 08:00 in Helsinki


@pytest.fixture
def page(app):
    """A request context, as a page renders its charts in."""
    with app.test_request_context("/"):
        yield


def svgs(markup: str) -> list[str]:
    return [base64.b64decode(data).decode() for data in re.findall(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)",
                                                                    str(markup))]


def weight(*values: float, every: timedelta = timedelta(weeks=1)) -> observations.Series:
    return observations.Series(KINDS["weight"], [(START + i * every, v) for i, v in enumerate(values)])


def pressure(readings, every=timedelta(days=1)) -> observations.Series:
    systolic = observations.Series(KINDS["systolic"], [(START + i * every, s) for i, (s, _d) in enumerate(readings)],
                                   (90, 135))
    systolic.pair = observations.Series(KINDS["diastolic"], [(START + i * every, d) for i, (_s, d)
                                                             in enumerate(readings)], (50, 85))
    return systolic


def test_blood_pressure_is_one_series_with_its_diastolic_as_the_pair(ctx):
    deploy_all()
    instance = enrolment.join(queries.pathway_or_404("verenpaine").latest, "asiakas-123", "asiakas-123", "given")
    targets = {"systolic": [90, 135], "diastolic": [50, 85]}
    (empty,) = observations.series(instance.id, targets)  # a kind with a target is charted before its first reading
    assert (empty.kind.key, empty.pair.kind.key, empty.points, empty.pair.points) == ("systolic", "diastolic", [], [])
    for day, (systolic, diastolic) in enumerate(((128, 82), (142, 90))):
        observations.record(db.session.get(Instance, instance.id), {"systolic": systolic, "diastolic": diastolic},
                            START + timedelta(days=day), "asiakas-123", START)
    (line,) = observations.series(instance.id, targets)
    assert [v for _at, v in line.points] == [128, 142] and [v for _at, v in line.pair.points] == [82, 90]
    assert line.rows() == [(START, [128, 82]), (START + timedelta(days=1), [142, 90])]


def test_the_blood_pressure_chart_draws_both_readings_each_with_its_band(page):
    markup = charts.line_chart(pressure([(128, 82), (142, 90), (131, 84)]), "Europe/Helsinki")
    assert str(markup).count("<img") == 1 and "<picture>" in str(markup)  # one chart, a wide and a narrow drawing
    for svg in svgs(markup):
        assert svg.count("<polyline") == 2  # systolic and diastolic
        assert svg.count('fill-opacity=".14"') == 2  # a shaded band per target, not two lines that look like grid
        assert "No data" not in svg


def test_values_outside_the_target_are_triangles_and_said_in_the_table(app, page):
    markup = charts.line_chart(pressure([(128, 82), (142, 90), (131, 84), (120, 45)]), "Europe/Helsinki")
    wide = svgs(markup)[1]
    assert wide.count("<circle") == 3 and wide.count('<rect x="') == 2 + 2  # circles (systolic), squares; 2 bands
    assert len(re.findall(r'<path d="M[\d.]+ [\d.]+L[^"]+Z"', wide)) == 3  # 142 and 90 above, 45 below
    with force_locale("en"):
        alt = charts.summary(pressure([(128, 82), (142, 90), (131, 84)]))
    assert "1 reading outside the target 90–135 mmHg." in alt and "1 reading outside the target 50–85 mmHg." in alt
    rendered = app.jinja_env.from_string('{% from "web/_measurements.html" import measurement_charts with context %}'
                                         '{{ measurement_charts([line], "Mittaukset") }}').render(
        line=pressure([(128, 82), (142, 90), (120, 45)]))
    rows = re.findall(r"<tr><td>.*?</tr>", " ".join(rendered.split()))
    assert [row.count("outside") for row in rows] == [0, 2, 1]
    assert "▲" in rows[1] and "▼" in rows[2]


@pytest.mark.parametrize(("days", "most"), [(1, 6), (3, 6), (20, 6), (84, 6), (84, 3), (365, 6)])
def test_the_time_axis_has_few_dates_each_a_different_day(page, days, most):
    every = timedelta(days=days) / 9
    line = weight(*[90 - i / 10 for i in range(10)], every=every)
    ticks = charts.date_ticks(line.points[0][0], line.points[-1][0], HELSINKI, most)
    labels = [charts.short_date(at) for at in ticks]
    assert 1 <= len(ticks) <= most and len(set(labels)) == len(labels)


def test_dates_are_written_as_the_reader_writes_them(app):
    day = datetime(2026, 12, 6, 12, tzinfo=HELSINKI)
    for lang, expected in (("fi", "6.12."), ("sv", "6 dec."), ("en", "Dec 6")):
        with app.test_request_context("/"), force_locale(lang):
            assert charts.short_date(day) == expected


def test_an_empty_chart_is_a_sentence_in_the_reader_s_language(app, page):
    empty = charts.line_chart(observations.Series(KINDS["weight"], target=(60, 80)), "Europe/Helsinki")
    assert "<img" not in empty and "chart-empty" in empty and "Paino" in empty
    with force_locale("fi"):
        trend = charts.trend_chart("Vastausprosentti", "%", [("2027-01-04", None)] * 5, 80,
                                   charts.trend_summary("Vastausprosentti", [("2027-01-04", None)] * 5))
    assert "<img" not in trend and "No data" not in trend and "Vastausprosentti" in trend


def test_the_text_alternative_says_the_trend_in_the_reader_s_numbers(app, page):
    line = weight(92.4, 91.0, 90.1, 88.6, every=timedelta(weeks=4))
    with force_locale("en"):
        assert charts.summary(line) == "Weight fell 92.4 → 88.6 kg in 12 weeks."
        assert charts.summary(weight(80, 81.5, every=timedelta(days=3))) == "Weight rose 80 → 81.5 kg in 3 days."
    with force_locale("fi"):
        assert "92,4 → 88,6 kg" in charts.summary(line)


def test_text_in_the_narrow_drawing_shows_at_12_px_or_more_on_a_320_px_phone(page):
    narrow, wide = svgs(charts.line_chart(pressure([(128, 82), (142, 90)]), "Europe/Helsinki"))
    shown = 320 - 2 * 16  # the page's padding
    for svg, width in ((narrow, shown), (wide, 640)):
        size, drawn = re.search(r'viewBox="0 0 (\d+) \d+".*?font-size="(\d+)"', svg).group(2, 1)
        assert int(size) * min(1, width / int(drawn)) >= 12


def test_a_dashboard_trend_names_few_periods_by_short_dates(page):
    points = [((datetime(2027, 1, 4) + timedelta(weeks=i)).date().isoformat(), 50 + i) for i in range(13)]
    svg = svgs(charts.trend_chart("Vastausprosentti", "%", points, 80, "…"))[0]
    shown = re.findall(r'<g class="guides">.*?<text[^>]*>([^<]+)</text>', svg.split('class="axis x')[1].split(
        'class="axis y')[0])
    assert 1 < len(shown) <= charts.MOST_LABELS and "2027" not in "".join(shown)


def test_the_pathway_page_shows_blood_pressure_in_one_figure(ctx, web_as):
    deploy_all()
    instance = enrolment.join(queries.pathway_or_404("verenpaine").latest, "asiakas-123", "asiakas-123", "given")
    empty = text(web_as("asiakas-123").get(f"/me/pathways/{instance.id}"))
    assert "chart-empty" in empty and "chart-image" not in empty
    observations.record(db.session.get(Instance, instance.id), {"systolic": 142, "diastolic": 90}, START,
                        "asiakas-123", START)
    page = text(web_as("asiakas-123").get(f"/me/pathways/{instance.id}"))
    assert page.count('<figure class="chart"') == 1 and page.count("chart-image") == 1
    assert page.count("chart-key band-") == 2 and "chart-key outside" in page
