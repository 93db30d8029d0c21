"""6 Alerts: every alert rule's state (firing first) and, for the selected one, the
posts that triggered it (the most negative and the newest) and how its last
notification went. `AlertsMonitor` keeps the app's list of firing alerts fresh for
the header, on every screen, and rings the bell where a rule asks for one."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.containers import Horizontal, VerticalScroll
from textual.widget import Widget
from textual.widgets import DataTable, Static
from textual.worker import get_current_worker

from sentitui.models import AlertChanged, EngineEvent
from sentitui.store.alerts import alert_rows
from sentitui.tui.queries import with_store
from sentitui.tui.screens.base import QueryResult, SentiScreen
from sentitui.tui.screens.pipelines import short_time
from sentitui.tui.widgets.repaint import update_static
from sentitui.tui.widgets.table import selected_key, sync_table
from sentitui.tui.widgets.text import cell, safe

if TYPE_CHECKING:
    from sentitui.tui.app import SentiApp

CHECK_SECONDS = 2.0  # how often the header's list of firing alerts is read
STATE_STYLES = {"firing": "bold red", "resolved": "green", "ok": "dim"}


class AlertsLoaded(QueryResult[list[dict[str, Any]]]):
    """Every alert row (store/alerts.py), firing first."""


class AlertsMonitor:
    """Reads the firing alerts into `app.firing_alerts` (a thread worker every few
    seconds, and at once when the engine says one changed): an attached console sees
    the daemon's alerts the same way."""

    GROUP = "alerts-monitor"

    def __init__(self, app: SentiApp) -> None:
        self.app = app
        app.firing_alerts = []
        app.engine.subscribe(self.on_event)
        app.set_interval(CHECK_SECONDS, self.read)
        self.read()

    def on_event(self, event: EngineEvent) -> None:
        if isinstance(event, AlertChanged):
            if event.state == "firing" and event.bell:
                self.app.bell()
            self.read(now=True)

    def read(self, now: bool = False) -> None:
        """Read in an exclusive thread worker; the periodic read waits while one runs,
        a change the engine announced replaces it (its stale answer is dropped)."""
        if not now and any(w.group == self.GROUP and w.is_running for w in self.app.workers):
            return
        db_path = self.app.db_path

        def job() -> None:
            worker = get_current_worker()
            try:
                rows = with_store(db_path, alert_rows)
            except Exception:  # no database yet, or it is busy: try again next time
                return
            if not worker.is_cancelled:
                self.app.call_from_thread(self.show, rows)

        self.app.run_worker(job, thread=True, group=self.GROUP, exclusive=True, exit_on_error=False)

    def show(self, rows: list[dict[str, Any]]) -> None:
        names = [f"{r['pipeline']}/{r['name']}" for r in rows if r["state"] == "firing"]
        if names != self.app.firing_alerts:
            self.app.firing_alerts = names
            self.app.refresh_headers()


class AlertsScreen(SentiScreen):
    MODE = "alerts"
    AUTO_FOCUS = "#alerts-table"

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, dict[str, Any]] = {}

    def compose_body(self) -> Iterable[Widget]:
        with Horizontal(classes="split"):
            table: DataTable[Any] = DataTable(
                id="alerts-table", cursor_type="row", zebra_stripes=True
            )
            table.add_column("State", key="state")
            table.add_column("Alert", key="alert")
            table.add_column("Since", key="since")
            table.add_column("Detail", key="detail")
            yield table
            with VerticalScroll(id="alert-detail", classes="detail"):
                yield Static(id="alert-detail-text")

    def on_mount(self) -> None:
        self.query_one("#alert-detail").border_title = "Triggering posts"
        self.set_interval(CHECK_SECONDS, self.refresh_alerts)

    def on_screen_resume(self) -> None:
        self.refresh_alerts()  # states the daemon's checks changed while away

    def refresh_alerts(self) -> None:
        """Alert states change in the daemon's checks too, not only with new posts."""
        if self.is_current and not self.queries_running():
            self.reload()

    def reload(self) -> None:
        self.fetch(AlertsLoaded, alert_rows)

    def on_alerts_loaded(self, message: AlertsLoaded) -> None:
        rows = message.result
        self.rows = {f"{r['pipeline']}/{r['name']}": r for r in rows}
        sync_table(
            self.query_one("#alerts-table", DataTable),
            [
                (
                    key,
                    [
                        Text(row["state"], style=STATE_STYLES.get(row["state"], "")),
                        cell(key, 40),
                        Text(
                            short_time(
                                row["fired_at"] if row["state"] == "firing" else row["resolved_at"]
                            )
                            if (row["fired_at"] or row["resolved_at"])
                            else "—"
                        ),
                        cell(row["detail"], 80),
                    ],
                )
                for key, row in self.rows.items()
            ],
        )
        self.draw_detail()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.draw_detail()

    def draw_detail(self) -> None:
        key = selected_key(self.query_one("#alerts-table", DataTable))
        row = self.rows.get(key) if key else None
        target = self.query_one("#alert-detail-text", Static)
        if row is None:
            update_static(
                target,
                Text("no alerts: add [[alert]] rules to a pipeline file", style="dim")
                if not self.rows
                else Text("no alert selected", style="dim"),
            )
            return
        text = Text()
        text.append(f"{safe(key)}  ", style="bold")
        text.append(row["state"], style=STATE_STYLES.get(row["state"], ""))
        text.append(f"\n{safe(row['detail'])}\n")
        if row.get("delivery_error"):
            text.append(f"delivery failed: {safe(row['delivery_error'])}\n", style="red")
        elif row.get("notified_at"):
            text.append(f"notified {short_time(row['notified_at'])}\n", style="dim")
        for post in row["posts"] or []:
            polarity = post.get("polarity")
            score = f"{polarity:+.2f}" if isinstance(polarity, int | float) else "—"
            text.append(f"\n{safe(post.get('why'))} · {safe(post.get('source'))} · {score}\n")
            text.append(safe(" ".join(str(post.get("text") or "").split())[:400]) + "\n")
        update_static(target, text)
