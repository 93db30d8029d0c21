"""4 Logs: the engine's log lines, live, filtered by level, source and text.

Lines live in the app's bounded deque (the newest LOG_LINES); this screen draws
them into a `Log` widget (plain text, never markup; it writes thousands of lines
in milliseconds) and appends only new matching lines after each flush. `Log` does
not wrap, so lines are wrapped here to its width (and again when it changes): at
80 columns a URL in an error must not run off the edge.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Log, Select, Static

from sentitui.models import LogLine
from sentitui.tui.events import EngineUpdate
from sentitui.tui.screens.base import SentiScreen
from sentitui.tui.widgets.repaint import update_static
from sentitui.tui.widgets.text import safe

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def rank(level: str) -> int:
    return LEVELS.index(level) if level in LEVELS else 1


INDENT = " " * 17  # continuation lines start under the message, after time and level


def format_line(line: LogLine, width: int = 0) -> list[str]:
    """One log event as display lines (UTC time, level, where, message; no escapes),
    wrapped to `width` columns when it is given."""
    try:
        stamp = datetime.fromtimestamp(line.at, UTC).strftime("%H:%M:%S")
    except (TypeError, ValueError, OverflowError, OSError):  # a daemon's event row said so
        stamp = "??:??:??"
    where = f"{line.pipeline}/{line.source}: " if line.source else ""
    first, *rest = safe(line.message).split("\n") or [""]
    lines = [f"{stamp} {safe(line.level):<7} {safe(where)}{first}"] + [f"{INDENT}{r}" for r in rest]
    if width <= len(INDENT) + 10:  # not laid out yet, or too narrow to be worth it
        return lines
    wrapped: list[str] = []
    for text in lines:
        if len(text) <= width:
            wrapped.append(text)
        else:
            wrapped.extend(
                textwrap.wrap(
                    text,
                    width,
                    subsequent_indent=INDENT,
                    break_on_hyphens=False,
                    replace_whitespace=False,
                )
                or [text]
            )
    return wrapped


class LogView(Log):
    """The `Log`, telling its screen when its width changed (lines are wrapped to it)."""

    class Resized(Message):
        pass

    def wrap_width(self) -> int:
        # Room is kept for the vertical scrollbar, so its arrival does not cut lines.
        return self.content_region.width - self.styles.scrollbar_size_vertical

    def on_resize(self, event: events.Resize) -> None:
        self.post_message(self.Resized())


class LogsScreen(SentiScreen):
    MODE = "logs"
    SOURCE_FILTER = "log-source"
    AUTO_FOCUS = "#log"
    REQUERY_ON_DATA = False  # lines come with engine updates, not from the database
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f", "follow", "Pause/follow"),
        Binding("l", "level", "Level"),
        Binding("slash", "search", "Search"),
        Binding("ctrl+l", "clear", "Clear"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.min_level = "INFO"
        self.source: str | None = None
        self.search = ""
        self.following = True
        self.missed = 0
        self.wrapped_to = 0  # the width the lines in the Log were wrapped to
        self.shown_last: LogLine | None = None  # the newest kept line the view has drawn

    def compose_body(self) -> Iterable[Widget]:
        with Horizontal(classes="filters"):
            yield Select(
                [(f"{level}+", level) for level in LEVELS],
                value=self.min_level,
                allow_blank=False,
                compact=True,
                id="log-level",
            )
            yield self.source_filter()
            yield Input(placeholder="/ search", compact=True, id="log-search")
            yield Static(id="log-status", classes="count")
        yield LogView(max_lines=self.senti.log_lines.maxlen, id="log")

    def matches(self, line: LogLine) -> bool:
        if rank(line.level) < rank(self.min_level):
            return False
        if self.source and line.source != self.source:
            return False
        if self.search:
            haystack = f"{line.pipeline}/{line.source} {line.message}".lower()
            return self.search.lower() in haystack
        return True

    def reload(self) -> None:
        """Following, catch up; paused, the view stays as it is and only the count of
        lines it has not shown moves (the base screen calls this on every return)."""
        if self.following:
            self.catch_up()
        else:
            self.count_missed()

    def catch_up(self) -> None:
        """Append the kept lines that came after the last one drawn (those logged while
        another screen was shown); redraw only when that line is no longer kept.
        Redrawing all 5,000 lines on every return was most of the key `4` while the
        engine ingests."""
        lines = self.senti.log_lines
        newer: list[LogLine] = []
        for line in reversed(lines):
            if line is self.shown_last:
                break
            newer.append(line)
        else:
            if lines:  # the last line drawn is gone (or none was): draw them all
                self.redraw()
            return
        if newer:
            self.write_new(newer[::-1])

    def on_screen_resume(self) -> None:
        """Lines logged while another screen was shown went to that screen's updates:
        catch up with them (new rows alone make the base screen reload)."""
        lines = self.senti.log_lines
        if lines and self.shown_last is not lines[-1]:
            self.reload()

    def count_missed(self) -> None:
        """How many kept lines that pass the filters arrived after the last one drawn."""
        missed = 0
        for line in reversed(self.senti.log_lines):
            if line is self.shown_last:
                break
            missed += self.matches(line)
        self.missed = missed
        self.draw_status()

    def redraw(self) -> None:
        """Draw every kept line that passes the filters."""
        log = self.query_one("#log", LogView)
        self.wrapped_to = width = log.wrap_width()
        log.clear()
        log.write_lines(
            [
                text
                for line in self.senti.log_lines
                if self.matches(line)
                for text in format_line(line, width)
            ]
        )
        if self.following:  # write_lines follows only from the old end, which clear() moved
            log.scroll_end(animate=False, immediate=True, x_axis=False)
        self.shown_last = self.senti.log_lines[-1] if self.senti.log_lines else None
        self.missed = 0
        self.draw_status()

    def on_log_view_resized(self, message: LogView.Resized) -> None:
        # Paused, the lines keep their wrapping until following resumes: the view stays.
        if self.following and self.query_one("#log", LogView).wrap_width() != self.wrapped_to:
            self.redraw()

    def on_engine_update(self, message: EngineUpdate) -> None:
        if not self.following:
            self.count_missed()
            return
        self.write_new(message.batch.logs)

    def write_new(self, lines: list[LogLine]) -> None:
        """Append `lines`, the newest kept ones, those that pass the filters."""
        new = [line for line in lines if self.matches(line)]
        if self.senti.log_lines:
            self.shown_last = self.senti.log_lines[-1]
        if new:
            self.query_one("#log", Log).write_lines(
                [t for line in new for t in format_line(line, self.wrapped_to)]
            )

    def draw_status(self) -> None:
        if self.following:
            status = Text("following", style="dim")
        else:
            status = Text(f"paused · {self.missed} new", style="bold yellow")
        update_static(self.query_one("#log-status", Static), status)

    def on_select_changed(self, event: Select.Changed) -> None:
        value = None if event.value is Select.NULL else str(event.value)
        if event.select.id == "log-level":
            self.min_level = value or "INFO"
        elif event.select.id == "log-source":
            self.source = value
        self.redraw()  # asked for: the view shows the new filter even when paused

    def on_input_changed(self, event: Input.Changed) -> None:
        self.search = event.value.strip()
        self.redraw()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one("#log").focus()

    def action_search(self) -> None:
        self.query_one("#log-search").focus()

    def action_level(self) -> None:
        select = self.query_one("#log-level", Select)
        select.value = LEVELS[(rank(self.min_level) + 1) % len(LEVELS)]

    def action_follow(self) -> None:
        self.following = not self.following
        log = self.query_one("#log", Log)
        log.auto_scroll = self.following
        if self.following:
            self.redraw()
            log.scroll_end(animate=False)
        else:
            self.count_missed()

    def action_clear(self) -> None:
        self.senti.log_lines.clear()
        self.redraw()
