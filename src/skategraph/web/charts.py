"""Charts on the pages: a resource's podium places as a stacked-bar SVG, drawn on the server with pygal.

A chart draws the rows of one of its page's tables (`sections.SECTIONS`), so the picture and the table
beside it, which is what a screen reader reads, never disagree. This module only draws: the rows come
from the page's query, run in the worker pool.

The SVG is served as a file of its own (`/id/<path>/<name>.svg`) and shown with `<img>`: pygal styles
its charts with a `<style>` block, which the pages' Content-Security-Policy (`style-src 'self'`) would
block in an inline `<svg>`, but which an image document may use. pygal also writes its configuration
as a `<script>` even when told to load no script (`js=[]`); `_inert` removes it and pygal's comments,
so the file holds no script at all. Labels come from the data (a skater's name is whatever an update
wrote): pygal writes them as ElementTree text, which is escaped.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import pygal
from pygal.style import Style

# pygal appends a finder of its own to `sys.meta_path`, for its map plugins (unused here); it has only
# the legacy `find_module`, so Python 3.11 warns (ImportWarning) at every import that reaches it, such
# as multiprocessing's `import _winapi`. Without it, imports work as they did before pygal.
sys.meta_path[:] = [finder for finder in sys.meta_path if type(finder).__module__ != "pygal"]

Row = dict[str, dict[str, str]]

GOLD, SILVER, BRONZE = "#c9a227", "#8e9aa6", "#a8673a"
STYLE = Style(
    background="#fbfcfd",
    plot_background="#ffffff",
    foreground="#1d2733",
    foreground_strong="#1d2733",
    foreground_subtle="#5b6672",
    colors=(GOLD, SILVER, BRONZE),
    opacity="1",
    opacity_hover="1",
    font_family="system-ui, sans-serif",
    label_font_size=13,
    major_label_font_size=13,
    legend_font_size=14,
    title_font_size=16,
    value_font_size=12,
    guide_stroke_color="#c5ced8",
    major_guide_stroke_color="#c5ced8",
    guide_stroke_dasharray="1,3",
    major_guide_stroke_dasharray="1,3",
)
HEIGHT = 320
MAX_BAR = 80  # px: one season is one bar, not a slab across the whole plot
MIN_NUMBERED = 15  # px: the least height of a slab that has its number printed on it


@dataclass(frozen=True)
class Chart:
    """A chart of one table on a kind of page: a bar per row, named by `label`, stacked from `series`."""

    name: str  # the file beside the resource: /id/<path>/<name>.svg
    section: str  # the title of the table it draws
    label: str  # the variable naming each bar
    series: tuple[tuple[str, str], ...]  # (legend, variable), gold first
    title: str

    def summary(self, rows: list[Row]) -> str:
        """What the picture shows, in words: the `alt` of its image."""
        return f"{self.title}: a stacked bar for each of {len(rows)} ({', '.join(_labels(self, rows))})."


CHARTS = {
    "Skater": Chart("podiums", "By season", "year", (("1st", "wins"), ("2nd", "seconds"), ("3rd", "thirds")),
                    "Podium places per season"),
    "Nation": Chart("podiums", "By season", "year", (("Gold", "gold"), ("Silver", "silver"), ("Bronze", "bronze")),
                    "Podium places per season"),
    "Season": Chart("medals", "Medal table", "code", (("Gold", "gold"), ("Silver", "silver"), ("Bronze", "bronze")),
                    "Medals by nation"),
}  # fmt: skip


def draw(chart: Chart, rows: list[Row]) -> str:
    """The SVG document of `chart` over `rows` (at least one)."""
    counts = [[int(row[var]["value"]) if var in row else 0 for row in rows] for _legend, var in chart.series]
    highest = max(sum(column) for column in zip(*counts, strict=True))
    step = max(1, -(-highest // 8))  # at most about eight whole-number ticks
    labels = _labels(chart, rows)
    plot = pygal.StackedBar(
        style=STYLE,
        title=chart.title,
        width=width(rows),
        height=HEIGHT,
        explicit_size=True,
        js=[],
        legend_at_bottom=True,
        print_values=True,
        print_zeroes=False,
        y_labels=list(range(0, highest + step + 1, step)),
        x_label_rotation=-30 if len(rows) > 14 or max(map(len, labels)) > 9 else 0,
        legend_at_bottom_columns=len(chart.series),
        spacing=6,
        margin=16,
    )
    plot.add_xml_filter(_inert)
    plot.x_labels = labels
    for (legend, _var), column in zip(chart.series, counts, strict=True):
        plot.add(legend, column)
    svg: str = plot.render(is_unicode=True)
    return svg


def width(rows: list[Row]) -> int:
    """The width of the chart of `rows`, in px: a column each, within bounds."""
    return max(360, min(960, 120 + 64 * len(rows)))


def _labels(chart: Chart, rows: list[Row]) -> list[str]:
    return [row[chart.label]["value"] if chart.label in row else "?" for row in rows]


def _inert(root: Any) -> Any:
    """pygal's tree with no `<script>` (its configuration, as JavaScript) and no comments; bars no
    wider than MAX_BAR; and no number printed on a slab too thin to hold it (it would overlap the next)."""
    for parent in root.iter():
        for child in list(parent):
            if not isinstance(child.tag, str) or child.tag == "script":
                parent.remove(child)
    bars: dict[str, list[Any]] = {}
    numbers: dict[str, list[Any]] = {}
    for plot in root.iter("g"):
        classes = (plot.get("class") or "").split()
        if classes not in (["plot"], ["plot", "text-overlay"]):
            continue
        for series in plot.iter("g"):
            kind = next((c for c in (series.get("class") or "").split() if c.startswith("serie-")), None)
            if kind is None:
                continue
            if "text-overlay" in classes:
                numbers[kind] = list(series.iter("text"))
            else:
                bars[kind] = [r for r in series.iter("rect") if "tooltip-trigger" in (r.get("class") or "")]
    for kind, rects in bars.items():
        for rect, number in zip(rects, numbers.get(kind, []), strict=False):
            width = float(rect.get("width", "0"))
            if width > MAX_BAR:
                rect.set("x", f"{float(rect.get('x', '0')) + (width - MAX_BAR) / 2:.2f}")
                rect.set("width", str(MAX_BAR))
            if float(rect.get("height", "0")) < MIN_NUMBERED:
                number.text = None
    return root
