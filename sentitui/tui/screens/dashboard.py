"""1 Dashboard: headline figures, polarity over time per source, label, feedback,
segment and competitor splits, and sentiment per aspect by segment with the top
complaint of each segment. Re-queried at most once a second while the engine writes rows.

At 80 columns the chart keeps the first screen with the splits under it and the body
scrolls to the competitor and aspect panels; from 120 columns the competitors join
the splits row and everything fits."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.containers import Container, VerticalScroll
from textual.widget import Widget

from sentitui.store import Store
from sentitui.store.rows import AspectRow, CompetitorRow, SegmentRow, SourceTotals
from sentitui.tui.queries import RATE_MINUTES, WINDOWS, DashboardData, load_dashboard
from sentitui.tui.screens.base import WIDE_COLUMNS, QueryResult, SentiScreen
from sentitui.tui.widgets.charts import (
    FEEDBACK_COLOUR,
    LABEL_COLOURS,
    AspectGrid,
    AspectTable,
    BarRow,
    Bars,
    Figures,
    PolarityChart,
    Series,
    label_legend,
    number,
)
from sentitui.tui.widgets.text import fmt, safe

DashboardQuery = Callable[[Store], DashboardData]
RATE_SECONDS = 5.0  # how often the per-minute rate is re-read while nothing else changes
FEEDBACK_ORDER = ("praise", "complaint", "suggestion", "comparison", "question", "other")


def bucket_name(seconds: int) -> str:
    if seconds % 86400 == 0:
        return f"{seconds // 86400}d"
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    return f"{seconds // 60}m"


def label_parts(row: SourceTotals | SegmentRow | CompetitorRow) -> list[tuple[float, str]]:
    return [
        (number(row.positive), LABEL_COLOURS["positive"]),
        (number(row.neutral), LABEL_COLOURS["neutral"]),
        (number(row.negative), LABEL_COLOURS["negative"]),
    ]


def largest(counts: Iterable[object]) -> float | None:
    """The scale of a panel's bars: its largest count, so a bar's length means a count."""
    return max((number(n) for n in counts), default=0.0) or None


def unreadable(data: DashboardData, panel: str, empty: str) -> str:
    """A panel's empty message, or why its query failed (it then has no rows)."""
    problem = data.unreadable.get(panel)
    return f"cannot read: {safe(problem)}" if problem else empty


def join_names(names: list[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def complaint_headline(
    top: dict[str, str], columns: list[str], overall_top: str | None
) -> list[Text]:
    """Sentences like "price is the top complaint among 18-24 and 25-34", one per aspect
    that tops some segment (most segments first); without segments, the overall one."""
    by_aspect: dict[str, list[str]] = {}
    for column in columns:
        if column in top:
            by_aspect.setdefault(top[column], []).append(column)
    for segment, aspect in top.items():  # segments beyond the columns shown
        if str(segment) not in columns:
            by_aspect.setdefault(aspect, []).append(str(segment))
    sentences = []
    for aspect, segments in sorted(by_aspect.items(), key=lambda item: -len(item[1])):
        sentence = Text()
        sentence.append(safe(aspect), style=f"bold {LABEL_COLOURS['negative']}")
        sentence.append(" is the top complaint among ")
        sentence.append(safe(join_names(segments)), style="bold")
        sentences.append(sentence)
    if not sentences and overall_top:
        sentence = Text()
        sentence.append(safe(overall_top), style=f"bold {LABEL_COLOURS['negative']}")
        sentence.append(" is the top complaint")
        sentences.append(sentence)
    if not sentences:
        sentences.append(Text("no complaints about an aspect yet", style="dim"))
    return sentences


def aspect_table(data: DashboardData) -> AspectTable:
    overall = {row.aspect: row for row in data.aspects}
    mentions: dict[str, int] = {}
    cells: dict[tuple[str, str], AspectRow] = {}
    for row in data.aspects_by_segment:
        segment = str(row.segment)
        mentions[segment] = mentions.get(segment, 0) + row.mentions
        cells[(segment, row.aspect)] = row
    columns = sorted(mentions, key=lambda s: (-mentions[s], s))
    overall_top = next((row.aspect for row in data.aspects if row.negative), None)
    top = {str(k): v for k, v in data.top_complaints.items()}
    return AspectTable(
        complaint_headline(top, columns, overall_top), list(overall), overall, columns, cells
    )


class DashboardLoaded(QueryResult[DashboardData]):
    """The dashboard's figures, read in a worker."""


class RateLoaded(QueryResult[float]):
    """Posts per minute over the last RATE_MINUTES, read again every RATE_SECONDS."""


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
        self.charts: dict[str, DashboardData] = {}  # the last answer per window, for `w`
        self.per_minute = 0.0

    def compose_body(self) -> Iterable[Widget]:
        yield Figures(id="figures")
        with VerticalScroll(id="dash-body"):
            yield PolarityChart(id="chart")
            with Container(id="splits"):
                yield Bars(id="labels")
                yield Bars(id="feedback")
                yield Bars(id="segments")
                yield Bars(id="competitors")
            yield AspectGrid(id="aspects")

    def on_mount(self) -> None:
        self.query_one("#chart").border_title = "Polarity over time"
        self.query_one("#labels").border_title = "Labels by source"
        self.query_one("#labels").border_subtitle = label_legend()
        self.query_one("#feedback").border_title = "Feedback"
        self.query_one("#segments").border_title = "Segment"
        self.query_one("#segments").border_subtitle = label_legend()
        competitors = self.query_one("#competitors")
        competitors.border_title = "Competitors"
        competitors.border_subtitle = "share · polarity"
        self.query_one("#aspects").border_title = "Aspects"
        self.set_interval(RATE_SECONDS, self.reload_rate)

    def on_resize(self, event: events.Resize) -> None:
        self.size_panels()

    @staticmethod
    def reads(window: str = WINDOWS[0], segment_key: str | None = None) -> DashboardQuery:
        """What the dashboard reads for a window and segment key (by default what it
        shows first: the app reads that ahead, while the dashboard is composed)."""
        return partial(load_dashboard, window=window, segment_key=segment_key)

    def reload(self) -> None:
        self.fetch(DashboardLoaded, self.reads(self.window, self.segment_key))

    def action_reload(self) -> None:
        self.reload()

    def action_window(self) -> None:
        self.window = WINDOWS[(WINDOWS.index(self.window) + 1) % len(WINDOWS)]
        # Answered at once: with the window's last chart, or by its name (the buckets
        # come with the data); the query reads it again behind.
        seen = self.charts.get(self.window)
        if seen is not None:
            self.draw_chart(seen)
        else:
            chart = self.query_one("#chart")
            chart.border_title = f"Polarity over time · {self.window} · reading… (w)"
        self.reload()

    def action_segment(self) -> None:
        keys = self.data.segment_keys if self.data else []
        if not keys:
            self.notify("the posts carry no segments")
            return
        index = keys.index(self.segment_key) + 1 if self.segment_key in keys else 1
        self.segment_key = keys[index % len(keys)]
        self.reload()

    def on_dashboard_loaded(self, message: DashboardLoaded) -> None:
        self.draw_result(self.show_dashboard, message)

    def show_dashboard(self, data: DashboardData) -> None:
        self.data = data
        self.segment_key = data.segment_key
        self.per_minute = data.per_minute
        self.draw_figures()
        self.draw_chart(data)
        self.draw_panels(data)

    def draw_chart(self, data: DashboardData) -> None:
        self.charts[data.window] = data
        chart = self.query_one("#chart", PolarityChart)
        chart.border_title = (
            f"Polarity over time · {data.window} · {bucket_name(data.bucket_seconds)} buckets (w)"
        )
        empty = "no posts yet" if data.window == "all" else f"no posts in the last {data.window}"
        chart.border_subtitle = (
            f"{data.off_chart:,} post(s) dated before 1995 or in the future not shown"
            if data.off_chart
            else ""
        )
        chart.show(
            [Series(name, points) for name, points in sorted(data.series.items())],
            data.x_range,
            unreadable(data, "chart", empty),
        )

    def draw_panels(self, data: DashboardData) -> None:
        """Every panel but the chart and the figures."""
        pipelines = {row.pipeline for row in data.by_source}
        self.query_one("#labels", Bars).show(
            [
                BarRow(
                    row.source if len(pipelines) == 1 else f"{row.pipeline}/{row.source}",
                    label_parts(row),
                    fmt(row.posts, ","),
                )
                for row in data.by_source
            ],
            scale=largest(row.posts for row in data.by_source),
            empty_message=unreadable(data, "labels", "no posts yet"),
        )

        total = sum(number(n) for n in data.feedback.values()) or 1
        kinds = [k for k in FEEDBACK_ORDER if k in data.feedback]
        kinds += sorted((k for k in data.feedback if k not in FEEDBACK_ORDER), key=str)
        top = max((number(n) for n in data.feedback.values()), default=0)
        self.query_one("#feedback", Bars).show(
            [
                BarRow(
                    str(kind),
                    [(data.feedback[kind], FEEDBACK_COLOUR)],
                    f"{fmt(data.feedback[kind], ',')} {fmt(number(data.feedback[kind]) / total, '4.0%')}",
                )
                for kind in kinds
            ],
            scale=top or None,
            empty_message=unreadable(data, "feedback", "no posts yet"),
        )

        segments = self.query_one("#segments", Bars)
        # A Text title: segment names are never read as markup.
        segments.border_title = Text(
            f"Segment: {safe(data.segment_key)} (s)" if data.segment_key else "Segment"
        )
        segments.show(
            [
                BarRow(str(row.segment), label_parts(row), fmt(row.posts, ","))
                for row in data.segments
            ],
            scale=largest(row.posts for row in data.segments),
            empty_message=unreadable(data, "segments", "no segments in the posts"),
        )

        pipelines_config = list(self.senti.engine.pipelines.values())
        top_mentions = largest(row.mentions for row in data.competitors)
        self.query_one("#competitors", Bars).show(
            [
                BarRow(
                    str(row.competitor),
                    label_parts(row),
                    f"{fmt(row.share_of_voice, '.0%')} {fmt(row.avg_polarity or 0, '+.2f')}",
                )
                for row in data.competitors
            ],
            scale=top_mentions,
            empty_message=unreadable(
                data,
                "competitors",
                "no competitor named yet"
                if any(getattr(p, "competitors", None) for p in pipelines_config)
                else "no competitors configured",
            ),
        )

        aspects = self.query_one("#aspects", AspectGrid)
        aspects.border_title = Text(
            f"Aspects by {safe(data.segment_key)} (s)" if data.segment_key else "Aspects"
        )
        aspects.show(
            aspect_table(data),
            empty_message=unreadable(
                data,
                "aspects",
                "no aspect mentioned yet"
                if any(getattr(p, "aspects", None) for p in pipelines_config)
                else "no aspects configured (pipeline key aspects)",
            ),
        )
        self.size_panels()

    def reload_rate(self) -> None:
        """The rate averages a moving window: re-read it even when nothing arrives, so
        it falls to 0 after everything stopped instead of keeping its last value."""
        if self.is_current and self.data is not None:
            self.fetch(RateLoaded, lambda store: store.posts_per_minute(RATE_MINUTES))

    def on_rate_loaded(self, message: RateLoaded) -> None:
        self.draw_result(self.show_rate, message)

    def show_rate(self, per_minute: float) -> None:
        self.per_minute = per_minute
        self.draw_figures()

    def draw_figures(self) -> None:
        if self.data is None:
            return
        data, totals = self.data, self.data.totals
        figures = Text(no_wrap=False)

        def figure(value: str, label: str, style: str = "bold") -> None:
            if figures.plain:
                figures.append("  ·  ", style="dim")
            figures.append(value, style=style)
            figures.append(f" {label}")

        figure(fmt(totals.posts, ","), "posts")
        figure(fmt(self.per_minute, "g"), f"per min (last {RATE_MINUTES} min)")
        avg = totals.avg_polarity
        figure("—" if avg is None else fmt(avg, "+.3f"), "avg polarity")
        negative = f"bold {LABEL_COLOURS['negative']}"
        figure(fmt(totals.share_negative, ".1%"), "negative", negative)
        unscored = totals.unscored or 0
        if unscored:  # averages and shares above cover the scored posts only
            figure(fmt(unscored, ","), "unscored (other languages)", "bold yellow")
        agreement = data.agreement
        if agreement.rated:
            figure(
                fmt(agreement.agreement, ".0%"),
                f"of {fmt(agreement.rated, ',')} ratings agree with the text",
            )
        open_failed = totals.open_failed
        figure(fmt(open_failed, ","), "open failed", "bold red" if open_failed else "bold")
        if "figures" in data.unreadable:
            figure("?", f"cannot read: {safe(data.unreadable['figures'])}", "bold red")
        self.query_one("#figures", Figures).show(figures)

    def size_panels(self) -> None:
        """The panels of a row share the height of the longest: labels, feedback and
        segments, and the competitors too when they sit in the same row (wide)."""
        data = self.data
        if data is None:
            return
        kinds = len(data.feedback)
        lines = max(len(data.by_source), kinds, len(data.segments), 1)
        wide = self.size.width >= WIDE_COLUMNS
        if wide:
            lines = max(lines, len(data.competitors))
        for name in ("labels", "feedback", "segments"):
            self.query_one(f"#{name}", Bars).styles.height = lines + 2
        competitors = self.query_one("#competitors", Bars)
        competitors.styles.height = (lines if wide else max(len(data.competitors), 1)) + 2
