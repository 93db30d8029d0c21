"""`?`: every key of the console, screen by screen."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

# Keys that widgets handle themselves, worth knowing all the same.
WIDGET_KEYS = [
    ("ctrl+p", "command palette: every action by name"),
    ("tab / shift+tab", "move between filters, table and detail"),
    ("↑ ↓ pgup pgdn", "move in a table"),
    ("g / home, G / end", "first / last row of a table"),
    ("enter", "open the detail of the row under the cursor"),
    ("esc", "close a dialog or an opened detail; leave a search box or filter"),
    ("ctrl+q", "quit"),
]


def help_text(
    app_bindings: list[BindingType], screens: list[tuple[str, list[BindingType]]]
) -> Text:
    text = Text()

    def section(title: str, rows: list[tuple[str, str]]) -> None:
        text.append(f"{title}\n", style="bold underline")
        for key, description in rows:
            text.append(f"  {key:<16}", style="bold")
            text.append(f"{description}\n")
        text.append("\n")

    def rows(bindings: list[BindingType]) -> list[tuple[str, str]]:
        out = []
        for binding in bindings:
            if isinstance(binding, Binding):  # the tooltip, where the footer's word is short
                out.append((display_key(binding.key), binding.tooltip or binding.description))
        return out

    section("Everywhere", rows(app_bindings) + WIDGET_KEYS)
    for title, bindings in screens:
        section(title, rows(bindings))
    return text


def display_key(key: str) -> str:
    names = {
        "question_mark": "?",
        "slash": "/",
        "left_square_bracket": "[",
        "right_square_bracket": "]",
        "space": "space",
    }
    return ", ".join(names.get(k, k) for k in key.split(","))


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "close", "Close"),
    ]

    def compose(self) -> ComposeResult:
        from sentitui.tui.app import SentiApp
        from sentitui.tui.widgets.chrome import SCREENS

        screens = [
            (f"{n} {label}", SentiApp.MODES[mode].BINDINGS)
            for n, (mode, label) in enumerate(SCREENS, start=1)
        ]
        from sentitui.tui.screens.preview import PreviewScreen

        screens.append(("Preview (v on Pipelines)", PreviewScreen.BINDINGS))
        with VerticalScroll(id="help", classes="dialog"):
            yield Static(help_text(SentiApp.BINDINGS, screens))

    def on_mount(self) -> None:
        self.query_one("#help").border_title = "Keys"

    def action_close(self) -> None:
        self.dismiss()
