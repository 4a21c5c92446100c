"""The digest's chart: attendance rate per pendamping over the last months, as a PNG.

A table-like heat map (one row per pendamping, one column per month, the rate written
in each cell) stays readable for twenty or thirty pendamping, where as many lines on one
plot would not. Drawn with Pillow: a grid of coloured cells and short labels is all the
chart is, and Pillow draws it in a few milliseconds where matplotlib spent about half a
millisecond per cell label (some 110-160 ms of a 300 ms digest for 20 pendamping).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from datetime import date
from functools import cache

from babel.dates import format_date
from PIL import Image, ImageDraw, ImageFont

from models.rules.text import shorten

WIDTH_IN = 8.0
DPI = 100
ROW_IN = 0.32
BASE_IN = 1.6  # title, month labels and the margin below
MAX_ROWS = 60
NAME_WIDTH = 24  # characters of a pendamping's name beside their row
# The rate's colour: red at 50% and below, through yellow at 75%, to green at 100%.
COLOURS = ((0xC0, 0x39, 0x2B), (0xF1, 0xC4, 0x0F), (0x27, 0xAE, 0x60))
LOWEST, HIGHEST = 0.5, 1.0
NO_DATA_COLOUR = (0xDD, 0xDD, 0xDD)
INK = (0x22, 0x22, 0x22)
# Layout in pixels at DPI: the grid's left and right edges as shares of the width, and the
# room above it (title and month labels) and below it.
GRID_LEFT, GRID_RIGHT = 0.27, 0.95
GRID_TOP, GRID_BOTTOM = 75, 30
TITLE_PX, LABEL_PX, CELL_PX = 14, 11, 10


def chart_size(rows: int) -> tuple[int, int]:
    """The PNG's size in pixels for this many pendamping (width, height)."""
    height = BASE_IN + ROW_IN * max(1, min(rows, MAX_ROWS))
    return round(WIDTH_IN * DPI), round(height * DPI)


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's embedded scalable font (Latin, with the accents Indonesian names carry)."""
    return ImageFont.load_default(size)


def rate_colour(rate: float | None) -> tuple[int, int, int]:
    """The cell colour of a rate (0..1); grey when nothing was recorded."""
    if rate is None:
        return NO_DATA_COLOUR
    share = (min(max(rate, LOWEST), HIGHEST) - LOWEST) / (HIGHEST - LOWEST) * (len(COLOURS) - 1)
    low = min(int(share), len(COLOURS) - 2)
    weight = share - low
    red, green, blue = (
        round(a + (b - a) * weight) for a, b in zip(COLOURS[low], COLOURS[low + 1], strict=True)
    )
    return red, green, blue


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
    with ``percent``; red at 50% and below, through yellow, to green at 100%. At most
    ``MAX_ROWS`` pendamping are drawn."""
    names, rates = list(names)[:MAX_ROWS], list(rates)[:MAX_ROWS]
    width, height = chart_size(len(names))
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    left, right = round(GRID_LEFT * width), round(GRID_RIGHT * width)
    top, bottom = GRID_TOP, height - GRID_BOTTOM
    columns = max(1, len(months))
    rows = max(1, len(names))
    cell_w, cell_h = (right - left) / columns, (bottom - top) / rows

    draw.text((width / 2, 15), title, fill=INK, font=_font(TITLE_PX), anchor="mt")
    for column, month in enumerate(months):
        x = left + cell_w * (column + 0.5)
        label = format_date(month, "MMM yy", locale=locale)
        draw.text((x, top - 6), label, fill=INK, font=_font(LABEL_PX), anchor="md")
    for row, name in enumerate(names):
        y = top + cell_h * (row + 0.5)
        draw.text((left - 8, y), shorten(name, NAME_WIDTH), fill=INK, font=_font(LABEL_PX),
                  anchor="rm")
    grid: Sequence[Sequence[float | None]] = rates or [[None] * len(months)]
    for row, line in enumerate(grid):
        y0, y1 = round(top + cell_h * row), round(top + cell_h * (row + 1))
        for column, value in enumerate(line):
            x0, x1 = round(left + cell_w * column), round(left + cell_w * (column + 1))
            draw.rectangle((x0, y0, x1 - 1, y1 - 1), fill=rate_colour(value))
            if not rates:
                continue  # no pendamping: one grey row, nothing written in it
            label = no_data if value is None else percent(value)
            draw.text(((x0 + x1) / 2, (y0 + y1) / 2), label, fill=INK, font=_font(CELL_PX),
                      anchor="mm")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=3)
    return buffer.getvalue()
