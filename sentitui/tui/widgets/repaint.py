"""Drawing a widget again without laying the screen out. A layout renders the whole
screen again (30-100 ms on a core busy ingesting); a widget whose content keeps its
number of lines needs only a repaint of itself. The dashboard's panels and the detail
panes and counts of the live screens change once a second while posts arrive."""

from __future__ import annotations

from rich.text import Text
from textual.geometry import Size
from textual.widget import Widget
from textual.widgets import Static


def content_lines(widget: Widget) -> int:
    """How many lines `widget`'s content takes at its present width. A widget as wide
    as its text (`width: auto`) whose text grows also takes more lines at its present
    width (Textual wraps it), so the line count alone tells when to lay out."""
    return widget.get_content_height(Size(), Size(), widget.content_size.width)


def repaint(widget: Widget, lines_before: int) -> None:
    """Draw `widget` again after its content changed (`lines_before`: its
    `content_lines` before), laying the screen out only when the content takes another
    number of lines (or the widget was never laid out)."""
    widget.refresh(layout=content_lines(widget) != lines_before or widget.size.area == 0)


def update_static(static: Static, content: Text) -> None:
    """`static.update(content)`, without a layout when it takes as many lines, and not
    at all when the content is the same (a table's cursor moving back to the same row,
    a count that did not change)."""
    if static.content == content:
        return
    before = content_lines(static)
    static.update(content, layout=False)
    repaint(static, before)
