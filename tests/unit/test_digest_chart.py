"""The digest's attendance chart: size, cell colours by rate, grey where nothing was recorded.

The PNG is decoded with Pillow and read at cell corners (away from the written labels).
"""

from __future__ import annotations

import io
from datetime import date

from PIL import Image

from reporting.chart import (
    DPI,
    GRID_BOTTOM,
    GRID_LEFT,
    GRID_RIGHT,
    GRID_TOP,
    MAX_ROWS,
    NO_DATA_COLOUR,
    attendance_chart,
    chart_size,
    rate_colour,
)

MONTHS = [date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)]
RED, YELLOW, GREEN = (0xC0, 0x39, 0x2B), (0xF1, 0xC4, 0x0F), (0x27, 0xAE, 0x60)


def draw(names: list[str], rates: list[list[float | None]]) -> Image.Image:
    png = attendance_chart(names, MONTHS, rates, title="Kehadiran per pendamping (%)",
                           no_data="-", locale="id", percent=lambda v: f"{v * 100:.0f}%")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return Image.open(io.BytesIO(png)).convert("RGB")


def cell_corner(image: Image.Image, rows: int, row: int, column: int) -> tuple[int, int]:
    """A pixel inside cell (row, column), two pixels from its top-left corner."""
    width, height = image.size
    left, right = round(GRID_LEFT * width), round(GRID_RIGHT * width)
    cell_w = (right - left) / len(MONTHS)
    cell_h = (height - GRID_BOTTOM - GRID_TOP) / rows
    return round(left + cell_w * column) + 2, round(GRID_TOP + cell_h * row) + 2


def test_rate_colours_run_from_red_through_yellow_to_green() -> None:
    assert rate_colour(0.0) == rate_colour(0.5) == RED  # 50% and below: red
    assert rate_colour(0.75) == YELLOW
    assert rate_colour(1.0) == rate_colour(1.2) == GREEN
    assert rate_colour(None) == NO_DATA_COLOUR
    between = rate_colour(0.875)
    assert all(min(y, g) <= c <= max(y, g) for c, y, g in zip(between, YELLOW, GREEN, strict=True))
    assert between not in (YELLOW, GREEN)


def test_each_cell_is_coloured_by_its_rate_and_grey_without_data() -> None:
    rates: list[list[float | None]] = [[1.0, 0.4, None], [0.75, None, 1.0]]
    image = draw(["Sri Wahyuni", "Budi Santoso"], rates)
    assert image.size == chart_size(2)
    for row, line in enumerate(rates):
        for column, value in enumerate(line):
            assert image.getpixel(cell_corner(image, 2, row, column)) == rate_colour(value)
    # labels are written: a cell holds darker pixels than its fill (the percentage)
    (x, y), (x_next, y_next) = cell_corner(image, 2, 0, 0), cell_corner(image, 2, 1, 1)
    crop = image.crop((x, y, x_next - 4, y_next - 4)).convert("L")
    darkest, lightest = crop.getextrema()
    assert isinstance(darkest, int) and isinstance(lightest, int)
    assert darkest < lightest - 50


def test_no_pendamping_draws_one_grey_row_and_more_than_the_maximum_are_cut() -> None:
    empty = draw([], [])
    assert empty.size == chart_size(0) == chart_size(1)
    assert empty.getpixel(cell_corner(empty, 1, 0, 1)) == NO_DATA_COLOUR
    many = draw([f"Pendamping {i}" for i in range(MAX_ROWS + 5)], [[0.9] * 3] * (MAX_ROWS + 5))
    assert many.size == chart_size(MAX_ROWS) and many.size[1] > 20 * DPI
