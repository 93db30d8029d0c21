"""Charts drawn with text: a braille line chart and horizontal bars.

Textual has no line chart, and these two are all the dashboard needs: each is a
`TextPanel` that draws a `rich.text.Text` from the data it was last given, so labels
that came from a source (segment values) are never parsed as markup. Colours are
mid-tone so they read on dark and light themes alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from rich.cells import cell_len
from rich.console import Console
from rich.style import Style
from rich.text import Text
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget

from sentitui.store.rows import AspectRow
from sentitui.tui.widgets.repaint import content_lines, repaint
from sentitui.tui.widgets.text import fmt, safe

SERIES_COLOURS = ["#3a86ff", "#e76f00", "#2a9d8f", "#c2188a", "#8f6bd8", "#9a8c00", "#d1495b"]
LABEL_COLOURS = {"positive": "#2e9e44", "neutral": "#8a8a8a", "negative": "#d64040"}
FEEDBACK_COLOUR = "#3a86ff"

# Braille dot bits by (column, row) inside one 2x4 cell.
_DOTS = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))
_EIGHTHS = " ▏▎▍▌▋▊▉"


def format_time(epoch: float, span: float) -> str:
    """An axis label: date and time for long spans, time alone for short ones (UTC);
    "?" for a moment no calendar holds (a stored year 0001 or 9999 is one bucket away)."""
    try:
        moment = datetime.fromtimestamp(epoch, UTC)
    except (ValueError, OverflowError, OSError):
        return "?"
    if span > 365 * 86400:
        return moment.strftime("%Y-%m-%d")
    return moment.strftime("%H:%M" if span <= 6 * 3600 else "%m-%d %H:%M")


def cannot_draw(error: Exception) -> Text:
    """What a chart shows instead of itself when a value defeats it: it never takes
    the console down."""
    return Text(f"cannot draw this panel: {type(error).__name__}: {safe(error)}", style="dim")


@dataclass(slots=True)
class Series:
    name: str
    points: list[tuple[float, float]]  # (epoch seconds, polarity -1..1), in time order


class TextPanel(Widget):
    """A panel drawn as one rich Text, kept as terminal lines (Textual's line API)
    until its data (`redraw`), its size or its style changes. Every return to the
    dashboard and every live refresh repaints the panels; Textual would convert each
    panel's Text again (4-13 ms a panel at 120x40, 33 ms the dashboard), where a
    repaint now looks its lines up."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._strips: tuple[tuple[int, int, Style], list[Strip]] | None = None

    def draw(self, width: int, height: int) -> Text:
        """The panel's text at this content size."""
        raise NotImplementedError

    def redraw(self, lines_before: int | None = None) -> None:
        """The data changed: draw again (`lines_before`: `content_lines` before it, to
        lay the screen out when that changed; None for a panel of a fixed height)."""
        self._strips = None
        if lines_before is None:
            self.refresh()
        else:
            repaint(self, lines_before)

    def render(self) -> Text:
        return self.safe_draw(*self.content_size)

    def safe_draw(self, width: int, height: int) -> Text:
        try:
            return self.draw(width, height)
        except Exception as error:
            return cannot_draw(error)

    def render_lines(self, crop: Region) -> list[Strip]:
        width, height = self.content_size
        style = self.rich_style
        key = (width, height, style)
        if self._strips is None or self._strips[0] != key:
            console = self.app.console
            lines = console.render_lines(
                self.safe_draw(width, height),
                console.options.update_width(max(width, 1)),
                style=style,
                pad=True,
            )
            self._strips = (key, [Strip(line, width) for line in lines])
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        if self._strips is not None and y < len(self._strips[1]):
            return self._strips[1][y]
        return Strip.blank(self.content_size.width, self.rich_style)


class Figures(TextPanel):
    """A line of headline figures, wrapped to the width."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.text = Text()

    def show(self, text: Text) -> None:
        before = content_lines(self)
        self.text = text
        self.redraw(before)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return max(len(self.text.wrap(self.app.console, max(width, 1))), 1)

    def draw(self, width: int, height: int) -> Text:
        return self.text


class PolarityChart(TextPanel):
    """Average polarity over time, one line per source, y from -1 to +1."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.series: list[Series] = []
        self.x_range: tuple[float, float] | None = None
        self.empty_message = "no posts yet"

    def show(
        self,
        series: list[Series],
        x_range: tuple[float, float] | None,
        empty_message: str = "no posts yet",
    ) -> None:
        self.series, self.x_range, self.empty_message = series, x_range, empty_message
        self.redraw()

    def draw(self, width: int, height: int) -> Text:
        return render_chart(self.series, self.x_range, width, height, self.empty_message)


def render_chart(
    series: Sequence[Series],
    x_range: tuple[float, float] | None,
    width: int,
    height: int,
    empty_message: str = "no posts yet",
) -> Text:
    """The chart as text: plot rows, a time axis and a legend (pure, so it is testable)."""
    margin = 5
    plot_w, plot_h = width - margin, height - 2
    if plot_w < 4 or plot_h < 2:
        return Text("")
    has_points = any(s.points for s in series)
    if x_range is None or not has_points:
        blank = [Text(" " * width) for _ in range(max(height - 1, 0))]
        out = Text("\n").join(
            blank[: height // 2] + [Text(empty_message.center(width), "dim")] + blank[height // 2 :]
        )
        return out
    x0, x1 = x_range
    span = max(x1 - x0, 1.0)
    dots_w, dots_h = plot_w * 2, plot_h * 4
    bits = [[0] * plot_w for _ in range(plot_h)]
    owner = [[-1] * plot_w for _ in range(plot_h)]

    def to_dot(t: float, value: float) -> tuple[int, int]:
        x = round((t - x0) / span * (dots_w - 1))
        y = round((1 - (max(-1.0, min(1.0, value)) + 1) / 2) * (dots_h - 1))
        return max(0, min(dots_w - 1, x)), max(0, min(dots_h - 1, y))

    def plot(x: int, y: int, index: int) -> None:
        cx, cy = x // 2, y // 4
        bits[cy][cx] |= _DOTS[x % 2][y % 4]
        owner[cy][cx] = index

    for index, one in enumerate(series):
        dots = [to_dot(t, v) for t, v in one.points]
        for (xa, ya), (xb, yb) in zip(dots, dots[1:], strict=False):
            steps = max(abs(xb - xa), abs(yb - ya), 1)
            for step in range(steps + 1):
                plot(
                    round(xa + (xb - xa) * step / steps),
                    round(ya + (yb - ya) * step / steps),
                    index,
                )
        if len(dots) == 1:
            plot(*dots[0], index)

    zero_row = round((dots_h - 1) / 2) // 4
    lines: list[Text] = []
    for row in range(plot_h):
        line = Text(no_wrap=True)
        if row == 0:
            label = "+1.0"
        elif row == plot_h - 1:
            label = "-1.0"
        elif row == zero_row:
            label = " 0.0"
        else:
            label = ""
        line.append(f"{label:>4}│", style="dim")
        empty, empty_style = ("┄", "dim") if row == zero_row else (" ", "")
        # One append per run of cells in the same style, not per cell: a chart is
        # thousands of cells and repainted every second while posts arrive.
        run: list[str] = []
        run_style = empty_style
        for col in range(plot_w):
            mask = bits[row][col]
            if mask:
                cell = chr(0x2800 + mask)
                style = SERIES_COLOURS[owner[row][col] % len(SERIES_COLOURS)]
            else:
                cell, style = empty, empty_style
            if style != run_style:
                line.append("".join(run), style=run_style or None)
                run, run_style = [], style
            run.append(cell)
        line.append("".join(run), style=run_style or None)
        lines.append(line)

    start, end = format_time(x0, span), format_time(x1, span)
    axis = Text(" " * margin, no_wrap=True)
    gap = max(plot_w - len(start) - len(end), 1)
    axis.append(start + " " * gap + end, style="dim")
    lines.append(axis)

    legend = Text(" " * margin, no_wrap=True, overflow="ellipsis")
    for index, one in enumerate(series):
        legend.append("━━ ", style=SERIES_COLOURS[index % len(SERIES_COLOURS)])
        legend.append(safe(one.name))
        legend.append("  ")
    lines.append(legend)
    return Text("\n").join(lines)


@dataclass(slots=True)
class BarRow:
    """One bar: a label, coloured parts (value, colour) and a figure after it."""

    label: str
    parts: list[tuple[float, str]]
    figure: str = ""


class Bars(TextPanel):
    """Horizontal bars, one per row; stacked when a row has several parts."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.rows: list[BarRow] = []
        self.scale: float | None = None
        self.empty_message = "nothing yet"

    def show(
        self, rows: list[BarRow], *, scale: float | None = None, empty_message: str = "nothing yet"
    ) -> None:
        """`scale` is the value of a full bar (the largest row's total, so that length
        means the same in every row); None scales each row to its own total."""
        before = content_lines(self)
        self.rows, self.scale, self.empty_message = rows, scale, empty_message
        self.redraw(before)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return max(len(self.rows), 1)

    def draw(self, width: int, height: int) -> Text:
        return render_bars(self.rows, width, self.scale, self.empty_message)


def render_bars(
    rows: Sequence[BarRow],
    width: int,
    scale: float | None = None,
    empty_message: str = "nothing yet",
) -> Text:
    if not rows:
        return Text(empty_message, style="dim")
    label_w = min(max(cell_len(safe(r.label)) for r in rows), max(width // 2 - 2, 4))
    figure_w = max(len(r.figure) for r in rows)
    bar_w = max(width - label_w - figure_w - 2, 1)
    lines = []
    for row in rows:
        line = Text(no_wrap=True, overflow="ellipsis")
        label = Text(safe(row.label))
        label.truncate(label_w, overflow="ellipsis", pad=True)
        line.append_text(label)
        line.append(" ")
        parts = [(number(v), colour) for v, colour in row.parts]
        total = scale if scale else sum(v for v, _ in parts)
        used, reached = 0, 0.0
        for value, colour in parts:
            if total <= 0 or value <= 0:
                continue
            if len(parts) == 1:  # one part: eighths of a cell for a smooth end
                full, rest = divmod(round(min(value / total, 1.0) * bar_w * 8), 8)
                chunk = "█" * min(full, bar_w) + (_EIGHTHS[rest] if rest and full < bar_w else "")
            else:  # stacked: each part ends where the running sum ends, so the bar's
                # whole length is its total against `total`, whatever the rounding
                reached += value
                end = min(round(reached / total * bar_w), bar_w)
                chunk = "█" * max(end - used, 0)
            line.append(chunk, style=colour)
            used += len(chunk)
        line.append(" " * (bar_w - used))
        line.append(" " + row.figure.rjust(figure_w), style="bold")
        lines.append(line)
    return Text("\n").join(lines)


def number(value: object) -> float:
    """A bar's value as a finite number (0 for NULL, text, NaN or infinity)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    return float(value) if value == value and abs(value) != float("inf") else 0.0


def label_legend() -> Text:
    """What the colours of the stacked label bars mean (a panel's subtitle)."""
    legend = Text()
    for name, colour in LABEL_COLOURS.items():
        if legend:
            legend.append(" ")
        legend.append("█", style=colour)
        legend.append(f" {name[:3]}")
    return legend


def polarity_colour(polarity: float | None) -> str:
    if not isinstance(polarity, int | float) or polarity != polarity:  # None, text, NaN
        return LABEL_COLOURS["neutral"]
    if polarity >= 0.05:
        return LABEL_COLOURS["positive"]
    if polarity <= -0.05:
        return LABEL_COLOURS["negative"]
    return LABEL_COLOURS["neutral"]


@dataclass(slots=True)
class AspectTable:
    """Sentiment per aspect: overall and per segment value, with headline sentences.

    `overall` and `cells` hold `Store.aspect_summary` rows; `cells` is keyed by
    (segment value, aspect)."""

    headline: list[Text]
    aspects: list[str]
    overall: dict[str, AspectRow]
    columns: list[str]
    cells: dict[tuple[str, str], AspectRow]


class AspectGrid(TextPanel):
    """Headline sentences over a grid: one row per aspect, its mentions and average
    polarity overall, then one column per segment value (as many as fit)."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.table: AspectTable | None = None
        self.empty_message = "nothing yet"
        self._lines: tuple[int, list[Text]] | None = None  # (width, lines) of the last draw

    def show(self, table: AspectTable | None, empty_message: str = "nothing yet") -> None:
        before = content_lines(self)
        self.table, self.empty_message, self._lines = table, empty_message, None
        self.redraw(before)

    def lines(self, width: int) -> list[Text]:
        """The panel's lines at `width`, worked out again only when the data or the
        width changed (layout and render both ask)."""
        if self._lines is None or self._lines[0] != width:
            try:
                lines = aspect_lines(self.table, width, self.empty_message, self.app.console)
            except Exception as error:
                lines = [cannot_draw(error)]
            self._lines = (width, lines)
        return self._lines[1]

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return max(len(self.lines(width)), 1)

    def draw(self, width: int, height: int) -> Text:
        return Text("\n").join(self.lines(width))


HEADLINE_MIN = 36  # the headline goes beside the grid when it gets at least this width


def aspect_lines(
    table: AspectTable | None,
    width: int,
    empty_message: str = "nothing yet",
    console: Console | None = None,
) -> list[Text]:
    """The panel as lines of text (pure, so it is testable): the headline sentences
    beside the grid when the width allows, else above it; grid rows never wrap."""
    if table is None or not table.aspects:
        return [Text(empty_message, style="dim")]
    width = max(width, 10)
    console = console or Console(width=width)
    grid = aspect_grid(table, width)
    grid_w = max(line.cell_len for line in grid)
    beside = width - grid_w - 3
    if beside >= HEADLINE_MIN:
        headline = [line for sentence in table.headline for line in sentence.wrap(console, beside)]
        lines = []
        for index in range(max(len(grid), len(headline))):
            line = grid[index].copy() if index < len(grid) else Text()
            line.pad_right(grid_w - line.cell_len)
            line.append("   ")
            if index < len(headline):
                line.append_text(headline[index])
            lines.append(line)
        return lines
    return [line for sentence in table.headline for line in sentence.wrap(console, width)] + grid


def aspect_grid(table: AspectTable, width: int) -> list[Text]:
    """A header and one row per aspect: mentions, overall average polarity, then the
    average polarity in each segment value, as many columns as fit in `width`."""
    label_w = min(max(6, *(cell_len(safe(a)) for a in table.aspects)), 14)
    count_w = max([len(fmt(row.mentions, ",")) for row in table.overall.values()] + [1])
    fixed = label_w + 1 + count_w + 1 + 6  # aspect, mentions, overall polarity
    col_w = max(min(max((cell_len(safe(c)) for c in table.columns), default=5), 10), 5)
    fits = max((width - fixed - 4) // (col_w + 1), 0)  # 4: room for "+N" more columns
    if fits >= len(table.columns) - 1 and fixed + len(table.columns) * (col_w + 1) <= width:
        fits = len(table.columns)
    columns = table.columns[:fits]
    more = len(table.columns) - len(columns)

    def cut(value: str, size: int, justify: str = "right") -> Text:
        text = Text(safe(value), no_wrap=True, overflow="ellipsis")
        text.truncate(size, overflow="ellipsis")
        pad = size - text.cell_len
        return Text(" " * pad) + text if justify == "right" else text + Text(" " * pad)

    def figure(row: AspectRow | None, size: int) -> Text:
        if row is None or row.avg_polarity is None:
            return Text("·".rjust(size), style="dim")
        polarity = row.avg_polarity
        return Text(fmt(polarity, "+.2f").rjust(size), style=polarity_colour(polarity))

    header = Text(no_wrap=True, overflow="ellipsis", style="dim")
    header.append_text(cut("aspect", label_w, "left"))
    header.append(" " + "n".rjust(count_w) + " " + "all".rjust(6))
    for column in columns:
        header.append(" ")
        header.append_text(cut(column, col_w))
    if more:
        header.append(f" +{more}")
    lines = [header]
    for aspect in table.aspects:
        row = table.overall.get(aspect)
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append_text(cut(aspect, label_w, "left"))
        line.append(" " + fmt(row.mentions if row else 0, ",").rjust(count_w) + " ", style="bold")
        line.append_text(figure(row, 6))
        for column in columns:
            line.append(" ")
            line.append_text(figure(table.cells.get((column, aspect)), col_w))
        lines.append(line)
    return lines
