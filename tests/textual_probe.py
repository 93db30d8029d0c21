"""What the console shows, read through Textual's public API only: notifications via
`run_test(message_hook=...)`, the screen's text via `export_screenshot()`."""

from __future__ import annotations

import html
import re

from rich.cells import cell_len
from textual.app import App
from textual.message import Message
from textual.notifications import Notification, Notify

CELL_WIDTH = 12.2  # Rich's SVG export: 0.61 x the 20px font, per terminal cell


class Notifications(list[Notification]):
    """Pass as `app.run_test(message_hook=...)`: keeps every notification the app
    raised, in order (`clear()` forgets them, like `app.clear_notifications()`)."""

    def __call__(self, message: Message) -> None:
        if isinstance(message, Notify):
            self.append(message.notification)

    @property
    def messages(self) -> list[str]:
        return [n.message for n in self]


_TEXT = re.compile(r'<text [^>]*?x="([0-9.]+)"[^>]*?-line-(\d+)\)">(.*?)</text>', re.S)


def screen_text(app: App[object]) -> str:
    """Every line currently drawn on the screen, as plain text (padded to its width)."""
    width, height = app.size
    rows: list[list[str]] = [[" "] * width for _ in range(height)]
    for x, line, escaped in _TEXT.findall(app.export_screenshot()):
        text = html.unescape(escaped).replace("\xa0", " ")
        if not text.strip():
            continue
        row, column = rows[int(line)], round(float(x) / CELL_WIDTH)
        for char in text:
            if column >= width:
                break
            row[column] = char
            if cell_len(char) == 2 and column + 1 < width:
                row[column + 1] = ""  # the right half of a wide character
            column += max(1, cell_len(char))
    return "\n".join("".join(row) for row in rows)
