"""1 Dashboard: headline figures, polarity over time per source, label, feedback and
segment splits. Re-queried at most once a second while the engine writes rows."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import Container, Horizontal
from textual.widget import Widget
from textual.widgets import Static

from sentitui.tui.queries import WINDOWS, DashboardData, load_dashboard
from sentitui.tui.screens.base import SentiScreen
from sentitui.tui.widgets.charts import (
    FEEDBACK_COLOUR,
    LABEL_COLOURS,
    BarRow,
    Bars,
    PolarityChart,
    Series,
)
from sentitui.tui.widgets.text import safe

FEEDBACK_ORDER = ("praise", "complaint", "suggestion", "comparison", "question", "other")


def bucket_name(seconds: int) -> str:
    if seconds % 86400 == 0:
        return f"{seconds // 86400}d"
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    return f"{seconds // 60}m"


def label_parts(row: dict) -> list[tuple[float, str]]:
    return [(row.get(name) or 0, LABEL_COLOURS[name]) for name in ("positive", "neutral", "negative")]


class DashboardScreen(SentiScreen):
    MODE = "dashboard"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("w", "window", "Window"),
        Binding("s", "segment", "Segment"),
        Binding("r", "reload", "Refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.window = WINDOWS[0]
        self.segment_key: str | None = None
        self.data: DashboardData | None = None

    def compose_body(self) -> Iterable[Widget]:
        yield Static(id="figures")
        with Container(id="dash-body"):
            yield PolarityChart(id="chart")
            with Horizontal(id="splits"):
                yield Bars(id="labels")
                yield Bars(id="feedback")
                yield Bars(id="segments")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#chart").border_title = "Polarity over time"
        self.query_one("#labels").border_title = "Labels by source"
        self.query_one("#feedback").border_title = "Feedback"
        self.query_one("#segments").border_title = "Segment"

    def reload(self) -> None:
        window, key = self.window, self.segment_key
        self.fetch("dashboard", lambda store: load_dashboard(store, window, key))

    def action_reload(self) -> None:
        self.reload()

    def action_window(self) -> None:
        self.window = WINDOWS[(WINDOWS.index(self.window) + 1) % len(WINDOWS)]
        self.reload()

    def action_segment(self) -> None:
        keys = self.data.segment_keys if self.data else []
        if not keys:
            self.notify("the posts carry no segments")
            return
        index = keys.index(self.segment_key) + 1 if self.segment_key in keys else 1
        self.segment_key = keys[index % len(keys)]
        self.reload()

    def show_dashboard(self, data: DashboardData) -> None:
        self.data = data
        self.segment_key = data.segment_key
        totals = data.totals
        figures = Text(no_wrap=False)

        def figure(value: str, label: str, style: str = "bold") -> None:
            if figures.plain:
                figures.append("  ·  ", style="dim")
            figures.append(value, style=style)
            figures.append(f" {label}")

        figure(f"{totals['posts']:,}", "posts")
        figure(f"{data.per_minute:g}", "per minute")
        avg = totals["avg_polarity"]
        figure("—" if avg is None else f"{avg:+.3f}", "avg polarity")
        figure(f"{totals['share_negative']:.1%}", "negative", f"bold {LABEL_COLOURS['negative']}")
        open_failed = totals["open_failed"]
        figure(f"{open_failed:,}", "open failed", "bold red" if open_failed else "bold")
        self.query_one("#figures", Static).update(figures)

        chart = self.query_one("#chart", PolarityChart)
        chart.border_title = (f"Polarity over time · {data.window} · "
                              f"{bucket_name(data.bucket_seconds)} buckets (w)")
        empty = "no posts yet" if data.window == "all" else f"no posts in the last {data.window}"
        chart.show([Series(name, points) for name, points in sorted(data.series.items())],
                   data.x_range, empty)

        pipelines = {row["pipeline"] for row in data.by_source}
        self.query_one("#labels", Bars).show([
            BarRow(row["source"] if len(pipelines) == 1 else f"{row['pipeline']}/{row['source']}",
                   label_parts(row), f"{row['posts']:,}")
            for row in data.by_source], empty_message="no posts yet")

        total = sum(data.feedback.values()) or 1
        kinds = [k for k in FEEDBACK_ORDER if k in data.feedback]
        kinds += sorted(k for k in data.feedback if k not in FEEDBACK_ORDER)
        top = max(data.feedback.values(), default=0)
        self.query_one("#feedback", Bars).show([
            BarRow(kind, [(data.feedback[kind], FEEDBACK_COLOUR)],
                   f"{data.feedback[kind]:,} {data.feedback[kind] / total:4.0%}")
            for kind in kinds], scale=top or None, empty_message="no posts yet")

        # The three panels share the height of the longest.
        lines = max(len(data.by_source), len(kinds), len(data.segments), 1)
        for bars in self.query(Bars):
            bars.styles.height = lines + 2
        segments = self.query_one("#segments", Bars)
        # A Text title: segment names are never read as markup.
        segments.border_title = Text(f"Segment: {safe(data.segment_key)} (s)"
                                     if data.segment_key else "Segment")
        segments.show([
            BarRow(str(row["segment"]), label_parts(row), f"{row['posts']:,}")
            for row in data.segments], empty_message="no segments in the posts")
