"""What every one of the five screens shares: header, tab bar, key bar, and the
pattern for reading the database (an exclusive thread worker per query, its result
posted back as a typed message)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, ClassVar, Generic, TypeVar, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.geometry import Region
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Input, Select
from textual.worker import get_current_worker

from sentitui.store import Store
from sentitui.tui.events import EngineUpdate, QueryFailed
from sentitui.tui.queries import answer
from sentitui.tui.widgets.chrome import KeyBar, NavBar, StatusHeader
from sentitui.tui.widgets.text import safe

if TYPE_CHECKING:
    from sentitui.tui.app import SentiApp

T = TypeVar("T")
REFRESH_SECONDS = 1.0  # how often a screen re-queries while new rows keep arriving
WIDEN_SECONDS = 0.1  # a table widened its columns for new rows by then (at its idle)
WIDE_COLUMNS = 120  # screens get the class -wide from this width on, -narrow below


def source_options(names: Iterable[str]) -> list[tuple[Text, str]]:
    """Select options for source names, drawn as they are written: a name is not markup
    ("[/]" in one used to stop the console)."""
    return [(Text(name), name) for name in names]


class QueryResult(Message, Generic[T], bubble=False):
    """What a query read, for the screen that asked. Each query has its own subclass
    (`class PostsLoaded(QueryResult[Window])`), so the screen handles a typed result
    in `on_posts_loaded`, drawing it through `draw_result`."""

    def __init__(self, result: T) -> None:
        super().__init__()
        self.result = result


def query_name(loaded: Callable[..., object]) -> str:
    """What a query reads, from its message class: `PostsLoaded` -> "posts"."""
    return getattr(loaded, "__name__", "query").removesuffix("Loaded").lower()


class SentiScreen(Screen[None]):
    """Note: Textual calls a message handler of every class in the MRO, so subclasses
    must not call `super().on_mount()` & co. (that would run the base one twice)."""

    MODE: ClassVar[str] = ""
    SOURCE_FILTER: ClassVar[str] = ""  # id of the screen's source Select, if it has one
    DETAIL: ClassVar[str] = ""  # selector of the detail pane that enter on a row opens
    REQUERY_ON_DATA: ClassVar[bool] = True  # re-query (reload) when the engine wrote rows
    # esc in a search box or filter goes back to the table (else typing 1-6 or q there
    # only ever types; enter does the same in a search box).
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "leave_filter", "Back to the table", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        # Textual sets the breakpoint class on a screen's first Resize event, after its
        # first layout; a screen composed ahead is not laid out again until its first
        # visit, which then resized its tables and rendered them twice (Posts: 70 ms).
        self.add_class("-wide" if self.app.size.width >= WIDE_COLUMNS else "-narrow")
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
        yield KeyBar()

    def compose_body(self) -> Iterable[Widget]:
        return []

    def on_mount(self) -> None:
        self.senti.composed_modes.add(self.MODE)
        self.set_interval(REFRESH_SECONDS, self._refresh_if_stale)

    def on_screen_resume(self) -> None:
        self.query_one(StatusHeader).refresh()  # what the engine did while we were away
        self.sync_source_filter()
        # Shown again: what it drew still holds unless the engine wrote rows meanwhile
        # (re-reading and redrawing a table of 100 rows was most of a screen switch).
        if self._seen_version != self.senti.data_version:
            self._seen_version = self.senti.data_version
            self.reload()

    def _refresh_if_stale(self) -> None:
        """Re-query at most once a second, and only when the engine wrote something and
        no query of this screen is still running (a slow one never piles up threads)."""
        if not self.REQUERY_ON_DATA or self.queries_running():
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
        back = maximized is None and detail is not None and self.focused is detail
        if back and self.AUTO_FOCUS:
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
        """Engine events since the last flush (a subclass's handler runs as well as this
        one). Rows that arrive wait for the next refresh, at most a second; a run that
        ended is shown at once: its rows are all written, and a screen shown again no
        longer re-reads on its own."""
        if message.batch.config_changed:
            self.sync_source_filter()
        if message.batch.finished:
            self._refresh_if_stale()

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

    def fetch(self, loaded: Callable[[T], QueryResult[T]], query: Callable[[Store], T]) -> None:
        """Run `query(store)` in a thread worker and post `loaded(result)` back.

        The worker is exclusive in its group (one per message class): asking again
        cancels the one running, whose answer is then dropped, so a stale answer is
        never drawn after a fresh one.
        """
        group = f"query-{query_name(loaded)}"
        db_path = self.senti.db_path
        ahead = self.senti.read_ahead.pop(loaded, None)  # the app started this read early
        if ahead is not None and ahead.done() and ahead.exception() is None:
            # Answered already: drawn before the screen's first render, not after it.
            self.post_message(loaded(ahead.result()))
            return

        def job() -> None:
            worker = get_current_worker()
            try:
                result = answer(db_path, query, ahead)
            except Exception as exc:
                if not worker.is_cancelled:
                    self.post_message(QueryFailed(group, f"{type(exc).__name__}: {exc}"))
                return
            if not worker.is_cancelled:
                self.post_message(loaded(result))

        self.run_worker(job, thread=True, group=group, exclusive=True, exit_on_error=False)

    def queries_running(self) -> bool:
        return any(
            worker.node is self and worker.group.startswith("query-") and worker.is_running
            for worker in self.app.workers
        )

    def draw_result(self, show: Callable[[T], None], message: QueryResult[T]) -> None:
        """`show(message.result)`, the last line of defence of rule 1: a stored value no
        formatter foresaw costs this panel its update, never the console (the engine
        runs on). Every `on_*_loaded` handler draws through here."""
        try:
            show(message.result)
        except Exception as exc:
            what = query_name(type(message))
            problem = f"could not draw {what}: {type(exc).__name__}: {safe(exc)}"
            self.senti.engine.log("ERROR", problem)
            self.notify(problem, severity="error", markup=False)
        self.senti.first_data_drawn()
        if not self.is_current:  # composed ahead of its first visit
            # after the tables' next idle, where DataTable widens columns for new rows
            self.set_timer(WIDEN_SECONDS, self.render_tables_unseen)

    def render_tables_unseen(self) -> None:
        """Render the tables of a screen composed ahead once its first rows are drawn,
        so that its first visit shows them from the tables' caches: Textual renders
        nothing of a screen not shown, and a table's first render was most of that
        visit (Posts at 120x40: 70 ms of 100)."""
        if self.is_current:
            return  # shown meanwhile: the screen's own refresh renders them
        for table in self.query(DataTable):
            width, height = table.outer_size
            table.render_lines(Region(0, 0, width, height))

    def on_query_failed(self, message: QueryFailed) -> None:
        message.stop()
        self.senti.first_data_drawn()  # its answer (this notice) is drawn too
        self.notify(
            f"could not read the database ({message.group.removeprefix('query-')}): "
            f"{message.error}",
            severity="error",
            markup=False,
        )
