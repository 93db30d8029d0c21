"""3 Failed records: a filterable window of `failed_records`, the selected record's
error, stage, attempts and raw payload, and the actions retry / retry all shown /
ignore / copy payload to a file."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

from rich.console import Group
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widget import Widget
from textual.widgets import DataTable, Input, Select

from sentitui.store.rows import FailedRecordDetail, FailedRecordRow
from sentitui.tui.queries import FailedFilter, Window, failed_ids, load_failed, with_store
from sentitui.tui.screens.base import QueryResult
from sentitui.tui.screens.list_detail import ListDetailScreen
from sentitui.tui.widgets.text import capped, cell, payload_kind, render_payload, safe

PAGE = 200
STAGES = ("fetch", "parse", "clean", "score", "load")
STATUSES = ("open", "resolved", "ignored")


def saved_payload_path(record: FailedRecordDetail, folder: Path) -> Path:
    suffix = {"json": "json", "html": "html"}.get(payload_kind(record.payload or ""), "txt")
    return folder / f"failed-{record.id}.{suffix}"


class FailedLoaded(QueryResult[Window[FailedRecordRow]]):
    """One page of failed records, read in a worker."""


class DetailLoaded(QueryResult[FailedRecordDetail | None]):
    """The selected failed record in full (None: it is gone)."""


class FailedScreen(ListDetailScreen[FailedRecordRow]):
    MODE = "failed"
    SOURCE_FILTER = "failed-source"
    AUTO_FOCUS = "#failed-table"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "retry", "Retry"),
        Binding("R", "retry_shown", "Retry all shown"),
        Binding("i", "ignore", "Ignore"),
        Binding("c", "copy", "Payload to file"),
        Binding("slash", "search", "Search"),
        Binding("left_square_bracket", "page(-1)", "Prev page", show=False),
        Binding("right_square_bracket", "page(1)", "Next page", show=False),
    ]

    PAGE = PAGE
    NAME = "failed"
    DETAIL = "#failed-detail"
    COLUMNS = [
        ("Id", "id"),
        ("Source", "source"),
        ("Stage", "stage"),
        ("Tries", "attempts"),
        ("Error", "error"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.filters = FailedFilter()
        self.record: FailedRecordDetail | None = None

    def compose_filters(self) -> Iterable[Widget]:
        yield Select(
            [(s, s) for s in STATUSES] + [("all", "all")],
            value="open",
            allow_blank=False,
            compact=True,
            id="failed-status",
        )
        yield self.source_filter()
        yield Select([(s, s) for s in STAGES], prompt="any stage", compact=True, id="failed-stage")
        yield Input(placeholder="/ search errors", compact=True, id="failed-search")

    def on_mount(self) -> None:
        self.query_one("#failed-detail").border_title = "Record"

    # ---- loading ---------------------------------------------------------------------

    def reload(self) -> None:
        filters, offset = FailedFilter(**self.filters.kwargs()), self.row_offset
        self.fetch(FailedLoaded, lambda store: load_failed(store, filters, PAGE, offset))

    def on_failed_loaded(self, message: FailedLoaded) -> None:
        self.draw_result(self.show_failed, message)

    def show_failed(self, window: Window[FailedRecordRow]) -> None:
        if not window.rows and window.total and self.row_offset:
            self.row_offset = max(
                0, (window.total - 1) // PAGE * PAGE
            )  # the page emptied: step back
            self.reload()
            return
        self.show_window(window)
        self.load_detail()

    def cells(self, row: FailedRecordRow) -> list[Any]:
        return [
            Text(str(row.id), justify="right"),
            cell(f"{row.pipeline}/{row.source}", 30),
            cell(row.stage, 10),
            Text(str(row.attempts), justify="right"),
            cell(row.error, 200),
        ]

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.load_detail()

    def selected_id(self) -> int | None:
        key = self.selected_key()
        return int(key) if key else None

    def load_detail(self) -> None:
        """Read the record under the cursor again, on every move and every refresh of
        the table: the pane follows its row (attempts, status, error) and never goes stale."""
        record_id = self.selected_id()
        if record_id is None:
            self.show_detail(None)
            return
        self.fetch(DetailLoaded, lambda store: store.failed_record(record_id))

    def on_detail_loaded(self, message: DetailLoaded) -> None:
        self.draw_result(self.show_detail, message)

    def show_detail(self, record: FailedRecordDetail | None) -> None:
        previous, self.record = self.record, record
        if record is not None and record == previous:
            return  # unchanged: keep the reader's place in a long payload
        if record is None or previous is None or record.id != previous.id:
            self.detail_pane.scroll_home(animate=False)
        target = self.detail
        if record is None:
            target.update(Text("no failed record selected", style="dim"))
            return
        meta = Text()
        meta.append(f"#{record.id} ", style="bold")
        meta.append(safe(f"{record.pipeline}/{record.source}"))
        meta.append(
            safe(
                f"  stage {record.stage}  ·  {record.status}  ·  "
                f"{record.attempts} attempt(s)  ·  run {record.run_id}\n"
            ),
            style="dim",
        )
        meta.append(safe(f"first {record.created_at}  ·  last {record.updated_at}\n"), style="dim")
        meta.append(capped(record.error) + "\n", style="red")
        meta.append(
            f"payload ({len(record.payload or ''):,} chars, {payload_kind(record.payload or '')}):",
            style="bold",
        )
        dark = self.app.current_theme.dark
        target.update(Group(meta, render_payload(record.payload, dark=dark)))

    # ---- filters and paging ----------------------------------------------------------

    def on_select_changed(self, event: Select.Changed) -> None:
        value = None if event.value is Select.NULL else str(event.value)
        if event.select.id == "failed-status":
            self.filters.status = None if value == "all" else value
        elif event.select.id == "failed-source":
            self.filters.source = value
        elif event.select.id == "failed-stage":
            self.filters.stage = value
        self.filters_changed()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.filters.search = event.value.strip() or None
        self.filters_changed()

    # ---- actions ---------------------------------------------------------------------

    def selected_or_say(self) -> int | None:
        """The id under the cursor; with none, a key says why it did nothing."""
        record_id = self.selected_id()
        if record_id is None:
            self.notify("no failed record selected", severity="warning")
        return record_id

    def action_retry(self) -> None:
        if (record_id := self.selected_or_say()) is not None:
            self.run_worker(self._retry([record_id]), group="failed-actions", exit_on_error=False)

    def action_retry_shown(self) -> None:
        filters = FailedFilter(**self.filters.kwargs())

        async def retry_all() -> None:
            ids = await self.senti.engine.read(lambda store: failed_ids(store, filters))
            await self._retry(ids)

        self.run_worker(retry_all(), group="failed-actions", exit_on_error=False)

    async def _retry(self, ids: list[int]) -> None:
        await self.senti.retry_failed(ids)
        self.record = None
        self.reload()

    def action_ignore(self) -> None:
        if (record_id := self.selected_or_say()) is None:
            return

        async def ignore() -> None:
            await self.senti.ignore_failed([record_id])
            self.record = None
            self.reload()

        self.run_worker(ignore(), group="failed-actions", exit_on_error=False)

    def action_copy(self) -> None:
        if (record_id := self.selected_or_say()) is None:
            return
        db_path = self.senti.db_path

        def write() -> Path:
            # The record under the cursor, read now: the detail pane may still be loading
            # the one the cursor just left.
            record = with_store(db_path, lambda store: store.failed_record(record_id))
            if record is None:
                raise OSError(f"failed record #{record_id} is gone")
            path = saved_payload_path(record, Path.cwd())
            payload = record.payload or ""
            path.write_bytes(payload if isinstance(payload, bytes) else str(payload).encode())
            return path

        async def copy() -> None:
            try:
                path = await asyncio.to_thread(write)
            except OSError as exc:
                self.notify(
                    f"payload of #{record_id} not written: {exc}", severity="error", markup=False
                )
                return
            self.notify(f"payload of #{record_id} written to {path}", markup=False)

        self.run_worker(copy(), group="failed-actions", exit_on_error=False)
