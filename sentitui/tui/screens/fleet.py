"""`F`: the fleet of daemons on this database (issue 15): each `run --watch` process
with its host, pid, start, last heartbeat and the sources it holds, and which daemon
ran each recent run. Read from the `daemons` and `runs` tables, so it shows the same
on SQLite and on a PostgreSQL server shared by several machines."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, cast

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from sentitui.store import Store, fleet
from sentitui.store.rows import FleetRunRow
from sentitui.tui.queries import with_store
from sentitui.tui.widgets.text import cell

if TYPE_CHECKING:
    from sentitui.tui.app import SentiApp

ALIVE_WITHIN = 10.0  # seconds since the last heartbeat before a daemon shows as silent
RECENT_RUNS = 30
REFRESH = 2.0  # seconds between reads while the dialog is open (heartbeat ages move)


@dataclass(slots=True)
class FleetView:
    daemons: list[dict[str, object]]
    runs: list[FleetRunRow]


def read_fleet(store: Store) -> FleetView:
    return FleetView(
        daemons=fleet.daemons(store, ALIVE_WITHIN),
        runs=store.runs_by_daemon(RECENT_RUNS),
    )


class FleetScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,F,q", "close", "Close")]

    def compose(self) -> ComposeResult:
        with Vertical(id="fleet", classes="dialog"):
            yield Static("Daemons", classes="fleet-title")
            yield DataTable(id="fleet-daemons", cursor_type="row", zebra_stripes=True)
            yield Static("Recent runs and the daemon that ran them", classes="fleet-title")
            yield DataTable(id="fleet-runs", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one("#fleet").border_title = "Fleet"
        daemons = self.query_one("#fleet-daemons", DataTable)
        daemons.add_columns("id", "host", "pid", "started", "heartbeat", "state", "sources held")
        runs = self.query_one("#fleet-runs", DataTable)
        runs.add_columns("run", "source", "status", "loaded", "started", "daemon")
        self.reload()
        self.set_interval(REFRESH, self.reload)

    @work(thread=True, exclusive=True, group="fleet")
    def reload(self) -> None:
        app = cast("SentiApp", self.app)
        view = with_store(app.db_path, read_fleet)
        app.call_from_thread(self.draw, view)

    def draw(self, view: FleetView) -> None:
        daemons = self.query_one("#fleet-daemons", DataTable)
        daemons.clear()
        for d in view.daemons:
            silent = float(cast(float, d["silent_for"]))
            daemons.add_row(
                cell(d["id"]),
                cell(d["host"]),
                cell(d["pid"]),
                cell(d["started_at"]),
                cell(f"{silent:.0f} s ago"),
                cell("alive" if d["alive"] else "silent", style="" if d["alive"] else "red"),
                cell(", ".join(cast(list[str], d["sources"])) or "-"),
                key=str(d["id"]),
            )
        runs = self.query_one("#fleet-runs", DataTable)
        runs.clear()
        for r in view.runs:
            who = f"{r.host} pid {r.pid}" if r.pid is not None else "-"
            runs.add_row(
                cell(r.id),
                cell(f"{r.pipeline}/{r.source}"),
                cell(r.status),
                cell(r.loaded),
                cell(r.started_at),
                cell(who),
                key=str(r.id),
            )

    def action_close(self) -> None:
        self.dismiss()
