"""Keeping a DataTable in step with a window of rows from SQLite.

Tables only ever hold one window (LIMIT/OFFSET) of rows. A refresh whose rows
are the same keys in the same order only rewrites the cells that changed
(`update_cell` is cheap); any other change rebuilds the window with `clear` and
`add_rows`, which for a window of a few hundred rows is also cheap, and puts the
cursor back on the row it was on (or, with `keep_top`, on the first row when it
was there, so a newest-first list shows the rows that arrive at its top).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey


def sync_table(
    table: DataTable[Any], rows: Sequence[tuple[str, Sequence[Any]]], *, keep_top: bool = False
) -> None:
    """Make `table` show `rows` ((key, cells) pairs), touching as little as possible."""
    current = [row.key.value for row in table.ordered_rows]
    wanted = [key for key, _ in rows]
    columns = [column.key for column in table.ordered_columns]
    if current == wanted:
        for key, cells in rows:
            old = table.get_row(key)
            for column, before, after in zip(columns, old, cells, strict=False):
                if before != after:
                    table.update_cell(key, column, after, update_width=True)
        return
    cursor_key: str | None = None
    on_top = keep_top and table.cursor_row == 0
    if table.row_count and table.is_valid_row_index(table.cursor_row) and not on_top:
        cursor_key = current[table.cursor_row]
    cursor_row, scrolled = table.cursor_row, table.scroll_offset.y
    table.clear()  # scrolls back to the top
    for key, cells in rows:
        table.add_row(*cells, key=key)
    if cursor_key is not None:
        target = follow(cursor_key, current, wanted)
        if target is not None:
            row = wanted.index(target)
            # Scroll now so the cursor's row keeps its screen line. Left to move_cursor,
            # the scroll comes after the next frame, and the table renders twice, first
            # from the top (Posts, live: 2 x 50-65 ms).
            table.scroll_to(y=max(scrolled + row - cursor_row, 0), animate=False, immediate=True)
            table.move_cursor(row=row, animate=False)


def follow(key: str, before: Sequence[str | None], after: Sequence[str]) -> str | None:
    """Where the cursor goes when the rows change: its own row if it is still there,
    else the neighbour of the row that went (the next one, else the one above), so an
    action that removes a row (resolve, ignore) leaves the cursor beside it."""
    present = set(after)
    if key in present:
        return key
    index = before.index(key)
    for candidate in [*before[index + 1 :], *reversed(before[:index])]:
        if candidate in present:
            return candidate
    return None


class RowTable(DataTable[Any]):
    """A row-cursor table with the keys k9s and lazydocker users press first:
    g / Home for the first row, G / End for the last."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("g,home", "first_row", "First row", show=False),
        Binding("G,end", "last_row", "Last row", show=False),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._restyled = False
        self._look: tuple[str, ...] = ()
        self._widths: tuple[int, ...] = ()
        self._size_seen: Size | None = None

    # Textual restyles every widget of a screen each time the screen is shown again, and
    # a DataTable then drops every cell it rendered and renders them anew: two thirds of
    # showing the Posts screen again (120x40, 100 rows). The table keeps its rendered
    # cells unless the restyle changed its look: its own CSS and its component classes'
    # (theme, focus), compared when it next renders, after the component classes are
    # styled too.

    def notify_style_update(self) -> None:
        Widget.notify_style_update(self)
        self._restyled = True
        self.refresh()

    #
    # Textual widens the columns for new rows only when the table is next idle, and keeps
    # the cells it rendered before, cut to the old widths, until something else clears
    # them; a screen shown again renders at once, before that idle. So the rendered
    # cells are also dropped whenever the column widths moved.

    def render_lines(self, crop: Region) -> list[Strip]:
        stale = False
        if self._restyled:
            self._restyled = False
            look = (
                self.styles.css,
                *(self.get_component_styles(name).css for name in sorted(self.COMPONENT_CLASSES)),
            )
            stale, self._look = look != self._look, look
        widths = tuple(column.get_render_width(self) for column in self.ordered_columns)
        if widths != self._widths:
            stale, self._widths = True, widths
        if stale:
            super().notify_style_update()  # the table's own: forget rendered cells
        return super().render_lines(crop)

    # A table also gets a Resize event whenever new rows move its virtual size, and
    # DataTable then renders every cell anew, though its cells depend on the column
    # widths (checked above), not on the table's size. An event that leaves the size as
    # it was goes no further: on the first visit of a screen composed ahead, whose rows
    # came while it was hidden, it cost a second full render (Posts: 70 ms).

    def on_resize(self, event: events.Resize) -> None:
        if event.size == self._size_seen:
            event.prevent_default()
        self._size_seen = event.size

    def action_first_row(self) -> None:
        if self.row_count:
            self.move_cursor(row=0)

    def action_last_row(self) -> None:
        if self.row_count:
            self.move_cursor(row=self.row_count - 1)


def selected_key(table: DataTable[Any]) -> str | None:
    """The key of the row under the cursor, if any."""
    if not table.row_count or not table.is_valid_row_index(table.cursor_row):
        return None
    key: RowKey = table.ordered_rows[table.cursor_row].key
    return key.value
