"""The digest's chart: attendance rate per pendamping over the last months, as a PNG.

A table-like heat map (one row per pendamping, one column per month, the rate written
in each cell) stays readable for twenty or thirty pendamping, where as many lines on one
plot would not. Rendered headless with matplotlib's Agg canvas, without pyplot (no
global figure state, safe in a server).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from datetime import date

from babel.dates import format_date

from models.rules.text import shorten

WIDTH_IN = 8.0
DPI = 100
ROW_IN = 0.32
BASE_IN = 1.6  # title, month labels and colour bar
MAX_ROWS = 60
NAME_WIDTH = 24  # characters of a pendamping's name beside their bar
COLOURS = ["#c0392b", "#f1c40f", "#27ae60"]  # red below 50%, yellow, green at 100%


def chart_size(rows: int) -> tuple[int, int]:
    """The PNG's size in pixels for this many pendamping (width, height)."""
    height = BASE_IN + ROW_IN * max(1, min(rows, MAX_ROWS))
    return round(WIDTH_IN * DPI), round(height * DPI)


def attendance_chart(
    names: Sequence[str],
    months: Sequence[date],
    rates: Sequence[Sequence[float | None]],
    *,
    title: str,
    no_data: str,
    locale: str,
    percent: Callable[[float], str],
) -> bytes:
    """PNG bytes: ``rates[i][j]`` is pendamping ``i``'s rate in ``months[j]`` (0..1, or
    None when nothing was recorded, drawn grey with ``no_data``), written in each cell
    with ``percent``; red below 50%, through yellow, to green at 100%."""
    # matplotlib is imported here, not with the module: a third of a second that every
    # process would otherwise pay at start-up, for a chart drawn once a week.
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import LinearSegmentedColormap
    from matplotlib.figure import Figure

    names, rates = list(names)[:MAX_ROWS], list(rates)[:MAX_ROWS]
    width, height = chart_size(len(names))
    figure = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    FigureCanvasAgg(figure)
    tall = height / DPI
    bottom, top = 0.3 / tall, 1 - 0.75 / tall  # room for the title and the month labels
    axes = figure.add_axes((0.27, bottom, 0.68, top - bottom))
    values = [[float("nan") if r is None else r * 100 for r in row] for row in rates] or [
        [float("nan")] * len(months)
    ]
    cmap = LinearSegmentedColormap.from_list("rate", COLOURS).with_extremes(bad="#dddddd")
    axes.imshow(values, cmap=cmap, vmin=50, vmax=100, aspect="auto")
    axes.set_xticks(range(len(months)), [format_date(m, "MMM yy", locale=locale) for m in months])
    labels = [shorten(name, NAME_WIDTH) for name in names] if names else [""]
    axes.set_yticks(range(len(names)), labels)
    axes.tick_params(length=0, labelsize=8)
    axes.xaxis.tick_top()
    for row, line in enumerate(rates):
        for column, value in enumerate(line):
            label = no_data if value is None else percent(value)
            axes.text(column, row, label, ha="center", va="center", fontsize=7)
    for spine in axes.spines.values():
        spine.set_visible(False)
    figure.suptitle(title, fontsize=10, y=1 - 0.15 / tall, va="top")
    buffer = io.BytesIO()
    with rc_context({"text.hinting": "none"}):  # a third faster to draw, same look at 7 pt
        figure.savefig(buffer, format="png", dpi=DPI, pil_kwargs={"compress_level": 3})
    return buffer.getvalue()

