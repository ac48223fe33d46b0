"""Measurement charts: pygal draws each series as SVG; the page shows the same values as a table.

The SVG is an image (a ``data:`` URL): a document of its own, so its style sheet and style
attributes need no exception in the page's Content-Security-Policy, and no script in it can run.
The image's text alternative says what the chart shows; the table beside it has every value.
"""

import base64
import sys
from zoneinfo import ZoneInfo

import pygal
from flask import g
from flask_babel import format_datetime, format_decimal
from flask_babel import gettext as _
from lxml import etree
from markupsafe import Markup
from pygal.style import Style

from ..care.observations import Series

# pygal adds an import hook for its map plugins (pygal.maps.*), which we do not use; it lacks find_spec,
# so every later import that reaches it warns. Take it out again.
sys.meta_path[:] = [finder for finder in sys.meta_path if type(finder).__name__ != "PluginImportFixer"]
SVG = "{http://www.w3.org/2000/svg}"
STYLE = Style(background="#ffffff", plot_background="#ffffff", foreground="#1a1a1a", foreground_strong="#1a1a1a",
              foreground_subtle="#595959", colors=("#005a9c", "#2e7d32", "#2e7d32"), font_family="inherit",
              label_font_size=14, major_label_font_size=14, legend_font_size=14, title_font_size=16,
              value_font_size=14, opacity=".9", opacity_hover="1")


def _options(unit: str, legend: bool) -> dict:
    """How every chart of Polku looks: large type, thick lines, the unit on the axis."""
    return dict(js=[], disable_xml_declaration=True, width=640, height=320, explicit_size=True, style=STYLE,
                show_legend=legend, legend_at_bottom=True, x_label_rotation=0, truncate_label=-1, dots_size=4,
                stroke_style={"width": 3}, print_values=False, y_title=unit, show_x_guides=False)


def line_chart(series: Series, zone: str) -> Markup:
    """One kind of measurement over time, with the target range as two dashed lines when there is one."""
    tz = ZoneInfo(zone)
    chart = pygal.DateTimeLine(x_value_formatter=lambda at: format_datetime(at.astimezone(tz), "d.M."),
                               **_options(series.kind.unit, series.target is not None))
    chart.add(series.kind.label, [(at.astimezone(tz), value) for at, value in series.points])
    if series.target is not None:
        first, last = series.points[0][0].astimezone(tz), series.points[-1][0].astimezone(tz)
        for bound in series.target:
            chart.add(_("Target range"), [(first, bound), (last, bound)], stroke_style={"width": 2, "dasharray": "6,4"},
                      show_dots=False)
    return _image(chart.render(is_unicode=True), summary(series))


def trend_chart(label: str, unit: str, points: list[tuple[str, float | None]], target: float | None,
                summary_text: str) -> Markup:
    """A metric per week, month or quarter (a gap where a period has no value), with its target dashed."""
    chart = pygal.Line(**_options(unit, target is not None), allow_interruptions=True)
    chart.x_labels = [name for name, _value in points]
    chart.add(label, [value for _name, value in points])
    if target is not None:
        chart.add(_("Target"), [target] * len(points), stroke_style={"width": 2, "dasharray": "6,4"}, show_dots=False)
    return _image(chart.render(is_unicode=True), summary_text)


def trend_summary(name: str, points: list[tuple[str, float | None]]) -> str:
    """A trend in words: how many periods, and the latest value."""
    known = [(period, value) for period, value in points if value is not None]
    if not known:
        return _("%(name)s: no values in these periods.", name=name)
    period, value = known[-1]
    return _("%(name)s over %(count)s periods; the latest, from %(period)s, is %(value)s.", name=name,
             count=len(points), period=period, value=format_decimal(round(value, 1)))


def summary(series: Series) -> str:
    """What the chart shows, in words: its name for assistive technology."""
    at, value = series.points[-1]
    text = _("%(name)s: %(count)s measurements, the latest %(value)s %(unit)s on %(when)s.",
             name=series.kind.label, count=len(series.points), value=format_decimal(value), unit=series.kind.unit,
             when=format_datetime(at, "short"))
    if series.target is not None:
        low, high = series.target
        text += " " + _("Target range %(low)s–%(high)s %(unit)s.", low=format_decimal(low), high=format_decimal(high),
                        unit=series.kind.unit)
    return text


def _image(svg: str, label: str) -> Markup:
    root = etree.fromstring(svg.encode())
    for script in root.iter(f"{SVG}script"):  # pygal's tooltips: nothing runs in an image anyway
        script.getparent().remove(script)
    g.chart_images = True  # the page's policy lets data: images in (see the page headers)
    data = base64.b64encode(etree.tostring(root)).decode()
    return Markup('<img class="chart-image" width="640" height="320" src="data:image/svg+xml;base64,{}" alt="{}">'
                  ).format(Markup(data), label)
