"""The console: a Textual app with the engine embedded in the same event loop.

The engine calls our listener for every event it emits; the listener only appends
to a deque. A timer drains the deque a few times a second and hands the screen on
top one summarised `EngineUpdate`, so a burst of 20,000 posts costs a handful of
redraws, not 20,000. Screens read the database only in thread workers, each with
its own `Store`, and draw what those workers post back.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual.app import App
from textual.binding import Binding, BindingType
from textual.notifications import SeverityLevel

from sentitui.config import PipelineConfig
from sentitui.engine.engine import Engine
from sentitui.engine.heartbeat import DaemonLife
from sentitui.engine.surface import ConsoleEngine
from sentitui.engine.watch import Continuous
from sentitui.models import (
    ConfigInvalid,
    ConfigReloaded,
    EngineEvent,
    LogLine,
    RunFinished,
    RunProgress,
    RunStarted,
    RunStats,
    SourceStateChanged,
)
from sentitui.tui.commands import SentiCommands
from sentitui.tui.crash import crash_message, write_crash_report
from sentitui.tui.events import EngineBatch, EngineUpdate, Key
from sentitui.tui.queries import read_ahead
from sentitui.tui.screens.alerts import AlertsMonitor, AlertsScreen
from sentitui.tui.screens.base import WIDE_COLUMNS
from sentitui.tui.screens.dashboard import DashboardLoaded, DashboardScreen
from sentitui.tui.screens.failed import FailedScreen
from sentitui.tui.screens.help import HelpScreen
from sentitui.tui.screens.logs import LogsScreen
from sentitui.tui.screens.pipelines import PipelinesScreen
from sentitui.tui.screens.posts import PostsScreen
from sentitui.tui.screens.preview import PreviewScreen
from sentitui.tui.status import engine_summary

FLUSH_SECONDS = 0.25  # engine events reach the widgets at most 4 times a second
LOG_LINES = 5_000  # log lines kept in memory for the Logs screen
FRAME_SECONDS = 0.05  # between two screens composed behind the first: a frame is drawn
FIRST_FRAME_SECONDS = 0.5  # the first frame waits this long at most for the dashboard's data
PENDING_EVENTS = 100_000  # safety bound on events waiting for the next flush


def start_resource_tracker() -> None:
    """Start multiprocessing's resource tracker while stderr is still the real one.

    The scorer's process pool starts it lazily, passing `sys.stderr.fileno()`; inside
    the app Textual has replaced stderr with an object whose fileno() is -1, and the
    spawn fails ("bad value(s) in fds_to_keep"), failing every post at the score stage.
    """
    try:
        from multiprocessing import resource_tracker

        resource_tracker.ensure_running()
    except (ImportError, OSError, AttributeError):  # no tracker on this platform
        pass


def choose_theme(env: dict[str, str] | None = None) -> str:
    """SENTITUI_THEME wins; else a light theme when the terminal says its background is light."""
    env = dict(os.environ) if env is None else env
    if env.get("SENTITUI_THEME"):
        return env["SENTITUI_THEME"]
    background = env.get("COLORFGBG", "").split(";")[-1]
    return "textual-light" if background in ("7", "15") else "textual-dark"


class SentiApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "SentiTUI"
    MODES: ClassVar[dict[str, Any]] = {
        "dashboard": DashboardScreen,
        "pipelines": PipelinesScreen,
        "failed": FailedScreen,
        "logs": LogsScreen,
        "posts": PostsScreen,
        "alerts": AlertsScreen,
    }
    HORIZONTAL_BREAKPOINTS = [
        (0, "-narrow"),
        (WIDE_COLUMNS, "-wide"),
    ]
    COMMANDS = App.COMMANDS | {SentiCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "show('dashboard')", "Dashboard", show=False),
        Binding("2", "show('pipelines')", "Pipelines", show=False),
        Binding("3", "show('failed')", "Failed records", show=False),
        Binding("4", "show('logs')", "Logs", show=False),
        Binding("5", "show('posts')", "Posts", show=False),
        Binding("6", "show('alerts')", "Alerts", show=False),
        Binding("question_mark", "help", "Help"),
        Binding("F", "fleet", "Fleet of daemons", show=False),
        Binding("ctrl+t", "toggle_dark", "Light/dark theme", show=False),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        db_path: str | Path,
        pipelines: list[PipelineConfig],
        *,
        engine: ConsoleEngine | None = None,
        schedules: bool = False,
        title: str = "SentiTUI",
        theme: str | None = None,
        pipelines_dir: str | Path | None = None,
        notice: str | None = None,
        freeze_gc: bool = False,
        **engine_kwargs: Any,
    ) -> None:
        super().__init__()
        # Textual parsed its stylesheet with these; `refresh_css` tracks them from here.
        self.parsed_with: dict[str, str] = self.get_css_variables()
        # One console per process (run_console): what is loaded once the screens are
        # ready lives as long as the process; gc.freeze() then keeps full collections
        # from walking it (40-140 ms each at 1M posts, a key press stalled that long).
        self.freeze_gc = freeze_gc
        self.db_path = str(db_path)
        self.pipelines_dir = pipelines_dir  # watched for hot reload (embedded engine only)
        self.continuous: Continuous | None = None
        self.pipelines = list(pipelines)
        # The console uses only `ConsoleEngine`. Without one it embeds a local Engine; an
        # engine in this process also reloads edited pipeline files (Continuous).
        if engine is None:
            engine = Engine(db_path, self.pipelines, **engine_kwargs)
        self.local = engine if isinstance(engine, Engine) else None
        self.engine: ConsoleEngine = engine
        start_resource_tracker()
        self.schedules = schedules
        self.title = title
        self.initial_theme = theme or choose_theme()
        self.log_lines: deque[LogLine] = deque(maxlen=LOG_LINES)
        self.progress: dict[Key, RunProgress] = {}
        self.data_version = 0  # bumped whenever the engine wrote rows
        self.first_drawn = asyncio.Event()  # the first screen drew its first query's answer
        self.first_frame = ExitStack()  # holds the display until then (on_mount)
        self.holds = 0  # how many hold_display() are open
        # A screen's first answer, read before it was composed, by its message class.
        self.read_ahead: dict[Callable[..., object], Future[Any]] = {}
        self.composed_modes: set[str] = set()  # each screen adds its mode when mounted
        self.screens_ready = asyncio.Event()  # all are: every key now finds its screen
        self.config_version = 0  # bumped whenever hot reload changed the pipelines
        self._pending: deque[EngineEvent] = deque(maxlen=PENDING_EVENTS)
        # Sources whose manual pull was asked for but has not started a run yet (attached,
        # the daemon claims a pull within a second): x then says so, not "not running".
        self.requested: set[Key] = set()
        self._unsubscribe: Any = None
        self.crash_report: Path | None = None  # where the error that ended us is written
        self.notice = notice  # said once the console is up (why it attached, say)
        self._daemon_alive: bool | None = None
        self._crashed = False
        self.firing_alerts: list[str] = []  # "pipeline/name" of firing alerts, for the header

    # ---- lifecycle -------------------------------------------------------------------

    def _handle_exception(self, error: Exception) -> None:
        """An error no widget caught ends the console (Textual has no public hook for
        it): the traceback goes to a file, stderr says where, and the exit status is 1.
        Textual's own report would print every frame's locals (post text, headers).
        The error is kept where Textual keeps it for `run_test`, which raises it: a test
        fails on the error itself, not on Pilot waiting 30 s for a console that ended."""
        if self._crashed:
            return
        self._crashed = True
        self._exception = error
        self._exception_event.set()
        self.crash_report = write_crash_report(self.db_path, error)
        self.exit(return_code=1)
        self.panic(Text(crash_message(error, self.crash_report)))

    async def on_mount(self) -> None:
        # The dashboard's first query starts now, on a thread of its own: it is answered
        # while the engine starts and the dashboard is composed (0.1-0.2 s), and the
        # first frame no longer waits for it after them.
        self.read_ahead[DashboardLoaded] = read_ahead(self.db_path, DashboardScreen.reads())
        self.theme = self.initial_theme
        self._unsubscribe = self.engine.subscribe(self._pending.append)
        await self.engine.start()
        if self.pipelines_dir is not None and self.local is not None:
            self.continuous = Continuous(
                self.local, Path(self.pipelines_dir), schedules=self.schedules
            )
            await self.continuous.start()
        elif self.schedules:
            self.engine.start_schedules()
        self.set_interval(FLUSH_SECONDS, self.flush_events)
        if self.engine.attached:
            self.watch_daemon()
            self.set_interval(FLUSH_SECONDS, self.watch_daemon)
        if self.notice:
            self.engine.log("INFO", self.notice)
            self.notify(self.notice, markup=False, timeout=10)
        self.engine.log(
            "INFO",
            f"console started on {self.db_path}: {len(self.pipelines)} "
            f"pipeline(s), {len(self.sources())} source(s)",
        )
        # The first frame is the dashboard with its figures: the display is held while
        # it is composed and its first query answered (FIRST_FRAME_SECONDS at most), so
        # no empty panels are drawn, and the query has the GIL to itself (at 1M posts
        # 0.05 s instead of 0.15 s beside two renders of the empty dashboard). The hold
        # ends in the step that draws the data. A render while any hold is open is
        # thrown away (40-50 ms at 120x40) and the next waits for another cause, so the
        # dashboard is switched to from the app's queue, once Textual's own hold over
        # on_mount is over, and Textual's 50 ms hold on a mode switch is skipped
        # (delay_update).
        self.first_frame.enter_context(self.hold_display())
        self.set_timer(FIRST_FRAME_SECONDS, self.first_frame.close)
        self.call_later(self.switch_mode, "dashboard")
        AlertsMonitor(self)

    def first_data_drawn(self) -> None:
        """A screen drew its first query result: show it, and start composing the others
        behind it."""
        if not self.first_drawn.is_set():
            self.first_drawn.set()
            self.first_frame.close()
            self.set_timer(FRAME_SECONDS, self.prepare_next_screen)

    async def prepare_next_screen(self) -> None:
        """Compose one screen not shown yet, unseen, then come back for the next. Textual
        composes, mounts and styles a screen on its first visit: 0.1-0.2 s that the
        first press of its key would otherwise wait for. Its first queries start there
        and are answered while it waits unseen. One screen a step, a frame apart, so
        the first screen's data reaches the terminal first, and a key pressed meanwhile
        (it waits on the app's queue, not on a screen being prepared) waits for one
        screen at most. (Waiting in the step for the screen's queries too made every
        step, so a key pressed meanwhile, 0.1-0.3 s longer, and its first visit no
        faster: Textual does not render a screen while updates are held.)"""
        shown = self.current_mode
        waiting = [mode for mode in self.MODES if mode not in self.composed_modes]
        if waiting and self.is_running:
            with self.hold_display():  # nothing of the other screen reaches the terminal
                await self.switch_mode(waiting[0])
                await self.switch_mode(shown)
        if len(waiting) > 1 and self.is_running:
            self.set_timer(FRAME_SECONDS, self.prepare_next_screen)
        else:
            if self.freeze_gc:
                gc.freeze()
            self.screens_ready.set()

    def refresh_css(self, animate: bool = True) -> None:
        """Re-parse and restyle only when the CSS variables (the theme) changed. Textual
        calls this when a mode's screen is first shown, twice, and once more on its
        first visit when it was composed ahead (it was not mounted when counted): each
        call re-parsed all CSS and restyled and redrew every widget, 0.1 s, most of a
        first visit. A real change restyles every screen of the app, shown or not."""
        variables = self.get_css_variables()
        if variables == self.parsed_with:
            return
        super().refresh_css(animate)
        self.parsed_with = variables

    @contextmanager
    def hold_display(self) -> Iterator[None]:
        """Textual's batch_update, counted: while one is open, nothing reaches the
        terminal until its holder lets go, when the screen is whole."""
        self.holds += 1
        try:
            with self.batch_update():
                yield
        finally:
            self.holds -= 1

    def delay_update(self, delay: float = 0.05) -> None:
        """Textual holds the display 50 ms on every mode switch so that a screen being
        composed is not seen half-built. Once all are composed ahead, the next screen
        is whole at its first frame: nothing to hold. Nor while a hold_display is open
        (the first frame, a screen composed ahead): its 50 ms, counted from a switch
        that then composes for 0.1 s, threw away the first frame's render and held it
        40-60 ms more. (A shorter hold is no answer: a timer due before its task first
        runs is skipped, and the display stays held.)"""
        if not self.screens_ready.is_set() and not self.holds:
            super().delay_update(delay)

    async def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self.continuous is not None:
            await self.continuous.stop()
        await self.engine.close()

    # ---- engine events ---------------------------------------------------------------

    def flush_events(self) -> None:
        """Drain the buffered engine events into one EngineUpdate for the screen on top."""
        if not self._pending:
            return
        events = list(self._pending)
        self._pending.clear()
        batch = EngineBatch()
        for event in events:
            if isinstance(event, LogLine):
                batch.logs.append(event)
            elif isinstance(event, RunStarted):
                key = (event.pipeline, event.source)
                self.requested.discard(key)
                self.progress[key] = RunProgress(
                    run_id=event.run_id,
                    pipeline=event.pipeline,
                    source=event.source,
                    fetched=0,
                    loaded=0,
                    duplicates=0,
                    failed=0,
                    pages=0,
                )
                batch.sources.add(key)
            elif isinstance(event, RunProgress):
                self.progress[(event.pipeline, event.source)] = event
                batch.sources.add((event.pipeline, event.source))
                batch.data_changed = True
            elif isinstance(event, RunFinished):
                key = (event.stats.pipeline, event.stats.source)
                self.progress.pop(key, None)
                batch.sources.add(key)
                batch.finished.append(event.stats)
                batch.data_changed = True
            elif isinstance(event, SourceStateChanged):
                batch.sources.add((event.pipeline, event.source))
            elif isinstance(event, ConfigReloaded):
                batch.sources.update(event.added + event.removed + event.changed)
                batch.config_changed = True
            elif isinstance(event, ConfigInvalid):
                self.notify(
                    "\n".join(event.problems),
                    title="pipeline file not reloaded",
                    severity="error",
                    timeout=10,
                    markup=False,
                )
        self.log_lines.extend(batch.logs)
        if batch.data_changed:
            self.data_version += 1
        if batch.config_changed:
            self.config_version += 1
        self.screen.post_message(EngineUpdate(batch))
        self.refresh_headers()

    def refresh_headers(self) -> None:
        from sentitui.tui.widgets.chrome import StatusHeader

        if not self.screen_stack:
            return
        for header in self.screen.query(StatusHeader):
            header.refresh()

    def engine_summary(self) -> tuple[str, str]:
        """What the header says about the engine, and the colour of its dot."""
        states = []
        for pipeline in self.engine.pipelines.values():
            for config in pipeline.sources:
                states.append(
                    (self.engine.states.get((pipeline.name, config.name)), config.enabled)
                )
        return engine_summary(states, self.daemon_life())

    def daemon_life(self) -> DaemonLife | None:
        """The daemon an attached console drives, from its heartbeat; None when the
        engine runs in this process."""
        return self.engine.daemon_life()

    def no_daemon(self) -> bool:
        """Attached and no daemon alive: say so at once and send nothing (a command
        would only wait for a daemon that is not there)."""
        life = self.daemon_life()
        if life is None or life.alive:
            return False
        self.notify(
            f"{life.describe()}: nothing sent — start one with "
            f"`sentitui run --watch --db {self.db_path}`",
            severity="warning",
            markup=False,
        )
        return True

    def watch_daemon(self) -> None:
        """Say at once when the daemon goes away or comes back (attached only)."""
        life = self.daemon_life()
        if life is None or life.alive == self._daemon_alive:
            return
        if self._daemon_alive is not None:
            self.notify(
                f"daemon {life.pid} is back" if life.alive else life.describe(),
                severity="information" if life.alive else "warning",
                markup=False,
            )
        self._daemon_alive = life.alive
        from sentitui.tui.widgets.chrome import StatusHeader

        for header in self.screen.query(StatusHeader):
            header.refresh()

    # ---- actions shared by screens and the command palette ---------------------------

    def action_show(self, mode: str) -> None:
        if self.screen.is_modal:
            self.pop_screen()
        self.switch_mode(mode)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_fleet(self) -> None:
        from sentitui.tui.screens.fleet import FleetScreen

        if not isinstance(self.screen, FleetScreen):
            self.push_screen(FleetScreen())

    def action_toggle_dark(self) -> None:
        self.theme = "textual-light" if self.current_theme.dark else "textual-dark"

    def sources(self) -> list[Key]:
        # The engine's pipelines, not the ones we started with: hot reload changes them.
        return [(p.name, s.name) for p in self.engine.pipelines.values() for s in p.sources]

    def pull_source(self, pipeline: str, source: str) -> None:
        """Start a manual pull; a notification reports its counts when it ends."""
        if self.no_daemon():
            return
        if self.engine.is_running(pipeline, source):
            self.notify(f"{pipeline}/{source} is already running", markup=False)
            return
        self.requested.add((pipeline, source))
        self.run_worker(self._pull(pipeline, source), group="pulls", exit_on_error=False)

    async def _pull(self, pipeline: str, source: str) -> None:
        try:
            stats = await self.engine.run_source(pipeline, source, "manual")
        except asyncio.CancelledError:
            if self._we_are_cancelled():
                raise
            self._notify_last(pipeline, source)  # the run was cancelled (x): say how it ended
            return
        except Exception as exc:
            self.notify(f"{pipeline}/{source}: {exc}", severity="error", markup=False)
            return
        finally:
            self.requested.discard((pipeline, source))
        self.notify_run(stats)

    @staticmethod
    def _we_are_cancelled() -> bool:
        """True when this worker itself is being cancelled (the app is closing), not
        merely a run it was waiting for (which `await` reports the same way)."""
        task = asyncio.current_task()
        return task is not None and task.cancelling() > 0

    def _notify_last(self, pipeline: str, source: str) -> None:
        last = getattr(self.engine.states.get((pipeline, source)), "last", None)
        if last is not None:
            self.notify_run(last)

    def pull_pipeline(self, pipeline: str | None = None) -> None:
        """Pull every enabled source of one pipeline (of all pipelines when None)."""
        if self.no_daemon():
            return
        self.run_worker(self._pull_pipeline(pipeline), group="pulls", exit_on_error=False)

    async def _pull_pipeline(self, pipeline: str | None) -> None:
        try:
            results = await self.engine.run_pipelines(
                [pipeline] if pipeline else None, trigger="manual"
            )
        except asyncio.CancelledError:
            if self._we_are_cancelled():
                raise
            # One of the runs was cancelled, which ends the wait for all of them: report
            # the ones that ended, and wait for the others one by one.
            for p in self.engine.pipelines.values():
                if pipeline is not None and p.name != pipeline:
                    continue
                for config in p.sources:
                    if not config.enabled:
                        continue
                    if self.engine.is_running(p.name, config.name):  # joins the run
                        self.run_worker(
                            self._pull(p.name, config.name), group="pulls", exit_on_error=False
                        )
                    else:
                        self._notify_last(p.name, config.name)
            return
        except Exception as exc:
            self.notify(f"{pipeline or 'all'}: {exc}", severity="error", markup=False)
            return
        for stats in results:
            self.notify_run(stats)

    def notify_run(self, stats: RunStats) -> None:
        message = (
            f"{stats.pipeline}/{stats.source}: {stats.status} — {stats.loaded} loaded, "
            f"{stats.duplicates} duplicates, {stats.failed} failed"
        )
        if stats.error and stats.error != stats.status:  # not "cancelled — … — cancelled"
            message += f" — {stats.error}"
        severity: SeverityLevel = (
            "error"
            if stats.status == "failed"
            else "warning"
            if stats.failed or stats.status == "cancelled"
            else "information"
        )
        self.notify(message, severity=severity, markup=False)

    def toggle_pause(self, pipeline: str, source: str) -> None:
        if self.no_daemon():
            return
        paused = not self.engine.state(pipeline, source).paused
        self.engine.pause(pipeline, source, paused)
        self.notify(f"{pipeline}/{source} {'paused' if paused else 'resumed'}", markup=False)

    def cancel_pull(self, pipeline: str, source: str) -> None:
        if self.engine.cancel(pipeline, source):
            self.notify(f"cancelling {pipeline}/{source}", markup=False)
        elif (pipeline, source) in self.requested:
            who = "the daemon has" if self.engine.attached else "it has"
            self.notify(
                f"{pipeline}/{source}: pull requested, but {who} not started it yet "
                "— press x again in a moment",
                markup=False,
            )
        else:
            self.notify(f"{pipeline}/{source} is not running", markup=False)

    def preview_source(self, pipeline: str, source: str) -> None:
        self.push_screen(PreviewScreen(pipeline, source))

    async def retry_failed(self, ids: list[int]) -> None:
        if not ids:
            self.notify("no failed records to retry")
            return
        if self.no_daemon():
            return
        outcome = await self.engine.retry_failed(ids, trigger="manual")
        self.data_version += 1
        failing = outcome.still_failing | dict.fromkeys(
            outcome.returned, "its daemon died and no daemon is left to retry it"
        )
        message = f"retry: {len(outcome.resolved)} resolved, {len(failing)} still failing"
        if failing:
            message += f" — {next(iter(failing.values()))}"
        self.notify(message, severity="warning" if failing else "information", markup=False)

    def retry_all_open(self) -> None:
        self.run_worker(self._retry_all_open(), group="actions", exit_on_error=False)

    async def _retry_all_open(self) -> None:
        from sentitui.tui.queries import FailedFilter, failed_ids

        ids = await self.engine.read(lambda store: failed_ids(store, FailedFilter()))
        await self.retry_failed(ids)

    async def ignore_failed(self, ids: list[int]) -> None:
        if self.no_daemon():
            return
        await self.engine.ignore_failed(ids)
        self.data_version += 1
        self.notify(f"ignored {len(ids)} record(s)")


@contextmanager
def _console_logging() -> Iterator[None]:
    """Keep log records off the terminal while Textual draws on it (the Logs screen has them)."""
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers = [
        h
        for h in saved
        if isinstance(h, logging.FileHandler) or not isinstance(h, logging.StreamHandler)
    ]
    try:
        yield
    finally:
        root.handlers = saved


def run_console(
    db_path: str,
    pipelines: list[PipelineConfig],
    *,
    schedules: bool = False,
    title: str = "SentiTUI",
    **kwargs: Any,
) -> int:
    """Open the console on `db_path`. `schedules=True` starts the pipelines' schedules too.
    Returns the exit status: 0, or 1 when an error ended it (see `crash_report`).

    Extra keyword arguments go to `SentiApp` (`engine=`, `theme=`) or else to `Engine`.
    """
    app = SentiApp(db_path, pipelines, schedules=schedules, title=title, freeze_gc=True, **kwargs)
    gc.freeze()  # the modules imported so far live as long as the process (see freeze_gc)
    with _console_logging():
        app.run()
    return app.return_code or 0
