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
from typing import Any

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
        cursor_key = table.ordered_rows[table.cursor_row].key.value
    table.clear()
    for key, cells in rows:
        table.add_row(*cells, key=key)
    if cursor_key is not None and cursor_key in wanted:
        table.move_cursor(row=wanted.index(cursor_key), animate=False)


def selected_key(table: DataTable[Any]) -> str | None:
    """The key of the row under the cursor, if any."""
    if not table.row_count or not table.is_valid_row_index(table.cursor_row):
        return None
    key: RowKey = table.ordered_rows[table.cursor_row].key
    return key.value
