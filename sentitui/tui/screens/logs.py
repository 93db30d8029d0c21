"""4 Logs: the engine's log lines, live, filtered by level, source and text.

Lines live in the app's bounded deque (the newest LOG_LINES); this screen draws
them into a `Log` widget (plain text, never markup; it writes thousands of lines
in milliseconds) and appends only new matching lines after each flush.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Input, Log, Select, Static

from sentitui.models import LogLine
from sentitui.tui.events import EngineUpdate
from sentitui.tui.screens.base import SentiScreen
from sentitui.tui.widgets.text import safe

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def rank(level: str) -> int:
    return LEVELS.index(level) if level in LEVELS else 1


def format_line(line: LogLine) -> list[str]:
    """One log event as display lines (UTC time, level, where, message; no escapes)."""
    stamp = datetime.fromtimestamp(line.at, UTC).strftime("%H:%M:%S")
    where = f"{line.pipeline}/{line.source}: " if line.source else ""
    first, *rest = safe(line.message).split("\n") or [""]
    return [f"{stamp} {line.level:<7} {safe(where)}{first}"] + [f"{'':17}{r}" for r in rest]


class LogsScreen(SentiScreen):
    MODE = "logs"
    SOURCE_FILTER = "log-source"
    AUTO_FOCUS = "#log"
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

    def compose_body(self) -> Iterable[Widget]:
        with Horizontal(classes="filters"):
            yield Select([(f"{level}+", level) for level in LEVELS], value=self.min_level,
                         allow_blank=False, compact=True, id="log-level")
            yield self.source_filter()
            yield Input(placeholder="/ search", compact=True, id="log-search")
            yield Static(id="log-status", classes="count")
        yield Log(max_lines=self.senti.log_lines.maxlen, id="log")

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
        """Redraw every kept line that passes the filters."""
        log = self.query_one("#log", Log)
        log.clear()
        log.write_lines([text for line in self.senti.log_lines if self.matches(line)
                         for text in format_line(line)])
        self.missed = 0
        self.draw_status()

    def on_engine_update(self, message: EngineUpdate) -> None:
        new = [line for line in message.batch.logs if self.matches(line)]
        if not new:
            return
        if self.following:
            self.query_one("#log", Log).write_lines([t for line in new for t in format_line(line)])
        else:
            self.missed += len(new)
            self.draw_status()

    def draw_status(self) -> None:
        if self.following:
            status = Text("following", style="dim")
        else:
            status = Text(f"paused · {self.missed} new", style="bold yellow")
        self.query_one("#log-status", Static).update(status)

    def on_select_changed(self, event: Select.Changed) -> None:
        value = None if event.value is Select.NULL else str(event.value)
        if event.select.id == "log-level":
            self.min_level = value or "INFO"
        elif event.select.id == "log-source":
            self.source = value
        self.reload()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.search = event.value.strip()
        self.reload()

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
            self.reload()
            log.scroll_end(animate=False)
        else:
            self.draw_status()

    def action_clear(self) -> None:
        self.senti.log_lines.clear()
        self.reload()
