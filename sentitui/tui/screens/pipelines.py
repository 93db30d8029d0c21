"""2 Pipelines: every source's state, progress, last run, next run and last error,
with the actions that drive the engine (pull, pull pipeline, pause, cancel, preview).

States and progress come from the engine in memory (drawn after each flush);
last runs come from the `runs` table, re-read when a run finishes.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import DataTable, Static

from sentitui.store.rows import RunRow
from sentitui.tui.events import EngineUpdate, Key
from sentitui.tui.queries import PipelinesData, load_pipelines
from sentitui.tui.screens.base import QueryResult, SentiScreen
from sentitui.tui.status import source_status
from sentitui.tui.widgets.repaint import update_static
from sentitui.tui.widgets.table import RowTable, selected_key, sync_table
from sentitui.tui.widgets.text import cell, safe

STATUS_STYLES = {
    "running": "bold cyan",
    "streaming": "bold green",
    "backing_off": "bold yellow",
    "failed": "bold red",
    "paused": "dim",
    "cancelled": "yellow",
    "idle": "",
    "disabled": "dim",
}
COLUMNS = [
    ("source", "Source"),
    ("status", "Status"),
    ("progress", "Progress"),
    ("last", "Last run"),
    ("loaded", "Loaded"),
    ("dup", "Dup"),
    ("failed", "Failed"),
    ("next", "Next"),
    ("error", "Last error"),
]
RUN_COLUMNS = [
    ("id", "Run"),
    ("source", "Source"),
    ("trigger", "Trigger"),
    ("started", "Started"),
    ("status", "Status"),
    ("fetched", "Fetched"),
    ("loaded", "Loaded"),
    ("dup", "Dup"),
    ("failed", "Failed"),
    ("error", "Error"),
]
SHORT_ROWS = 32  # below this height the screen has the class -short


def short_time(stamp: Any) -> str:
    """ "2026-11-20T10:03:00Z" -> "11-20 10:03" (UTC); a stored value of another shape
    is shown cut to the same width, never parsed."""
    if not stamp:
        return "—"
    text = safe(stamp)
    if len(text) >= 16 and text[4] == "-" and text[10] == "T":
        if not "1995" <= text[:4] <= time.strftime("%Y", time.gmtime(time.time() + 86400)):
            return text[:10]  # 0001-01-01, 9999-12-31: the year is what matters
        return f"{text[5:10]} {text[11:16]}"
    return text[:11]


def countdown(next_run: float | None, now: float) -> str:
    # Attached, next_run comes from the daemon's snapshot in the database: any value.
    if not isinstance(next_run, int | float) or not -1e12 < next_run < 1e12:
        return "—"
    seconds = max(int(next_run - now), 0)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"in {hours}h{minutes:02d}m"
    return f"in {minutes}m{seconds:02d}s" if minutes else f"in {seconds}s"


def target_of(config: Any) -> str:
    """What a source reads: its URL, path or host, or a crawler's first start URL."""
    for key in ("url", "path", "base_url"):
        if value := config.get(key):
            return str(value)
    urls = config.get("start_urls") or []
    if isinstance(urls, str):
        return urls
    if urls:
        return str(urls[0]) + (f" (+{len(urls) - 1} more)" if len(urls) > 1 else "")
    return ""


class PipelinesLoaded(QueryResult[PipelinesData]):
    """Last and recent runs, read in a worker."""


class PipelinesScreen(SentiScreen):
    MODE = "pipelines"
    DETAIL = "#pipeline-detail"
    AUTO_FOCUS = "#pipelines-table"
    # Below 32 rows the sources table scrolls (see app.tcss), leaving Recent runs room.
    VERTICAL_BREAKPOINTS = [(0, "-short"), (SHORT_ROWS, "-tall")]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "pull", "Pull", tooltip="Pull now"),
        Binding("P", "pull_pipeline", "Pull pipeline"),
        Binding("a", "pull_all", "Pull all"),
        Binding("space", "pause", "Pause", tooltip="Pause/resume"),  # short words: 80 columns
        Binding("x", "cancel", "Cancel"),
        Binding("v", "preview", "Preview"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.last_runs: dict[Key, RunRow] = {}
        self.keys: dict[str, Key] = {}

    def compose_body(self) -> Iterable[Widget]:
        table: DataTable[Any] = RowTable(
            id="pipelines-table", cursor_type="row", zebra_stripes=True
        )
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        yield table
        runs: DataTable[Any] = RowTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        for key, label in RUN_COLUMNS:
            runs.add_column(label, key=key)
        yield runs
        with VerticalScroll(id="pipeline-detail", classes="detail", can_maximize=True):
            yield Static(id="pipeline-detail-text")

    def on_mount(self) -> None:
        self.set_interval(1.0, self.tick)
        self.query_one("#pipeline-detail").border_title = "Source"
        self.query_one("#runs-table").border_title = "Recent runs"
        self.draw()

    def reload(self) -> None:
        self.fetch(PipelinesLoaded, load_pipelines)
        self.draw()

    def on_pipelines_loaded(self, message: PipelinesLoaded) -> None:
        self.draw_result(self.show_pipelines, message)

    def show_pipelines(self, data: PipelinesData) -> None:
        self.last_runs = data.last_runs
        self.draw()
        sync_table(
            self.query_one("#runs-table", DataTable),
            [
                (
                    str(run.id),
                    [
                        Text(str(run.id), justify="right"),
                        cell(f"{run.pipeline}/{run.source}", 40),
                        cell(run.trigger or "", 10),
                        Text(short_time(run.started_at)),
                        cell(run.status or "", 12, STATUS_STYLES.get(str(run.status), "")),
                        *(
                            Text(str(n or 0), justify="right")
                            for n in (run.fetched, run.loaded, run.duplicates, run.failed)
                        ),
                        cell(run.error or "", 80, "red"),
                    ],
                )
                for run in data.recent
            ],
            keep_top=True,
        )  # newest first: new runs stay in view

    def on_engine_update(self, message: EngineUpdate) -> None:
        if message.batch.sources:  # runs started, progressed or ended: a cheap query
            self.fetch(PipelinesLoaded, load_pipelines)
        if message.batch.sources:
            self.draw()

    def on_screen_resume(self) -> None:
        """Source states changed while another screen was shown: draw them now, not at
        the next tick (drawing reads the engine's memory; no query)."""
        self.draw()

    def tick(self) -> None:
        """Keep countdowns and progress moving; cells that did not change are not touched."""
        if self.is_current:
            self.draw()

    # ---- drawing ---------------------------------------------------------------------

    def row_for(self, pipeline: str, source: str, now: float) -> list[Any]:
        engine = self.senti.engine
        config = engine.pipeline(pipeline).source(source)
        state = engine.states.get((pipeline, source))
        status = source_status(state, config.enabled)
        progress = self.senti.progress.get((pipeline, source))
        last = self.last_runs.get((pipeline, source))
        counts: tuple[int | str, int | str, int | str]
        if progress is not None:
            counts = (progress.loaded, progress.duplicates, progress.failed)
            progress_text = f"p{progress.pages} · {progress.fetched} fetched"
        elif last is not None:
            counts = (last.loaded, last.duplicates, last.failed)
            progress_text = "—"
        else:
            counts, progress_text = ("—", "—", "—"), "—"
        if status in ("backing_off", "streaming") and state is not None:
            error = state.detail
        else:
            error = (last.error if last else None) or (state.detail if state else "") or ""
        last_text = "—" if last is None else f"{short_time(last.started_at)} {last.status}"
        return [
            Text(f"{pipeline}/{source}"),
            Text(status.replace("_", " "), style=STATUS_STYLES.get(status, "")),
            Text(progress_text),
            cell(last_text, 30, "red" if last and last.status == "failed" else ""),
            Text(str(counts[0]), justify="right"),
            Text(str(counts[1]), justify="right"),
            Text(str(counts[2]), justify="right", style="red" if counts[2] not in (0, "—") else ""),
            Text(
                "—"
                if status == "paused"
                # its schedule is skipped
                else countdown(getattr(state, "next_run", None), now)
            ),
            cell(error, 60, "red" if error else ""),
        ]

    def draw(self) -> None:
        now = time.time()
        rows = []
        self.keys = {}
        for pipeline, source in self.senti.sources():
            key = f"{pipeline}/{source}"
            self.keys[key] = (pipeline, source)
            rows.append((key, self.row_for(pipeline, source, now)))
        sync_table(self.query_one("#pipelines-table", DataTable), rows)
        self.draw_detail()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.draw_detail()

    def draw_detail(self) -> None:
        selected = self.selected()
        text = Text()
        if selected is not None:
            pipeline, source = selected
            engine = self.senti.engine
            config = engine.pipeline(pipeline).source(source)
            state = engine.states.get(selected)
            schedule = config.schedule or engine.pipeline(pipeline).schedule
            text.append(f"{pipeline}/{source}", style="bold")
            text.append(f"  {config.kind}  {safe(target_of(config))}\n", style="dim")
            text.append(f"schedule: {schedule or 'manual only'}")
            if not config.enabled:
                text.append("  ·  disabled: runs only when pulled (p)", style="yellow")
            elif state is not None and state.paused:
                text.append(
                    "  ·  paused: scheduled runs are skipped (space resumes)", style="yellow"
                )
            if state is not None and state.detail:
                text.append(f"  ·  {safe(state.detail)}")
            expiry = engine.credential_expiry(pipeline, source)
            if expiry is not None:
                warn = expiry.warning()
                text.append(
                    f"\ncredential: {expiry.describe()}" + (" — renew it" if warn else ""),
                    style="bold yellow" if warn else "dim",
                )
            last = self.last_runs.get(selected)
            if last is not None:
                ended = f" → {short_time(last.ended_at)}" if last.ended_at else ""
                text.append(
                    f"\nlast run #{last.id} ({last.trigger}) "
                    f"{short_time(last.started_at)}{ended}: {last.status}, "
                    f"{last.fetched} fetched, {last.loaded} loaded, "
                    f"{last.duplicates} duplicates, {last.failed} failed"
                )
                if last.error:
                    text.append("\n" + safe(last.error), style="red")
        update_static(self.query_one("#pipeline-detail-text", Static), text)

    # ---- actions ---------------------------------------------------------------------

    def selected(self) -> Key | None:
        key = selected_key(self.query_one("#pipelines-table", DataTable))
        return self.keys.get(key) if key else None

    def action_pull(self) -> None:
        if (selected := self.selected()) is not None:
            self.senti.pull_source(*selected)

    def action_pull_pipeline(self) -> None:
        if (selected := self.selected()) is not None:
            self.senti.pull_pipeline(selected[0])

    def action_pull_all(self) -> None:
        self.senti.pull_pipeline(None)

    def action_pause(self) -> None:
        if (selected := self.selected()) is not None:
            self.senti.toggle_pause(*selected)
            self.draw()

    def action_cancel(self) -> None:
        if (selected := self.selected()) is not None:
            self.senti.cancel_pull(*selected)

    def action_preview(self) -> None:
        if (selected := self.selected()) is not None:
            self.senti.preview_source(*selected)
