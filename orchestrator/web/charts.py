"""Charts: a measurement chart drawn here as SVG, a metric's trend drawn by pygal; the page has the values as a table.

An SVG is an image (a ``data:`` URL): a document of its own, so its style sheet and style attributes need no
exception in the page's Content-Security-Policy, and no script in it can run. The image's text alternative says
the trend in words. A measurement chart comes in two sizes, so that its text is as large as the page's on a
phone too: the browser takes the narrow one on a narrow screen.
"""

import base64
import math
import sys
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import pygal
from babel.dates import format_skeleton
from flask import g
from flask_babel import format_datetime, format_decimal, get_locale, ngettext
from flask_babel import gettext as _
from lxml import etree
from markupsafe import Markup, escape
from pygal.style import Style

from ..care.observations import Series

# pygal adds an import hook for its map plugins (pygal.maps.*), which we do not use; it lacks find_spec,
# so every later import that reaches it warns. Take it out again.
sys.meta_path[:] = [finder for finder in sys.meta_path if type(finder).__name__ != "PluginImportFixer"]
SVG = "{http://www.w3.org/2000/svg}"
COLOURS = ("#005a9c", "#a34400")  # a chart's lines in order; charts.css colours the legend's keys the same
INK, SUBTLE, GRID = "#1a1a1a", "#595959", "#d0d0d0"
STYLE = Style(background="#ffffff", plot_background="#ffffff", foreground="#1a1a1a", foreground_strong="#1a1a1a",
              foreground_subtle="#595959", colors=("#005a9c", "#2e7d32", "#2e7d32"), font_family="inherit",
              label_font_size=14, major_label_font_size=14, legend_font_size=14, title_font_size=16,
              value_font_size=14, opacity=".9", opacity_hover="1")
MOST_LABELS = 6  # dates on a wide chart's axis at most


@dataclass(frozen=True)
class Size:
    width: int
    height: int
    font: int  # px in the image: 15 on 640 shows at 15 px on a desktop, 14 on 320 at ≥12 px on a 320 px phone
    dates: int  # labels on the time axis at most


WIDE, NARROW = Size(640, 320, 15, MOST_LABELS), Size(320, 300, 14, 4)
WIDE_TREND, NARROW_TREND = Size(640, 360, 15, MOST_LABELS), Size(320, 340, 15, 3)  # room for the legend below
NARROW_MEDIA = "(max-width: 36em)"


def line_chart(series: Series, zone: str) -> Markup:
    """A kind of measurement over time, with the one read with it (blood pressure: both readings in one chart),
    each target range a shaded band, and a value outside it marked by a triangle."""
    if not series.points:
        return _empty(_("%(name)s: no readings yet.", name=series.kind.label))
    tz = ZoneInfo(zone)
    wide, narrow = (_encoded(draw(series.lines, size, tz)) for size in (WIDE, NARROW))
    g.chart_images = True  # the page's policy lets data: images in (see the page headers)
    return Markup('<picture><source media="{}" srcset="data:image/svg+xml;base64,{}" width="{}" height="{}">'
                  '<img class="chart-image" width="{}" height="{}" src="data:image/svg+xml;base64,{}" alt="{}">'
                  '</picture>').format(NARROW_MEDIA, narrow, NARROW.width, NARROW.height, WIDE.width, WIDE.height,
                                       wide, summary(series))


def draw(lines: list[Series], size: Size, tz: ZoneInfo) -> str:
    """The chart as an SVG document: bands, grid, axes, then each line with its points."""
    times = [at for line in lines for at, _value in line.points]
    values = [v for line in lines for _at, v in line.points] + [b for line in lines for b in line.target or ()]
    ticks = value_ticks(min(values), max(values), 5)
    labels = [format_decimal(tick) for tick in ticks]
    left = size.font * (0.6 * max(len(label) for label in labels) + 1)
    box = (left, size.font * 2.5, size.width - size.font, size.height - size.font * 2)  # x0, y0, x1, y1
    start, end = min(times), max(times)
    pad = (end - start) * 0.04 if end > start else timedelta(hours=12)
    x = _scale(start - pad, end + pad, box[0], box[2], lambda at: at.timestamp())
    y = _scale(ticks[0], ticks[-1], box[3], box[1])
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size.width} {size.height}" width="{size.width}" '
           f'height="{size.height}" font-family="sans-serif" font-size="{size.font}" fill="{INK}">',
           f'<rect width="{size.width}" height="{size.height}" fill="#fff"/>']
    for i, line in enumerate(lines):
        if line.target:
            low, high = (y(bound) for bound in line.target)
            out.append(f'<rect x="{box[0]:.1f}" y="{high:.1f}" width="{box[2] - box[0]:.1f}" height="{low - high:.1f}" '
                       f'fill="{COLOURS[i]}" fill-opacity=".14"/>')
    for tick, label in zip(ticks, labels, strict=True):
        out.append(f'<path d="M{box[0]:.1f} {y(tick):.1f}H{box[2]:.1f}" stroke="{GRID}"/>'
                   f'<text x="{box[0] - 6:.1f}" y="{y(tick):.1f}" dy=".35em" text-anchor="end">{label}</text>')
    room = (box[2] - box[0]) // (size.font * (0.6 * len(short_date(end)) + 1.5))  # labels that fit side by side
    for at in date_ticks(start - pad, end + pad, tz, int(min(size.dates, room))):
        label = short_date(at)
        anchor = "end" if x(at) + size.font * 0.3 * len(label) > size.width else "middle"  # kept inside the image
        out.append(f'<path d="M{x(at):.1f} {box[3]:.1f}v5" stroke="{SUBTLE}"/><text x="{x(at):.1f}" '
                   f'y="{box[3] + size.font * 1.4:.1f}" text-anchor="{anchor}">{escape(label)}</text>')
    out.append(f'<text x="2" y="{size.font:.1f}">{escape(lines[0].kind.unit)}</text>'
               f'<path d="M{box[0]:.1f} {box[1]:.1f}V{box[3]:.1f}H{box[2]:.1f}" stroke="{SUBTLE}" fill="none"/>')
    for i, line in enumerate(lines):
        path = " ".join(f"{x(at):.1f},{y(value):.1f}" for at, value in line.points)
        out.append(f'<polyline points="{path}" fill="none" stroke="{COLOURS[i]}" stroke-width="3"/>')
        out.extend(marker(x(at), y(value), i, line.outside(value)) for at, value in line.points)
    return "".join(out) + "</svg>"


def marker(cx: float, cy: float, line: int, outside: str | None) -> str:
    """A point: a circle (the first line) or a square (the second); a triangle pointing the way out of the target."""
    look = f'fill="{COLOURS[line]}" stroke="#fff" stroke-width="1.5"'
    if outside:
        tip = -1 if outside == "above" else 1
        return (f'<path d="M{cx:.1f} {cy + 9 * tip:.1f}L{cx - 8:.1f} {cy - 6 * tip:.1f}H{cx + 8:.1f}Z" '
                f'fill="{COLOURS[line]}" stroke="{INK}" stroke-width="1.5"/>')
    if line == 0:
        return f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="5.5" {look}/>'
    return f'<rect x="{cx - 5:.1f}" y="{cy - 5:.1f}" width="10" height="10" {look}/>'


def value_ticks(low: float, high: float, count: int) -> list[float]:
    """Round values from below ``low`` to above ``high``, about ``count`` of them: steps of 1, 2, 2.5 or 5 × 10ⁿ."""
    if high - low < 1e-9:
        low, high = low - 1, high + 1
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    return [round(first + i * step, 6) for i in range(math.ceil((high - first) / step - 1e-9) + 1)]


def date_ticks(start: datetime, end: datetime, tz: ZoneInfo, most: int) -> list[datetime]:
    """Midnights between two times, a day, a few days or weeks apart so that at most ``most`` of them fall in;
    the first day's noon when no midnight does (readings of one day)."""
    first = start.astimezone(tz).date() + timedelta(days=1)
    days = (end.astimezone(tz).date() - first).days + 1
    if days < 1:
        return [datetime.combine(start.astimezone(tz).date(), datetime.min.time(), tz) + timedelta(hours=12)]
    step = next(s for s in (1, 2, 3, 7, 14, 28, 56, 91, 182, 364) if math.ceil(days / s) <= most or s == 364)
    return [datetime.combine(first + timedelta(days=n), datetime.min.time(), tz) for n in range(0, days, step)]


def short_date(at: datetime | date) -> str:
    """A day as the reader writes it briefly: 6.12. in Finnish, 6 dec. in Swedish, Dec 6 in English."""
    return format_skeleton("MMMd", at, locale=get_locale())


def summary(series: Series) -> str:
    """What the chart shows, in words (its text alternative): how each line went, and against its target."""
    return " ".join(_line_summary(line) for line in series.lines if line.points)


def _line_summary(line: Series) -> str:
    unit, (start, first), (end, last) = line.kind.unit, line.points[0], line.points[-1]
    number = format_decimal
    if len(line.points) == 1:
        text = _("%(name)s %(value)s %(unit)s on %(when)s.", name=line.kind.label, value=number(last), unit=unit,
                 when=format_datetime(end, "short"))
    else:
        span = _span(end - start)
        if last > first:
            text = _("%(name)s rose %(first)s → %(last)s %(unit)s %(span)s.", name=line.kind.label,
                     first=number(first), last=number(last), unit=unit, span=span)
        elif last < first:
            text = _("%(name)s fell %(first)s → %(last)s %(unit)s %(span)s.", name=line.kind.label,
                     first=number(first), last=number(last), unit=unit, span=span)
        else:
            text = _("%(name)s stayed at %(last)s %(unit)s %(span)s.", name=line.kind.label, last=number(last),
                     unit=unit, span=span)
    if line.target is None:
        return text
    low, high = (number(bound) for bound in line.target)
    out = sum(1 for _at, value in line.points if line.outside(value))
    if not out:
        return text + " " + _("All within the target %(low)s–%(high)s %(unit)s.", low=low, high=high, unit=unit)
    return text + " " + ngettext("%(num)s reading outside the target %(low)s–%(high)s %(unit)s.",
                                 "%(num)s readings outside the target %(low)s–%(high)s %(unit)s.", out,
                                 low=low, high=high, unit=unit)


def _span(length: timedelta) -> str:
    days = round(length.total_seconds() / 86400)
    if days >= 14:
        return ngettext("in %(num)s week", "in %(num)s weeks", round(days / 7))
    if days >= 1:
        return ngettext("in %(num)s day", "in %(num)s days", days)
    return _("on the same day")


def _scale(low, high, out_low: float, out_high: float, value=float):
    """A linear map from [low, high] (through ``value``) to [out_low, out_high]."""
    a, b = value(low), value(high)
    return lambda v: out_low + (value(v) - a) * (out_high - out_low) / (b - a)


def _options(unit: str, legend: bool, size: Size) -> dict:
    """How a trend chart looks: type as large as the page's, thick lines, few grid lines, the unit on the axis
    when it is a symbol (a count or a score needs none: the figure's caption names it)."""
    style = Style(**{**STYLE.to_dict(), "label_font_size": size.font, "major_label_font_size": size.font,
                     "legend_font_size": size.font, "title_font_size": size.font,
                     "stroke_width": "3", "stroke_opacity": "1", "guide_stroke_color": GRID})
    return dict(js=[], disable_xml_declaration=True, width=size.width, height=size.height, explicit_size=True,
                style=style, show_legend=legend, legend_at_bottom=True, legend_at_bottom_columns=1,
                legend_box_size=size.font, x_label_rotation=0, truncate_label=-1, dots_size=5,
                truncate_legend=-1 if size.width > 400 else 26,  # the figure's caption has the whole name
                stroke_style={"width": 3}, print_values=False, y_title=unit if unit in ("%", "h") else None,
                show_x_guides=False, min_scale=3, max_scale=5)


def trend_chart(label: str, unit: str, points: list[tuple[str, float | None]], target: float | None,
                summary_text: str) -> Markup:
    """A metric per week, month or quarter (a gap where a period has no value), with its target dashed; periods
    are named by their first day (ISO), shown short, and only every n-th so that the labels never run together.
    Drawn in two sizes, as a measurement chart, so that its text reads at the page's size on a phone too."""
    if all(value is None for _name, value in points):
        return _empty(summary_text)
    wide, narrow = (_drawn(str(get_locale()), label, unit, tuple(points), target, size)
                    for size in (WIDE_TREND, NARROW_TREND))
    g.chart_images = True
    return Markup('<picture><source media="{}" srcset="data:image/svg+xml;base64,{}" width="{}" height="{}">'
                  '<img class="chart-image" width="{}" height="{}" src="data:image/svg+xml;base64,{}" alt="{}">'
                  '</picture>').format(NARROW_MEDIA, narrow, NARROW_TREND.width, NARROW_TREND.height,
                                       WIDE_TREND.width, WIDE_TREND.height, wide, summary_text)


@lru_cache(maxsize=512)
def _drawn(locale: str, label: str, unit: str, points: tuple, target: float | None, size: Size) -> str:
    """A trend drawn and encoded, once for the same figures in the same language (pygal takes some 10 ms a
    chart, and a dashboard shows the same figures to everyone who opens it)."""
    return _encoded(_trend_svg(label, unit, list(points), target, size))


def _trend_svg(label: str, unit: str, points: list[tuple[str, float | None]], target: float | None,
               size: Size) -> str:
    chart = pygal.Line(**_options(unit, target is not None, size), allow_interruptions=True,
                       show_minor_x_labels=False)
    chart.x_labels = [short_date(date.fromisoformat(name)) for name, _value in points]
    chart.x_labels_major = chart.x_labels[::math.ceil(len(points) / size.dates)]
    known = [value for _name, value in points if value is not None] + ([target] if target is not None else [])
    chart.y_labels = _trend_ticks(known, whole=unit == "count")
    chart.value_formatter = format_decimal  # 0,5 in Finnish and Swedish
    chart.add(label, [value for _name, value in points])
    if target is not None:
        chart.add(_("Target"), [target] * len(points), stroke_style={"width": 3, "dasharray": "8,5"},
                  show_dots=False)
    root = etree.fromstring(chart.render(is_unicode=True).encode())
    for script in root.iter(f"{SVG}script"):  # pygal's tooltips: nothing runs in an image anyway
        script.getparent().remove(script)
    return etree.tostring(root).decode()


def _trend_ticks(values: list[float], whole: bool) -> list[float]:
    """Four or five round values on a trend's axis, from zero when the values are not far from it; whole numbers
    only for a count."""
    low, high = min(values), max(values)
    floor = 0 if low >= 0 and (low < high / 2 or low == high) else low
    ticks = value_ticks(floor, max(high, floor + 1), 4)
    if whole and ticks[1] - ticks[0] < 1:
        return list(range(math.floor(ticks[0]), math.ceil(ticks[-1]) + 1))
    return ticks


def trend_summary(name: str, points: list[tuple[str, float | None]]) -> str:
    """A trend in words: how many periods, and the latest value with the day its period began."""
    known = [(period, value) for period, value in points if value is not None]
    if not known:
        return _("%(name)s: no values in these periods.", name=name)
    period, value = known[-1]
    return _("%(name)s over %(count)s periods; the latest, from %(period)s, is %(value)s.", name=name,
             count=len(points), period=short_date(date.fromisoformat(period)), value=format_decimal(round(value, 1)))


def _encoded(svg: str) -> Markup:
    return Markup(base64.b64encode(svg.encode()).decode())


def _empty(sentence: str) -> Markup:
    """No values: a sentence in the reader's language, not an empty chart."""
    return Markup('<p class="chart-empty">{}</p>').format(sentence)
