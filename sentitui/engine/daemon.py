"""`sentitui run --watch`: the headless daemon that keeps the pipelines flowing.

It runs every schedule, reloads edited pipeline files, ingests drop folders, and
carries out the commands an attached console writes (see commands.py), until
SIGINT or SIGTERM. Then it stops each run after the page in hand, lets the writer
commit, marks whatever is still open `cancelled` and exits 0. It logs to stderr
and to a rotating file next to the database (`<db>.log`, or $SENTITUI_LOG).
"""

from __future__ import annotations

import asyncio
import logging
import logging.handlers
import os
import signal
import socket
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from sentitui.config import ConfigError, PipelineConfig, load_pipelines
from sentitui.engine import commands
from sentitui.engine.engine import Engine
from sentitui.engine.fleet import Fleet
from sentitui.engine.waiting import wait_event
from sentitui.engine.watch import Continuous, Select
from sentitui.models import ConfigInvalid, ConfigReloaded, EngineEvent, LogLine, RunStats
from sentitui.processing.redact import LOG_FORMAT, SafeFormatter
from sentitui.sources import is_streaming
from sentitui.store import postgres
from sentitui.store.backend import db_target, describe, is_postgres

logger = logging.getLogger("sentitui")
POLL = 0.5  # seconds between publishing the snapshot, and looks at commands on SQLite
COMMAND_FALLBACK = 5.0  # PostgreSQL: seconds between looks at commands with no NOTIFY
HEARTBEAT = 2.0  # seconds between snapshots when nothing changed
GRACE = 20.0  # seconds runs get to finish their page on shutdown
LOG_BYTES = 5_000_000
LOG_BACKUPS = 3
STOP_REASON = "stopped: the daemon is shutting down"


def log_path_for(db_path: str | Path) -> Path:
    """$SENTITUI_LOG, else next to the SQLite file, else (a server) in the working folder."""
    if os.environ.get("SENTITUI_LOG"):
        return Path(os.environ["SENTITUI_LOG"])
    target = db_target(db_path)
    return Path("sentitui-daemon.log") if isinstance(target, str) else target.with_suffix(".log")


def command_fallback() -> float:
    """$SENTITUI_COMMAND_FALLBACK (seconds) or COMMAND_FALLBACK: how long a daemon on
    PostgreSQL goes without reading `commands` when no NOTIFY came (one may be lost)."""
    return float(os.environ.get("SENTITUI_COMMAND_FALLBACK") or COMMAND_FALLBACK)


def setup_logging(path: Path) -> logging.Handler:
    """INFO and up to a rotating file, and to stderr (through the root handler the CLI set)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=LOG_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
    )
    handler.setFormatter(SafeFormatter(LOG_FORMAT))  # no secrets, no escapes in the file
    logger.addHandler(handler)
    logger.setLevel(min(logger.getEffectiveLevel(), logging.INFO))
    if not logging.getLogger().handlers:
        stderr = logging.StreamHandler(sys.stderr)
        stderr.setFormatter(SafeFormatter(LOG_FORMAT))
        logging.basicConfig(handlers=[stderr])
    return handler


def selection(
    pipelines_dir: Path, selected: list[PipelineConfig], source_name: str | None
) -> Select:
    """What the daemon runs after a reload: every pipeline in the folder if none was
    named at start, else the named ones; only `--source` when it was given."""
    try:
        everything = {p.name for p in load_pipelines(pipelines_dir)}
    except ConfigError:
        everything = set()
    names = {p.name for p in selected}
    every = names >= everything

    def select(pipeline: PipelineConfig) -> PipelineConfig | None:
        if not every and pipeline.name not in names:
            return None
        if source_name is None:
            return pipeline
        sources = [s for s in pipeline.sources if s.name == source_name]
        return replace(pipeline, sources=sources) if sources else None

    return select


def run_daemon(
    db_path: str | Path,
    pipelines_dir: Path,
    selected: list[PipelineConfig],
    source_name: str | None,
    metrics: tuple[str, int] | None = None,
) -> int:
    """Run until SIGINT/SIGTERM; returns the exit status (0 after a clean stop).
    `metrics` (host, port): serve Prometheus metrics there (engine/metrics.py)."""
    handler = setup_logging(log_path_for(db_path))

    async def main() -> int:  # the engine is built inside the loop it runs on
        daemon = Daemon(db_path, pipelines_dir, selected, source_name)
        daemon.metrics_address = metrics
        return await daemon.run()

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:  # a second Ctrl-C while stopping
        return 130
    finally:
        logger.removeHandler(handler)
        handler.close()


class Daemon:
    def __init__(
        self,
        db_path: str | Path,
        pipelines_dir: Path,
        selected: list[PipelineConfig],
        source_name: str | None,
    ) -> None:
        self.db_path = db_target(db_path)
        self.pipelines_dir = Path(pipelines_dir)
        self.select = selection(self.pipelines_dir, selected, source_name)
        pipelines = [s for p in selected if (s := self.select(p)) is not None]
        self.engine = Engine(self.db_path, pipelines)
        self.continuous = Continuous(self.engine, self.pipelines_dir, self.select)
        self.stopping = asyncio.Event()
        self._events: list[dict[str, Any]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()  # set: read the commands table now
        self._published: tuple[str, float] = ("", 0.0)
        self.started_at = time.time()
        self.metrics_address: tuple[str, int] | None = None

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._on_signal, sig)
        engine = self.engine
        engine.subscribe(self._record)
        await engine.start()
        # Several daemons may share the database: each run takes its source's lease.
        engine.fleet = fleet = Fleet(engine.writer)
        await fleet.join(self.snapshot, self._lease_lost)
        metrics = None
        if self.metrics_address is not None:
            from sentitui.engine.metrics import Metrics, MetricsError

            metrics = Metrics(engine)
            try:
                metrics.seed()
                metrics.start(*self.metrics_address)
            except MetricsError as exc:
                logger.error("%s", exc)
                await engine.close()
                return 2
            logger.info("metrics at http://%s:%d/metrics", *self.metrics_address)
        try:
            await engine.scorer.start_sheltered()
        except Exception:  # runs will meet (and retry) the broken pool themselves
            logger.exception("starting the scorer's workers failed")
        logger.info(
            "daemon %d started on %s (pipelines: %s, log: %s)",
            os.getpid(),
            describe(self.db_path),
            self.pipelines_dir,
            log_path_for(self.db_path),
        )
        for pipeline in engine.pipelines.values():
            for source in pipeline.sources:
                schedule = engine.schedule_of(pipeline.name, source.name)
                watch = " + drop folder" if source.kind == "file" and source.get("watch") else ""
                if is_streaming(source):
                    schedule, watch = None, " (a stream, kept open)"
                logger.info(
                    "%s/%s: %s%s",
                    pipeline.name,
                    source.name,
                    f"schedule {schedule}" if schedule else "no schedule",
                    watch,
                )
        await self.continuous.start()
        pollers = [
            asyncio.create_task(self._poll(), name="daemon publish"),
            asyncio.create_task(self._claims(), name="daemon commands"),
        ]
        if is_postgres(self.db_path):
            pollers.append(asyncio.create_task(self._listen(), name="daemon listen"))
        await self.stopping.wait()

        logger.info("stopping: finishing the pages in hand")
        for poller in pollers:
            poller.cancel()
        await asyncio.gather(*pollers, return_exceptions=True)
        await self.continuous.stop()
        await engine.drain(STOP_REASON, timeout=GRACE)
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        # Its own unfinished commands fail; pending ones stay for the rest of a fleet.
        await engine.writer.call(
            commands.fail_open,
            "the daemon stopped before finishing it",
            fleet.daemon_id,
            fleet.peers == 0,
        )
        await self._flush(stopped=True)
        if metrics is not None:
            metrics.stop()
        closed = await fleet.leave()  # only this daemon's runs: others may still be going
        # and any run of this process no lease covered (store/owner.py: by host and pid)
        closed += await engine.writer.call(lambda store: store.close_open_runs("cancelled"))
        await engine.close()
        logger.info("daemon stopped (%d open run(s) marked cancelled)", closed)
        return 0

    def _lease_lost(self, pipeline: str, source: str) -> None:
        """Another daemon pulls the source now: our run ends at once, its page in
        flight unwritten (the new holder fetches it again from the committed cursor)."""
        self.engine.drop(
            pipeline,
            source,
            "lease lost: another daemon took over; the page in flight was not written",
        )

    def _on_signal(self, sig: signal.Signals) -> None:
        # Flag the runs in flight at once, so none fetches past the page in hand
        # while the watchers and schedules wind down.
        for pipeline in self.engine.pipelines.values():
            for source in pipeline.sources:
                self.engine.stop_after_page(pipeline.name, source.name, STOP_REASON)
        if self.stopping.is_set():
            logger.warning("%s again: still finishing the pages in hand", sig.name)
        else:
            logger.info("%s received", sig.name)
        self.stopping.set()

    # ---- what attached consoles see ---------------------------------------------------

    def _record(self, event: EngineEvent) -> None:
        """Keep the events a console cannot read from the runs table, for the next flush."""
        if isinstance(event, LogLine):
            self._events.append(
                {
                    "at": event.at,
                    "kind": "log",
                    "level": event.level,
                    "pipeline": event.pipeline,
                    "source": event.source,
                    "message": event.message,
                }
            )
        elif isinstance(event, ConfigInvalid):
            self._events.append(
                {
                    "at": event.at,
                    "kind": "config_invalid",
                    "level": "ERROR",
                    "message": "\n".join(event.problems),
                    "data": {"path": event.path, "problems": event.problems},
                }
            )
        elif isinstance(event, ConfigReloaded):
            self._events.append(
                {
                    "at": event.at,
                    "kind": "config_reloaded",
                    "level": "INFO",
                    "data": {
                        "added": event.added,
                        "removed": event.removed,
                        "changed": event.changed,
                    },
                }
            )

    def snapshot(self, stopped: bool = False) -> dict[str, Any]:
        engine = self.engine
        return {
            "pid": os.getpid(),
            "host": socket.gethostname(),  # a console on this host also checks the pid
            "started_at": self.started_at,
            "stopped": stopped,
            "pipelines_dir": str(self.pipelines_dir.resolve()),
            "log": str(log_path_for(self.db_path).resolve()),
            "pipelines": [
                {
                    "name": p.name,
                    "path": str(p.path),
                    "schedule": p.schedule,
                    "sources": [
                        {
                            "name": s.name,
                            "kind": s.kind,
                            "schedule": s.schedule,
                            "enabled": s.enabled,
                        }
                        for s in p.sources
                    ],
                }
                for p in engine.pipelines.values()
            ],
            "states": [
                {
                    "pipeline": p,
                    "source": s,
                    "status": st.status,
                    "detail": st.detail,
                    "paused": st.paused,
                    "next_run": st.next_run,
                }
                for (p, s), st in engine.states.items()
                if p in engine.pipelines
            ],
        }

    async def _flush(self, stopped: bool = False) -> None:
        events, self._events = self._events, []
        await self.engine.writer.call(commands.append_events, events)
        data = self.snapshot(stopped)
        text = repr(data)
        now = time.time()
        if stopped or text != self._published[0] or now - self._published[1] >= HEARTBEAT:
            daemon_id = self.engine.fleet.daemon_id if self.engine.fleet else 0
            await self.engine.writer.call(commands.publish, {**data, "heartbeat": now}, daemon_id)
            self._published = (text, now)

    async def _poll(self) -> None:
        while True:
            try:
                await self._flush()
            except Exception:
                logger.exception("publishing the daemon's state failed")
            await asyncio.sleep(POLL)

    async def _claims(self) -> None:
        """Claim and start pending commands: on PostgreSQL when a NOTIFY says `commands`
        changed, and every command_fallback() seconds should one be lost; on SQLite
        (no NOTIFY) every POLL seconds."""
        interval = command_fallback() if is_postgres(self.db_path) else POLL
        while True:
            self._wake.clear()  # a NOTIFY during the claim below wakes us once more
            try:
                fleet = self.engine.fleet
                daemon_id = fleet.daemon_id if fleet is not None else 0
                for command in await self.engine.writer.call(commands.claim, None, daemon_id):
                    task = asyncio.create_task(self._execute(command), name=f"command {command.id}")
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
            except Exception:
                logger.exception("reading commands failed")
            await wait_event(self._wake, interval)

    async def _listen(self) -> None:
        """LISTEN on a connection of its own; reconnect after a lost network."""
        assert isinstance(self.db_path, str)

        def listening() -> None:  # commands written before LISTEN are read now
            self.engine.log("INFO", "listening for commands (NOTIFY)")
            self._wake.set()

        while True:
            try:
                async for table in postgres.notifications(self.db_path, listening):
                    if table == "commands":
                        self._wake.set()
            except Exception as exc:
                logger.warning("LISTEN on %s failed: %s", describe(self.db_path), exc)
            await asyncio.sleep(1.0)

    # ---- commands ---------------------------------------------------------------------

    async def _execute(self, command: commands.Command) -> None:
        where = "/".join(x for x in (command.pipeline, command.source) if x)
        self.engine.log("INFO", f"command {command.id}: {command.action} {where}".rstrip())
        try:
            ok, outcome, result = await self._carry_out(command)
        except KeyError as exc:
            ok, outcome, result = False, str(exc.args[0]), None
        except Exception as exc:
            ok, outcome, result = False, f"{type(exc).__name__}: {exc}", None
        if result is not None and self.engine.fleet is not None:
            result["daemon_id"] = self.engine.fleet.daemon_id  # who carried it out
        self.engine.log(
            "INFO" if ok else "ERROR", f"command {command.id} {command.action}: {outcome}"
        )
        await self.engine.writer.call(commands.finish, command.id, ok, outcome, result)

    async def _carry_out(
        self, command: commands.Command
    ) -> tuple[bool, str, dict[str, Any] | None]:
        engine, action = self.engine, command.action
        pipeline, source = command.pipeline or "", command.source or ""
        args = command.args or {}
        if action in ("pull", "pull_pipeline", "pull_all"):
            if action == "pull":
                config = engine.pipeline(pipeline).source(source)  # KeyError names the unknown
                if is_streaming(config) and engine.is_running(pipeline, source):
                    return True, "streaming: its posts arrive as they are written", None
                runs = [await engine.run_source(pipeline, source, "manual")]
            else:
                runs = await engine.run_pipelines(
                    [pipeline] if action == "pull_pipeline" else None, trigger="manual"
                )
            return (
                all(r.status == "ok" for r in runs),
                summarize(runs),
                {"run_ids": [r.run_id for r in runs]},
            )
        if action == "retry":
            outcome = await engine.retry_failed([int(i) for i in args.get("ids", [])], "manual")
            return (
                not outcome.still_failing,
                f"{len(outcome.resolved)} resolved, {len(outcome.still_failing)} still failing",
                {
                    "resolved": outcome.resolved,
                    "still_failing": {str(k): v for k, v in outcome.still_failing.items()},
                },
            )
        if action == "ignore":
            ids = [int(i) for i in args.get("ids", [])]
            await engine.ignore_failed(ids)
            return True, f"{len(ids)} record(s) ignored", None
        if action in ("pause", "resume"):
            engine.pipeline(pipeline).source(source)
            engine.pause(pipeline, source, action == "pause")
            return True, "paused" if action == "pause" else "resumed", None
        if action == "cancel":
            cancelled = engine.cancel(pipeline, source)
            return True, "cancelled" if cancelled else "was not running", None
        return False, f"unknown action {action!r}", None


def summarize(runs: list[RunStats]) -> str:
    if not runs:
        return "no enabled source to run"
    return "; ".join(
        f"run {r.run_id} {r.pipeline}/{r.source} {r.status}: {r.loaded} loaded, "
        f"{r.duplicates} duplicates, {r.failed} failed" + (f" ({r.error})" if r.error else "")
        for r in runs
    )
