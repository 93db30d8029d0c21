"""RemoteEngine: the console's engine when it is attached to a daemon (`tui --attach`).

It has the public surface the console uses on `Engine`, but it starts no second
engine: actions (pull, retry, ignore, pause, cancel) become rows in `commands` that
the `run --watch` daemon carries out within a second, and the events the console
draws from are synthesised by reading the database the daemon fills — on SQLite
every `poll` seconds, on PostgreSQL when a NOTIFY says a table changed — the `runs`
table (RunStarted / RunProgress / RunFinished), its `events` table (log lines,
config reports) and its published snapshot (source states, next runs). Preview
fetches one page locally: it writes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from sentitui.config import PipelineConfig, SourceConfig
from sentitui.engine import commands, heartbeat
from sentitui.engine.engine import Engine
from sentitui.engine.fleet import lease_ttl
from sentitui.engine.heartbeat import DaemonLife
from sentitui.engine.surface import ConsoleEngine, EngineSurface, Preview, RetryOutcome
from sentitui.engine.waiting import wait_event
from sentitui.engine.writer import StoreThread
from sentitui.models import (
    ConfigInvalid,
    ConfigReloaded,
    LogLine,
    RunFinished,
    RunProgress,
    RunStarted,
    RunStats,
    SourceStatus,
    is_source_status,
)
from sentitui.store import Store, fleet, postgres
from sentitui.store.backend import db_target, describe, is_postgres

logger = logging.getLogger("sentitui")
T = TypeVar("T")
POLL = 0.5
IDLE = 5.0  # PostgreSQL: read at least this often even when no NOTIFY came
DAEMON_TIMEOUT = 10.0  # seconds without a heartbeat before we say no daemon is running


def _epoch(text: str | None) -> float | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() if text else None


def stats_from_row(row: dict[str, Any]) -> RunStats:
    return RunStats(
        run_id=row["id"],
        pipeline=row["pipeline"],
        source=row["source"],
        trigger=row["trigger"],
        status=row["status"],
        fetched=row["fetched"] or 0,
        loaded=row["loaded"] or 0,
        duplicates=row["duplicates"] or 0,
        failed=row["failed"] or 0,
        error=row["error"],
        started_at=_epoch(row["started_at"]) or 0.0,
        ended_at=_epoch(row["ended_at"]),
    )


class RemoteEngine(EngineSurface):
    attached = True  # the daemon runs the sources; this engine asks it to

    def __init__(
        self,
        db_path: str | Path,
        pipelines: Iterable[PipelineConfig] = (),
        *,
        poll: float = POLL,
        daemon_timeout: float = DAEMON_TIMEOUT,
    ) -> None:
        self.db_path = db_target(db_path)
        self.local: dict[str, PipelineConfig] = {p.name: p for p in pipelines}  # for preview
        super().__init__(dict(self.local))
        self.writer = StoreThread(self.db_path, name="sentitui-attach")
        self.daemon: dict[str, Any] | None = None  # the daemon's last published snapshot
        self.fleet: list[dict[str, Any]] = []  # the daemons on this database (fleet.daemons)
        self.poll = poll
        self.daemon_timeout = daemon_timeout
        self._running: dict[tuple[str, str], int] = {}  # source -> its running run id
        self._tracked: dict[int, dict[str, Any]] = {}  # running run rows, by id
        self._last_run = 0
        self._last_event = 0
        self._alive: bool | None = None
        self._poller: asyncio.Task[None] | None = None
        self._previewer: Engine | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self._listener: asyncio.Task[None] | None = None
        self._generation = 0  # how many NOTIFYs have come (PostgreSQL)
        self._changed = asyncio.Event()  # set, and replaced, at each NOTIFY

    # ---- lifecycle --------------------------------------------------------------------

    async def start(self) -> None:
        if self._poller is not None:
            return
        await self.writer.start()

        def bookmarks(store: Store) -> tuple[int, int, list[dict[str, Any]]]:
            last = store.conn.execute("SELECT COALESCE(MAX(id), 0) FROM runs").fetchone()[0]
            running = store.rows("SELECT * FROM runs WHERE status = 'running' ORDER BY id")
            return last, commands.last_event_id(store), running

        self._last_run, self._last_event, running = await self.writer.call(bookmarks)
        for row in running:  # runs already going when we attached
            self._apply_run(row, new=True)
        if is_postgres(self.db_path):
            self._listener = asyncio.create_task(self._listen(), name="attach listen")
        await self.poll_once()
        self._poller = asyncio.create_task(self._poll_loop(), name="attach poll")

    async def close(self) -> None:
        for task in (self._poller, self._listener):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        self._poller = self._listener = None
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        if self._previewer is not None:
            await self._previewer.close()
            self._previewer = None
        await self.writer.close()

    async def __aenter__(self) -> RemoteEngine:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---- events, states, lookups (as on Engine) ---------------------------------------

    def log(self, level: str, message: str, pipeline: str = "", source: str = "") -> None:
        self.emit(LogLine(level=level, message=message, pipeline=pipeline, source=source))

    def is_running(self, pipeline: str, source: str) -> bool:
        return (pipeline, source) in self._running

    @property
    def daemon_alive(self) -> bool:
        return self.daemon_life().alive

    def daemon_life(self) -> DaemonLife:
        """The daemon this console drives, judged now from its last snapshot."""
        return heartbeat.daemon_life(self.daemon, timeout=self.daemon_timeout)

    def start_schedules(self, **_: Any) -> None:
        """The daemon runs the schedules; an attached console only shows them."""

    async def stop_schedules(self) -> None:
        """Nothing to stop: see start_schedules."""

    # ---- actions: commands for the daemon ---------------------------------------------

    async def submit(
        self, action: str, pipeline: str | None = None, source: str | None = None, **args: Any
    ) -> int:
        return await self.writer.call(
            lambda store: commands.submit(store, action, pipeline, source, **args)
        )

    async def wait(self, command_id: int, deadline: float | None = None) -> commands.Command:
        """Until the daemon marks the command done or failed, or until `deadline`
        (time.monotonic()) when given: then it is returned as it stands, pending or
        running. A command no daemon will carry out any more fails with the reason:
        nobody claimed it and no daemon has beaten for `daemon_timeout` seconds, or
        the daemon that claimed it is gone (commands.orphaned)."""
        return (await self._await(command_id, deadline))[0]

    async def _await(
        self, command_id: int, deadline: float | None = None
    ) -> tuple[commands.Command, bool]:
        """wait(), and whether the command failed because no daemon would finish it."""
        since, seen, ttl = time.monotonic(), self._generation, lease_ttl()
        while True:
            command = await self.writer.call(commands.get, command_id)
            assert command is not None
            if command.status in ("done", "failed"):
                return command, False
            reason = await self.writer.call(commands.orphaned, command, ttl)
            if self.daemon_alive:
                since = time.monotonic()
            elif (
                reason is None
                and command.status == "pending"
                and time.monotonic() - since > self.daemon_timeout
            ):
                reason = "no `sentitui run --watch` is running on this database"
            if reason is not None:
                claimed_by = command.daemon_id if command.status == "running" else None
                if await self.writer.call(commands.abandon, command_id, reason, claimed_by):
                    command.status, command.outcome = "failed", reason
                    return command, True
                continue  # it moved on meanwhile: read it again
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return command, False
            seen = await self._next_change(self.poll / 2, seen, left)

    async def run_source(self, pipeline: str, source: str, trigger: str = "manual") -> RunStats:
        """Ask the daemon to pull one source now; returns that run once it has ended."""
        self.pipeline(pipeline).source(source)
        command = await self.wait(await self.submit("pull", pipeline, source))
        runs = await self._runs_of(command)
        if runs:
            return runs[0]
        return RunStats(
            run_id=0,
            pipeline=pipeline,
            source=source,
            trigger="manual",
            status="failed",
            error=command.outcome,
        )

    async def run_pipelines(
        self,
        names: Iterable[str] | None = None,
        *,
        source: str | None = None,
        trigger: str = "manual",
    ) -> list[RunStats]:
        names = list(names) if names else None
        if source is not None:
            jobs = [
                self.run_source(n, source)
                for n in (names or list(self.pipelines))
                if any(s.name == source for s in self.pipeline(n).sources)
            ]
            return list(await asyncio.gather(*jobs))
        if names is None:
            ids = [await self.submit("pull_all")]
        else:
            ids = [await self.submit("pull_pipeline", name) for name in names]
        done = await asyncio.gather(*(self.wait(i) for i in ids))
        results: list[RunStats] = []
        for command in done:
            runs = await self._runs_of(command)
            results.extend(
                runs
                or [
                    RunStats(
                        run_id=0,
                        pipeline=command.pipeline or "",
                        source="",
                        status="failed",
                        error=command.outcome,
                    )
                ]
            )
        return results

    def cancel(self, pipeline: str, source: str) -> bool:
        if not self.is_running(pipeline, source):
            return False
        self._in_background(self.submit("cancel", pipeline, source))
        return True

    def pause(self, pipeline: str, source: str, paused: bool = True) -> None:
        self.state(pipeline, source).paused = paused  # shown at once; the daemon confirms
        self.set_status(pipeline, source, "paused" if paused else "idle")
        self._in_background(self.submit("pause" if paused else "resume", pipeline, source))

    async def retry_failed(
        self, ids: Iterable[int], trigger: str = "manual", *, deadline: float | None = None
    ) -> RetryOutcome:
        """One command per source of the records, naming it: in a fleet the daemon
        holding that source's lease claims it (commands.claim), as with a pull.

        A command whose daemon died (or left) is sent again for the next holder while
        a daemon is alive, else its records come back in `returned` for the caller to
        retry itself. At `deadline` (time.monotonic()), a command no daemon has claimed
        is withdrawn and one a daemon is carrying out is left to finish there: both
        are in `pending`, saying which and where."""
        ids = [int(i) for i in ids]
        heads = await self.writer.call(lambda store: store.failed_heads(ids))
        groups: dict[tuple[str | None, str | None], list[int]] = {}
        for record_id in ids:  # an unknown id: any daemon answers "no such failed record"
            groups.setdefault(heads.get(record_id, (None, None)), []).append(record_id)
        sent = {
            await self.submit("retry", pipeline, source, ids=group): (pipeline, source, group)
            for (pipeline, source), group in groups.items()
        }
        outcome, ttl = RetryOutcome(), lease_ttl()
        while sent:
            command_id, (pipeline, source, group) = sent.popitem()
            command, orphaned = await self._await(command_id, deadline)
            if orphaned:  # a claimer that died: the next holder takes it, if any is left
                others: list[int] = await self.writer.call(fleet.alive, ttl)
                if command.daemon_id and others:
                    again = await self.submit("retry", pipeline, source, ids=group)
                    sent[again] = (pipeline, source, group)
                    self.log(
                        "WARNING", f"retry command {command_id}: {command.outcome}; sent again"
                    )
                else:
                    outcome.returned.extend(group)
                continue
            if command.status in ("pending", "running"):  # the deadline passed
                where = await self.writer.call(commands.whereabouts, command)
                if command.status == "pending":
                    gave_up = "withdrawn: the caller stopped waiting; not retried"
                    if not await self.writer.call(commands.abandon, command_id, gave_up):
                        sent[command_id] = (pipeline, source, group)  # claimed just now
                        continue
                    where = f"{gave_up} (it was {where})"
                else:
                    where += ": it finishes there"
                outcome.pending.update({i: f"command {command_id} {where}" for i in group})
                continue
            result = command.result or {}
            outcome.resolved.extend(result.get("resolved", []))
            outcome.still_failing.update(
                {int(k): v for k, v in result.get("still_failing", {}).items()}
            )
            if command.result is None and command.status == "failed":
                outcome.still_failing.update({i: command.outcome or "failed" for i in group})
        return outcome

    async def ignore_failed(self, ids: Iterable[int]) -> None:
        command = await self.wait(await self.submit("ignore", ids=[int(i) for i in ids]))
        if command.status == "failed":
            raise RuntimeError(command.outcome)

    async def preview(self, pipeline: str, source_name: str) -> Preview:
        """One page fetched here, from the local pipeline files; nothing is written."""
        if pipeline not in self.local:
            raise KeyError(
                f"pipeline {pipeline!r} is not in the local pipelines folder; "
                "preview needs its file"
            )
        if self._previewer is None:
            self._previewer = Engine(self.db_path, self.local.values(), score_workers=0)
            await self._previewer.start()
        return await self._previewer.preview(pipeline, source_name)

    def _in_background(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _runs_of(self, command: commands.Command) -> list[RunStats]:
        ids = (command.result or {}).get("run_ids", [])
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = await self.writer.call(
            lambda store: store.rows(f"SELECT * FROM runs WHERE id IN ({marks}) ORDER BY id", ids)
        )
        return [stats_from_row(row) for row in rows]

    # ---- polling: database rows -> engine events --------------------------------------

    async def _listen(self) -> None:
        """LISTEN on its own connection; reconnect after a lost network."""
        assert isinstance(self.db_path, str)
        while True:
            try:  # once LISTENing, one look: what committed before it sent no NOTIFY here
                async for _ in postgres.notifications(self.db_path, self._heard):
                    self._heard()
            except Exception as exc:
                logger.warning("attach: LISTEN on %s failed: %s", describe(self.db_path), exc)
            await asyncio.sleep(1.0)

    def _heard(self) -> None:
        """One NOTIFY: wake every waiter (each holds the event it started waiting on)."""
        self._generation += 1
        self._changed.set()
        self._changed = asyncio.Event()

    async def _next_change(self, poll: float, seen: int, limit: float | None = None) -> int:
        """Until the daemon commits something after NOTIFY number `seen` (PostgreSQL;
        at most IDLE seconds), or `poll` seconds (SQLite); never past `limit` seconds.
        Returns the number now. Cancelling it cancels it (engine/waiting.py)."""
        if self._listener is None:
            await asyncio.sleep(poll if limit is None else min(poll, limit))
            return seen
        if self._generation == seen:
            await wait_event(self._changed, IDLE if limit is None else min(IDLE, limit))
        return self._generation

    async def _poll_loop(self) -> None:
        seen = self._generation
        while True:
            seen = await self._next_change(self.poll, seen)
            try:
                await self.poll_once()
            except Exception as exc:  # a locked or busy database: try again next time
                logger.warning("attach: reading %s failed: %s", describe(self.db_path), exc)

    async def poll_once(self) -> None:
        tracked = list(self._tracked)

        def read(store: Store) -> tuple[list[dict[str, Any]], list[dict[str, Any]], Any]:
            marks = ",".join("?" * len(tracked)) or "NULL"
            runs = store.rows(
                f"SELECT * FROM runs WHERE id > ? OR id IN ({marks}) ORDER BY id",
                (self._last_run, *tracked),
            )
            self.fleet = fleet.daemons(store, self.daemon_timeout)
            return runs, commands.events_after(store, self._last_event), commands.snapshot(store)

        runs, events, snap = await self.writer.call(read)
        for row in runs:
            new = row["id"] > self._last_run
            self._last_run = max(self._last_run, row["id"])
            self._apply_run(row, new)
        for row in events:
            self._last_event = row["id"]
            self._apply_event(row)
        self._apply_snapshot(snap)

    def _apply_run(self, row: dict[str, Any], new: bool) -> None:
        key = (row["pipeline"], row["source"])
        if new:
            self.emit(
                RunStarted(run_id=row["id"], pipeline=key[0], source=key[1], trigger=row["trigger"])
            )
        if row["status"] == "running":
            before = self._tracked.get(row["id"])
            counters = ("fetched", "loaded", "duplicates", "failed")
            if before is None or any(before[c] != row[c] for c in counters):
                pages = (before or {}).get("pages", 0) + (1 if row["fetched"] else 0)
                row = {**row, "pages": pages}
                if row["fetched"]:
                    self.emit(
                        RunProgress(
                            run_id=row["id"],
                            pipeline=key[0],
                            source=key[1],
                            fetched=row["fetched"],
                            loaded=row["loaded"],
                            duplicates=row["duplicates"],
                            failed=row["failed"],
                            pages=pages,
                        )
                    )
            self._tracked[row["id"]] = row
            self._running[key] = row["id"]
            return
        self._tracked.pop(row["id"], None)
        if self._running.get(key) == row["id"]:
            del self._running[key]
        stats = stats_from_row(row)
        self.state(*key).last = stats
        self.emit(RunFinished(stats=stats))

    def _apply_event(self, row: dict[str, Any]) -> None:
        at = row["at"] or time.time()
        if row["kind"] == "log":
            self.emit(
                LogLine(
                    level=row["level"] or "INFO",
                    message=row["message"] or "",
                    pipeline=row["pipeline"] or "",
                    source=row["source"] or "",
                    at=at,
                )
            )
        elif row["kind"] == "config_invalid":
            data = row["data"] or {}
            self.emit(
                ConfigInvalid(path=data.get("path", ""), problems=data.get("problems", []), at=at)
            )
        elif row["kind"] == "config_reloaded":
            data = row["data"] or {}
            self.emit(
                ConfigReloaded(
                    **{
                        k: [tuple(x) for x in data.get(k, [])]
                        for k in ("added", "removed", "changed")
                    },
                    at=at,
                )
            )

    def _apply_snapshot(self, snap: dict[str, Any] | None) -> None:
        self.daemon = snap
        alive = self.daemon_alive
        if alive != self._alive:
            self._alive = alive
            if alive:
                self.log("INFO", f"attached to daemon {snap['pid']} on {describe(self.db_path)}")  # type: ignore[index]
            else:
                self.log(
                    "WARNING",
                    f"no `sentitui run --watch` is running on {describe(self.db_path)}: "
                    "actions will wait for one",
                )
        if snap is None:
            return
        self._apply_pipelines(snap.get("pipelines", []))
        for item in snap.get("states", []):
            state = self.state(item["pipeline"], item["source"])
            state.paused = bool(item.get("paused"))
            state.next_run = item.get("next_run") if alive else None
            # Only the declared statuses count: a newer daemon's word or a damaged row is idle.
            said = item.get("status") if alive else "idle"
            status: SourceStatus = said if is_source_status(said) else "idle"
            self.set_status(item["pipeline"], item["source"], status, item.get("detail", ""))

    def read_published(self) -> list[PipelineConfig]:
        """The pipelines the daemon last published (read now, synchronously), so the
        console can list them even without a local pipelines folder."""
        store = Store(self.db_path)
        try:
            snap = commands.snapshot(store)
        finally:
            store.close()
        self._apply_pipelines((snap or {}).get("pipelines", []))
        return list(self.pipelines.values())

    def _apply_pipelines(self, published: list[dict[str, Any]]) -> None:
        """The daemon's pipelines (names, kinds, schedules; never options, which may hold
        secrets); a local file of the same name supplies options for preview."""
        pipelines = {}
        for item in published:
            local = self.local.get(item["name"])
            sources = []
            for src in item.get("sources", []):
                options: dict[str, Any] = {}
                if local is not None:
                    try:
                        options = local.source(src["name"]).options
                    except KeyError:
                        pass
                sources.append(
                    SourceConfig(
                        name=src["name"],
                        kind=src["kind"],
                        options=options,
                        schedule=src.get("schedule"),
                        enabled=src.get("enabled", True),
                    )
                )
            pipelines[item["name"]] = PipelineConfig(
                name=item["name"],
                path=Path(item["path"]),
                sources=sources,
                schedule=item.get("schedule"),
            )
        if pipelines:
            self.pipelines = pipelines


def _both_are_console_engines(local: Engine, remote: RemoteEngine) -> list[ConsoleEngine]:
    """Never called: mypy checks here that both engines implement `ConsoleEngine`."""
    return [local, remote]
