"""What every one of the five screens shares: header, tab bar, footer, and the
pattern for reading the database (a thread worker per query, result posted back)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Input, Select

from sentitui.store import Store
from sentitui.tui.events import EngineUpdate, Loaded, QueryFailed
from sentitui.tui.queries import with_store
from sentitui.tui.widgets.chrome import NavBar, StatusHeader
from sentitui.tui.widgets.text import safe

if TYPE_CHECKING:
    from sentitui.tui.app import SentiApp

REFRESH_SECONDS = 1.0  # how often a screen re-queries while new rows keep arriving
WIDE_COLUMNS = 120  # screens get the class -wide from this width on, -narrow below


def source_options(names: Iterable[str]) -> list[tuple[Text, str]]:
    """Select options for source names, drawn as they are written: a name is not markup
    ("[/]" in one used to stop the console)."""
    return [(Text(name), name) for name in names]


class SentiScreen(Screen[None]):
    """Note: Textual calls a message handler of every class in the MRO, so subclasses
    must not call `super().on_mount()` & co. (that would run the base one twice)."""

    MODE: ClassVar[str] = ""
    SOURCE_FILTER: ClassVar[str] = ""  # id of the screen's source Select, if it has one
    DETAIL: ClassVar[str] = ""  # selector of the detail pane that enter on a row opens
    REQUERY_ON_DATA: ClassVar[bool] = True  # re-query (reload) when the engine wrote rows
    # esc in a search box or filter goes back to the table (else typing 1-5 or q there
    # only ever types; enter does the same in a search box).
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "leave_filter", "Back to the table", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._queries_running: set[str] = set()
        self._queries_queued: dict[str, Callable[[Store], Any]] = {}
        self._seen_version = -1
        self._seen_config = -1
        self._source_options: list[str] = []

    @property
    def senti(self) -> SentiApp:
        return cast("SentiApp", self.app)

    def compose(self) -> ComposeResult:
        yield StatusHeader(id="header")
        yield NavBar(self.MODE)
        yield from self.compose_body()
        yield Footer()

    def compose_body(self) -> Iterable[Widget]:
        return []

    def on_mount(self) -> None:
        self.set_interval(REFRESH_SECONDS, self._refresh_if_stale)

    def on_resize(self) -> None:
        # Below 120 columns the footer drops its padding, so that every key of a screen
        # (six on Pipelines) shows at 80 columns.
        self.query_one(Footer).compact = self.size.width < WIDE_COLUMNS

    def on_screen_resume(self) -> None:
        self.query_one(StatusHeader).refresh()  # what the engine did while we were away
        self.sync_source_filter()
        self._seen_version = self.senti.data_version
        self.reload()

    def _refresh_if_stale(self) -> None:
        """Re-query at most once a second, and only when the engine wrote something."""
        if not self.REQUERY_ON_DATA:
            return
        if self.is_current and self._seen_version != self.senti.data_version:
            self._seen_version = self.senti.data_version
            self.reload()

    def reload(self) -> None:
        """Query what the screen shows (in workers) and draw it when the results come."""

    def action_leave_filter(self) -> None:
        if self.maximized is not None and self.AUTO_FOCUS:  # close an opened detail
            self.minimize()
            self.query_one(self.AUTO_FOCUS).focus()
        elif isinstance(self.focused, Input | Select) and self.AUTO_FOCUS:
            self.query_one(self.AUTO_FOCUS).focus()

    def watch_maximized(self, maximized: Widget | None) -> None:
        """Back from an opened detail (esc), the keys go to the table again."""
        detail = self.query_one(self.DETAIL) if self.DETAIL else None
        if maximized is None and detail is not None and self.focused is detail:
            self.query_one(self.AUTO_FOCUS).focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a row of the screen's main table opens its detail, full screen
        (esc closes it); the detail pane already shows the row under the cursor."""
        if not self.DETAIL or f"#{event.data_table.id}" != self.AUTO_FOCUS:
            return
        pane = self.query_one(self.DETAIL)
        self.maximize(pane, container=False)
        pane.focus()

    def on_engine_update(self, message: EngineUpdate) -> None:
        """Engine events since the last flush; the default waits for the next refresh
        (a subclass's handler runs as well as this one)."""
        if message.batch.config_changed:
            self.sync_source_filter()

    # ---- the source filter follows hot reload ----------------------------------------

    def source_names(self) -> list[str]:
        return sorted({source for _, source in self.senti.sources()})

    def source_filter(self) -> Select[str]:
        """The screen's source Select, with the sources the engine has now."""
        self._seen_config = self.senti.config_version
        self._source_options = self.source_names()
        return Select(
            source_options(self._source_options),
            prompt="any source",
            compact=True,
            id=self.SOURCE_FILTER,
        )

    def sync_source_filter(self) -> None:
        """Refill the source Select after hot reload added or removed sources, keeping
        the current choice (still listed, even if its source went: its rows remain)."""
        if not self.SOURCE_FILTER or self._seen_config == self.senti.config_version:
            return
        self._seen_config = self.senti.config_version
        select = self.query_one(f"#{self.SOURCE_FILTER}", Select)
        names = self.source_names()
        current = select.value
        if current is not Select.NULL and current not in names:
            names = sorted([*names, str(current)])
        if names == self._source_options:
            return
        self._source_options = names
        with self.prevent(Select.Changed):  # the filter itself does not change
            select.set_options(source_options(names))
            if current is not Select.NULL:
                select.value = current

    # ---- database reads in thread workers --------------------------------------------

    def fetch(self, group: str, query: Callable[[Store], Any]) -> None:
        """Run `query(store)` in a thread; `show_<group>(result)` draws it on the UI thread.

        At most one query per group runs at a time: asking again while one runs keeps
        only the newest request and starts it when the running one ends. So a slow
        query (the dashboard at 100k posts) never piles up threads, and a stale answer
        is never drawn after a fresh one.
        """
        if group in self._queries_running:
            self._queries_queued[group] = query
            return
        self._queries_running.add(group)
        db_path = self.senti.db_path

        def job() -> None:
            try:
                result = with_store(db_path, query)
            except Exception as exc:
                self.post_message(QueryFailed(group, f"{type(exc).__name__}: {exc}"))
                return
            self.post_message(Loaded(group, result))

        self.run_worker(job, thread=True, group=f"query-{group}", exit_on_error=False)

    def _query_done(self, group: str) -> None:
        self._queries_running.discard(group)
        if (queued := self._queries_queued.pop(group, None)) is not None:
            self.fetch(group, queued)

    def on_loaded(self, message: Loaded) -> None:
        message.stop()
        superseded = message.group in self._queries_queued  # a newer answer is on its way
        self._query_done(message.group)
        if superseded:
            return
        try:
            getattr(self, f"show_{message.group}")(message.result)
        except Exception as exc:
            # The last line of defence of rule 1: a stored value no formatter foresaw
            # costs this panel its update, never the console (the engine runs on).
            problem = f"could not draw {message.group}: {type(exc).__name__}: {safe(exc)}"
            self.senti.engine.log("ERROR", problem)
            self.notify(problem, severity="error", markup=False)

    def on_query_failed(self, message: QueryFailed) -> None:
        message.stop()
        self._query_done(message.group)
        self.notify(
            f"could not read the database ({message.group}): {message.error}",
            severity="error",
            markup=False,
        )
