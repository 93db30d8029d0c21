"""What the Failed records and Posts screens share: a row of filters ending in a search
box and a "1-100 of N" count, then a paged table of rows beside (or, narrow, over) a
detail pane for the row under the cursor."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, Generic

from rich.text import Text
from textual.containers import Horizontal, VerticalScroll
from textual.widget import Widget
from textual.widgets import DataTable, Input, Static

from sentitui.tui.queries import Row, Window
from sentitui.tui.screens.base import SentiScreen
from sentitui.tui.widgets.repaint import update_static
from sentitui.tui.widgets.table import RowTable, selected_key, sync_table


class ListDetailScreen(SentiScreen, Generic[Row]):
    """Subclasses name their widgets' ids and columns, build their filters and draw a
    row's cells and its detail; paging, the count, search focus and the layout are here.
    (Textual runs message handlers of every class in the MRO: a subclass does not
    define `on_input_submitted` again.)"""

    PAGE: ClassVar[int] = 100
    NAME: ClassVar[str] = ""  # "failed" -> #failed-table, #failed-count, #failed-search
    # DETAIL (SentiScreen's): "#failed-detail", the pane enter opens; its text is
    # #failed-detail-text.
    COLUMNS: ClassVar[Sequence[tuple[str, str]]] = ()  # (label, key)

    def __init__(self) -> None:
        super().__init__()
        self.row_offset = 0
        self.total = 0
        self.more = False  # the total is a lower bound (a text search stops counting)

    # ---- layout ------------------------------------------------------------------------

    def compose_filters(self) -> Iterable[Widget]:
        """The filter widgets, left to right (the count follows them)."""
        return []

    def compose_body(self) -> Iterable[Widget]:
        with Horizontal(classes="filters"):
            yield from self.compose_filters()
            yield Static(id=f"{self.NAME}-count", classes="count")
        with Horizontal(classes="split"):
            table: DataTable[Any] = RowTable(
                id=f"{self.NAME}-table", cursor_type="row", zebra_stripes=True
            )
            for label, key in self.COLUMNS:
                table.add_column(label, key=key)
            yield table
            pane_id = self.DETAIL.removeprefix("#")
            with VerticalScroll(id=pane_id, classes="detail", can_maximize=True):
                yield Static(id=f"{pane_id}-text")

    # ---- the window of rows ------------------------------------------------------------

    @property
    def table(self) -> DataTable[Any]:
        return self.query_one(f"#{self.NAME}-table", DataTable)

    @property
    def detail_pane(self) -> VerticalScroll:
        return self.query_one(self.DETAIL, VerticalScroll)

    @property
    def detail(self) -> Static:
        """The detail pane's text."""
        return self.query_one(f"{self.DETAIL}-text", Static)

    def selected_key(self) -> str | None:
        return selected_key(self.table)

    def show_window(self, window: Window[Row]) -> None:
        """Draw the count and the rows of one page."""
        self.total = window.total
        self.more = window.more
        first = window.offset + 1 if window.rows else 0
        of = f"{window.total:,}+" if window.more else f"{window.total:,}"
        update_static(
            self.query_one(f"#{self.NAME}-count", Static),
            Text(f"{first}-{window.offset + len(window.rows)} of {of}", style="dim"),
        )
        sync_table(self.table, [(str(row.id), self.cells(row)) for row in window.rows])

    def cells(self, row: Row) -> list[Any]:
        """One row's cells, in the order of COLUMNS."""
        raise NotImplementedError

    def filters_changed(self) -> None:
        """A filter changed: back to the first page."""
        self.row_offset = 0
        self.reload()

    # ---- keys --------------------------------------------------------------------------

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.table.focus()

    def action_search(self) -> None:
        self.query_one(f"#{self.NAME}-search").focus()

    def action_page(self, step: int) -> None:
        offset = self.row_offset + step * self.PAGE
        if offset >= 0 and (self.more or offset < max(self.total, 1)):
            self.row_offset = offset
            self.reload()
