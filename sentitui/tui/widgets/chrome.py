"""The header line (engine state, database path), the tab bar of the screens and the
key bar at the bottom."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.cells import cell_len
from rich.text import Text
from textual.content import Content
from textual.screen import Screen
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


class KeyBar(Widget):
    """The keys the screen offers now (bindings with `show`), the palette key at the
    right edge; a click on a key presses it.

    What Textual's Footer shows, drawn as one widget: the Footer recomposes a widget per
    key at every screen switch and focus change, which was more than half of the time
    a screen switch took (profiled at 120x40 on 1M posts). Keys that do not fit are
    left out whole, never cut, and the palette key always shows."""

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        self.refresh()

    def _item(self, key: str, shown: str, description: str, enabled: bool) -> Content:
        item = Content.assemble(
            (shown, "bold $footer-key-foreground"),
            (f" {description}" if description else "", "$footer-description-foreground"),
        )
        item = item.stylize(f"@click=app.simulate_key({key!r})")
        return item if enabled else item.stylize("dim")

    def render(self) -> Content:
        active = self.screen.active_bindings
        items: list[Content] = []
        actions: set[str] = set()
        for _node, binding, enabled, _tooltip in active.values():
            if not binding.show or binding.action in actions:
                continue  # one item per action, as the Footer shows them
            actions.add(binding.action)
            shown = self.app.get_key_display(binding)
            items.append(self._item(binding.key, shown, binding.description, enabled))
        palette = Content("")
        if self.app.ENABLE_COMMAND_PALETTE and self.app.COMMAND_PALETTE_BINDING in active:
            _node, binding, enabled, _tooltip = active[self.app.COMMAND_PALETTE_BINDING]
            shown = self.app.get_key_display(binding)
            palette = Content(" ") + self._item(binding.key, shown, binding.description, enabled)
        room = self.size.width - palette.cell_length
        line = Content("")
        for item in items:
            spaced = Content(" ") + item if line.cell_length else item
            if line.cell_length + spaced.cell_length > room:
                break
            line = line + spaced
        return line + Content(" " * max(0, room - line.cell_length)) + palette
