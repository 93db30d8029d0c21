"""What every one of the five screens shares: header, tab bar, footer, and the
pattern for reading the database (a thread worker per query, result posted back)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer

from sentitui.store import Store
from sentitui.tui.events import EngineUpdate, Loaded, QueryFailed
from sentitui.tui.queries import with_store
from sentitui.tui.widgets.chrome import NavBar, StatusHeader

if TYPE_CHECKING:
    from sentitui.tui.app import SentiApp

REFRESH_SECONDS = 1.0  # how often a screen re-queries while new rows keep arriving


class SentiScreen(Screen[None]):
    MODE: ClassVar[str] = ""

    def __init__(self) -> None:
        super().__init__()
        self._seq: dict[str, int] = {}
        self._seen_version = -1

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

    def on_screen_resume(self) -> None:
        self._seen_version = self.senti.data_version
        self.reload()

    def _refresh_if_stale(self) -> None:
        """Re-query at most once a second, and only when the engine wrote something."""
        if self.is_current and self._seen_version != self.senti.data_version:
            self._seen_version = self.senti.data_version
            self.reload()

    def reload(self) -> None:
        """Query what the screen shows (in workers) and draw it when the results come."""

    def on_engine_update(self, message: EngineUpdate) -> None:
        """Engine events since the last flush; the default waits for the next refresh."""

    # ---- database reads in thread workers --------------------------------------------

    def fetch(self, group: str, query: Callable[[Store], Any]) -> None:
        """Run `query(store)` in a thread; `show_<group>(result)` draws it on the UI thread.

        A newer fetch of the same group supersedes an older one still running, so a
        slow stale answer never overwrites a fresh one.
        """
        seq = self._seq.get(group, 0) + 1
        self._seq[group] = seq
        db_path = self.senti.db_path

        def job() -> None:
            try:
                result = with_store(db_path, query)
            except Exception as exc:
                self.post_message(QueryFailed(group, f"{type(exc).__name__}: {exc}"))
                return
            self.post_message(Loaded(group, seq, result))

        self.run_worker(job, thread=True, group=f"query-{group}", exit_on_error=False)

    def on_loaded(self, message: Loaded) -> None:
        message.stop()
        if message.seq == self._seq.get(message.group):
            getattr(self, f"show_{message.group}")(message.result)

    def on_query_failed(self, message: QueryFailed) -> None:
        message.stop()
        self.notify(f"could not read the database ({message.group}): {message.error}",
                    severity="error", markup=False)
