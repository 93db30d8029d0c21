"""The header line (engine state, database path) and the tab bar of the five screens."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.cells import cell_len
from rich.text import Text
from textual.content import Content
from textual.widget import Widget

from sentitui.tui.widgets.text import safe

if TYPE_CHECKING:
    from sentitui.tui.app import SentiApp

# (mode name, tab label) in number-key order.
SCREENS = [
    ("dashboard", "Dashboard"),
    ("pipelines", "Pipelines"),
    ("failed", "Failed records"),
    ("logs", "Logs"),
    ("posts", "Posts"),
    ("alerts", "Alerts"),
]


class StatusHeader(Widget):
    """One line: the app's name, what the engine is doing, and the database file."""

    def on_mount(self) -> None:
        # Redrawn every second, not only after engine events: a header of a screen
        # shown again, or a daemon's heartbeat age, must not be stale.
        self.set_interval(1.0, self.refresh)

    def render(self) -> Text:
        app = cast("SentiApp", self.app)
        state, style = app.engine_summary()
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(" SentiTUI ", style="bold")
        line.append("● ", style=style)
        line.append(state)
        firing = getattr(app, "firing_alerts", [])
        if firing:
            names = ", ".join(safe(name) for name in firing[:3])
            more = f" +{len(firing) - 3}" if len(firing) > 3 else ""
            line.append(f"  ▲ {len(firing)} alert(s) firing: {names}{more}", style="bold red")
        right = Text(f"db: {safe(app.db_path)} ", style="dim")
        gap = self.content_size.width - cell_len(line.plain) - cell_len(right.plain)
        if gap >= 2:
            line.append(" " * gap)
            line.append_text(right)
        return line


class NavBar(Widget):
    """The tab bar: number keys 1-6 or a click switch screens."""

    def __init__(self, active: str) -> None:
        super().__init__()
        self.active = active

    def render(self) -> Content:
        parts: list[Content] = []
        for number, (mode, label) in enumerate(SCREENS, start=1):
            style = "reverse bold" if mode == self.active else ""
            tab = Content.from_markup(f"[@click=app.show('{mode}')] {number} {label} [/]")
            parts.append(tab.stylize(style) if style else tab)
            parts.append(Content(" "))
        return Content.assemble(*parts)
