"""The engine: owns the HTTP client, the scorer pool and the writer; runs sources.

Front ends (the console, the headless CLI, tests) subscribe to its events and
call its coroutines; it never imports Textual. One engine per process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import AsyncGenerator, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from sentitui.config import PipelineConfig
from sentitui.engine.fleet import Fleet
from sentitui.engine.resume import Backfill
from sentitui.engine.runner import Runner, Transformed, transform
from sentitui.engine.schedule import Clock, PrioritySlots, Schedule
from sentitui.engine.streaming import StreamRunner
from sentitui.engine.surface import EngineSurface, Preview, RetryOutcome
from sentitui.engine.writer import Writer
from sentitui.models import (
    ConfigReloaded,
    LogLine,
    Page,
    RunFinished,
    RunStarted,
    RunStats,
    SourceStatus,
    Trigger,
)
from sentitui.net.http import FetchError, HttpClient
from sentitui.processing.redact import safe_line
from sentitui.processing.score import Scorer, default_workers
from sentitui.sources import is_streaming, make_source
from sentitui.sources.base import Source, SourceContext, parse_json
from sentitui.store import PageWrite, database_errors
from sentitui.store.backend import db_target
from sentitui.store.rows import FailedRecordDetail

logger = logging.getLogger("sentitui")


class Engine(EngineSurface):
    writer: Writer  # also commits pages, not only reads

    def __init__(
        self,
        db_path: str | Path,
        pipelines: Iterable[PipelineConfig] = (),
        *,
        score_workers: int | None = None,
        max_concurrent_runs: int = 4,
        http: HttpClient | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.db_path = db_target(db_path)
        super().__init__({p.name: p for p in pipelines})
        self.http = http or HttpClient()
        # None: one scoring process per core (processing/score.py default_workers).
        workers = default_workers() if score_workers is None else score_workers
        self.scorer = Scorer(workers=workers)
        self.writer = Writer(self.db_path)
        self.author_secret = b""
        self._slots = PrioritySlots(max_concurrent_runs)  # manual pulls go first
        self.clock = clock or Clock()
        self._running: dict[tuple[str, str], asyncio.Task[RunStats]] = {}
        self._schedules: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._restarts: set[asyncio.Task[None]] = set()  # changed sources waiting to rerun
        self._scheduling = False
        self._first_delay = 1.0
        self._started = False
        self._stopping: str | None = None  # stop_all(): runs not started yet end at once
        self.fleet: Fleet | None = None  # set by a daemon: runs only under a lease

    # ---- lifecycle --------------------------------------------------------------------

    async def start(self) -> None:
        if self._started:
            return
        await self.writer.start()
        closed = await self.writer.call(lambda store: store.close_dead_runs())
        if closed:
            self.log("WARNING", f"{closed} run(s) whose process died marked interrupted")
        self.author_secret = await self.writer.call(lambda store: store.author_secret())
        self._started = True

    async def close(self) -> None:
        await self.stop_schedules()
        for task in list(self._running.values()):
            task.cancel()
        if self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)
        await self.http.close()
        await self.writer.close()
        await self.scorer.aclose()
        self._started = False

    async def __aenter__(self) -> Engine:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---- events ----------------------------------------------------------------------

    def log(self, level: str, message: str, pipeline: str = "", source: str = "") -> None:
        message = safe_line(message)  # servers' text and URLs: no escapes, no secrets
        where = f"{pipeline}/{source}: " if source else ""
        logger.log(logging.getLevelName(level), "%s%s", where, message)
        self.emit(LogLine(level=level, message=message, pipeline=pipeline, source=source))

    # ---- lookups ---------------------------------------------------------------------

    def make_source(self, pipeline: str, source: str) -> Source:
        config = self.pipeline(pipeline)
        return make_source(config.source(source), config)

    @property
    def runs_waiting(self) -> int:
        """Runs queued for a free slot (`max_concurrent_runs`), manual pulls first."""
        return self._slots.waiting

    def is_running(self, pipeline: str, source: str) -> bool:
        return (pipeline, source) in self._running

    # ---- runs ------------------------------------------------------------------------

    async def run_source(self, pipeline: str, source: str, trigger: Trigger = "manual") -> RunStats:
        """Run one source until it has no more pages. A source never overlaps itself:
        if it is running already, this waits for and returns that run."""
        key = (pipeline, source)
        if key in self._running:
            return await asyncio.shield(self._running[key])
        task = asyncio.create_task(
            self._leased(pipeline, source, trigger), name=f"run {pipeline}/{source}"
        )
        self._running[key] = task
        task.add_done_callback(lambda _: self._running.pop(key, None))
        return await asyncio.shield(task)

    async def run_pipelines(
        self,
        names: Iterable[str] | None = None,
        *,
        source: str | None = None,
        trigger: Trigger = "cli",
    ) -> list[RunStats]:
        """Run the enabled sources of the named pipelines (all when None) concurrently."""
        jobs = []
        for name in list(names) if names else list(self.pipelines):
            pipeline = self.pipeline(name)
            for config in pipeline.sources:
                if source is not None and config.name != source:
                    continue
                if source is None and not config.enabled:
                    continue
                jobs.append(self.run_source(pipeline.name, config.name, trigger))
        return list(await asyncio.gather(*jobs))

    def cancel(self, pipeline: str, source: str) -> bool:
        task = self._running.get((pipeline, source))
        if task is None:
            return False
        task.cancel()
        return True

    def pause(self, pipeline: str, source: str, paused: bool = True) -> None:
        self.state(pipeline, source).paused = paused
        self.set_status(pipeline, source, "paused" if paused else "idle")

    async def _leased(self, pipeline: str, source: str, trigger: Trigger) -> RunStats:
        """In a fleet only the daemon holding the source's lease runs it; the others skip
        (a `cancelled` result naming the holder, with no run row)."""
        if self.fleet is None:
            return await self._run(pipeline, source, trigger)
        # A scheduled run that would queue for a slot is left to an idler daemon: one
        # holding leases it cannot start yet would starve the rest of the fleet.
        busy = trigger != "manual" and self.fleet.peers > 0 and self._slots.busy
        holder = "every run slot here is busy" if busy else None
        holder = holder or await self.fleet.acquire(pipeline, source)
        if holder is not None:
            logger.debug("%s/%s: not run: %s", pipeline, source, holder)  # every tick: no event
            return RunStats(
                run_id=0,
                pipeline=pipeline,
                source=source,
                trigger=trigger,
                status="cancelled",
                error=f"not run: {holder}",
            )
        try:
            return await self._run(pipeline, source, trigger)
        finally:
            await self.fleet.release(pipeline, source)

    async def _run(self, pipeline_name: str, source_name: str, trigger: Trigger) -> RunStats:
        # A stream runs for days: it takes no run slot, or four would starve every poll.
        streaming = trigger in ("watch", "schedule") and is_streaming(
            self.pipeline(pipeline_name).source(source_name)
        )
        slot = (
            contextlib.nullcontext() if streaming else self._slots.hold(urgent=trigger == "manual")
        )
        async with slot:
            source = self.make_source(pipeline_name, source_name)
            stats: RunStats = await self.writer.call(
                lambda store: store.start_run(pipeline_name, source_name, trigger)
            )
            self.emit(
                RunStarted(
                    run_id=stats.run_id, pipeline=pipeline_name, source=source_name, trigger=trigger
                )
            )
            self.set_status(pipeline_name, source_name, "running")
            self.log("INFO", f"run {stats.run_id} started ({trigger})", pipeline_name, source_name)

            def set_status(status: SourceStatus, detail: str = "") -> None:
                self.set_status(pipeline_name, source_name, status, detail)

            runner = (StreamRunner if streaming else Runner)(self, source, stats, set_status)
            try:
                missing = source.config.missing_env
                if self._stopping is not None:  # stop_all() came while it waited for a slot
                    stats.status, stats.error = "cancelled", self._stopping
                elif missing:  # a disabled source pulled by hand before its secrets are set
                    stats.status = "failed"
                    stats.error = (
                        f"environment variable(s) {', '.join(missing)} not set: "
                        f"set them and reload the pipeline"
                    )
                else:
                    try:
                        await runner.run()
                    except asyncio.CancelledError:
                        if not self.state(pipeline_name, source_name).dropping:
                            raise
                        # Engine.drop ended the run, not its callers' wait: it returns
                        # its stats (`cancelled`), and a schedule loop goes on.
                        task = asyncio.current_task()
                        if task is not None:
                            task.uncancel()
            finally:
                stats.error = safe_line(stats.error) if stats.error else stats.error
                try:
                    await self.writer.call(lambda store: store.finish_run(stats))
                except database_errors() as exc:  # the run is told, not lost
                    stats.status, stats.store_failed = "failed", True
                    stats.error = (
                        f"{stats.error + '; ' if stats.error else ''}run end not saved: {exc}"
                    )
                self.state(pipeline_name, source_name).last = stats
                self.state(pipeline_name, source_name).stop_reason = None
                self.state(pipeline_name, source_name).dropping = False
                paused = self.state(pipeline_name, source_name).paused
                final: SourceStatus = (
                    "paused"
                    if paused
                    else (
                        "failed"
                        if stats.status in ("failed", "partial")  # the error says where
                        else "cancelled"
                        if stats.status == "cancelled"
                        else "idle"
                    )
                )
                self.set_status(pipeline_name, source_name, final, stats.error or "")
                level = "ERROR" if stats.status in ("failed", "partial") else "INFO"
                self.log(
                    level,
                    f"run {stats.run_id} {stats.status}: {stats.fetched} fetched, "
                    f"{stats.loaded} loaded, {stats.duplicates} duplicates, "
                    f"{stats.failed} failed",
                    pipeline_name,
                    source_name,
                )
                self.emit(RunFinished(stats=stats))
            return stats

    # ---- schedules -------------------------------------------------------------------

    def start_schedules(self, *, first_delay: float = 1.0) -> None:
        """Run every enabled, scheduled source repeatedly until stop_schedules().

        Interval schedules fire within `first_delay` seconds, cron ones at their next time.
        Calling it again (after a reload) starts only the sources that have no loop yet.
        """
        self._scheduling = True
        self._first_delay = first_delay
        for pipeline in self.pipelines.values():
            for config in pipeline.sources:
                key = (pipeline.name, config.name)
                schedule = self.schedule_of(*key)
                if not config.enabled or schedule is None or key in self._schedules:
                    continue
                if is_streaming(config):  # kept open by the StreamKeeper instead
                    continue
                self._schedules[key] = asyncio.create_task(
                    self._schedule_loop(*key, schedule, random.random() * first_delay),
                    name=f"schedule {pipeline.name}/{config.name}",
                )

    async def stop_schedules(self) -> None:
        self._scheduling = False
        tasks = list(self._schedules.values()) + list(self._restarts)
        self._schedules.clear()
        self._restarts.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for state in self.states.values():
            state.next_run = None

    async def _schedule_loop(
        self, pipeline: str, source: str, schedule: Schedule, delay: float
    ) -> None:
        state = self.state(pipeline, source)
        now = self.clock.time()
        due = now + delay if schedule.interval is not None else schedule.next_after(now)
        while True:
            state.next_run = due
            await self.clock.sleep(due - self.clock.time())
            following = schedule.next_after(due)
            if state.paused:
                due = following
                continue
            if self.is_running(pipeline, source):
                self.log(
                    "INFO",
                    "scheduled run skipped: the previous run is still going",
                    pipeline,
                    source,
                )
                due = following
                continue
            state.next_run = None
            try:
                await self.run_source(pipeline, source, "schedule")
            except Exception as exc:  # keep the schedule alive whatever one run does
                self.log("ERROR", f"scheduled run crashed: {exc}", pipeline, source)
            due, skipped = following, 0
            while due <= self.clock.time():  # the run outlasted its slot(s): skip, never pile up
                due, skipped = schedule.next_after(due), skipped + 1
            if skipped:
                self.log(
                    "INFO",
                    f"{skipped} scheduled run(s) skipped: the previous run was still going",
                    pipeline,
                    source,
                )

    def stop_after_page(self, pipeline: str, source: str, reason: str) -> bool:
        """Ask a running run to stop once the page in hand is committed; it ends
        `cancelled` with `reason` as its error. False if the source is not running."""
        if not self.is_running(pipeline, source):
            return False
        self.state(pipeline, source).stop_reason = reason
        return True

    def drop(self, pipeline: str, source: str, reason: str) -> bool:
        """End a running run now, writing none of the pages it has not committed: its
        source's lease went to another daemon, which resumes from the committed cursor
        (keyed upserts load nothing twice). The run ends `cancelled` with `reason`.
        False if the source is not running."""
        task = self._running.get((pipeline, source))
        if task is None:
            return False
        state = self.state(pipeline, source)
        state.stop_reason, state.dropping = reason, True
        task.cancel()
        return True

    def stop_all(self, reason: str) -> None:
        """Stop every run after the page in hand, and end the runs still waiting for a
        slot before they fetch anything; all of them finish `cancelled` with `reason`."""
        self._stopping = reason
        for key in list(self._running):
            self.stop_after_page(*key, reason)

    def cancel_all(self) -> None:
        """Cancel every run now; pages not committed yet are fetched again next time."""
        for task in list(self._running.values()):
            task.cancel()

    async def drain(self, reason: str, timeout: float = 20.0) -> None:
        """Stop every running run after the page in hand; cancel what still runs after
        `timeout` seconds (its uncommitted pages are fetched again next time)."""
        tasks = list(self._running.values())
        for key in list(self._running):
            self.stop_after_page(*key, reason)
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=timeout)
            for task in late:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def reload(self, pipelines: Iterable[PipelineConfig]) -> ConfigReloaded:
        """Swap in new pipeline settings without a restart.

        New sources appear (and get a schedule loop if schedules are running); removed
        ones stop after their current page; changed ones stop after their current page
        and run again with the new settings. Cursors live in the store keyed by pipeline
        and source name, so a changed source carries on where it was.
        """

        def settings(config: PipelineConfig) -> dict[str, Any]:
            return {s.name: (replace(config, sources=[]), s) for s in config.sources}

        old = {(p, name): v for p, c in self.pipelines.items() for name, v in settings(c).items()}
        new_pipelines = {p.name: p for p in pipelines}
        new = {(p, name): v for p, c in new_pipelines.items() for name, v in settings(c).items()}
        added = sorted(new.keys() - old.keys())
        removed = sorted(old.keys() - new.keys())
        changed = sorted(k for k in old.keys() & new.keys() if old[k] != new[k])

        self.pipelines = new_pipelines
        for key in removed + changed:
            loop = self._schedules.pop(key, None)
            if loop is not None:
                loop.cancel()
            self.state(*key).next_run = None
        for key in removed:
            self.stop_after_page(*key, "source removed from the pipeline file")
        for key in changed:
            running = self._running.get(key)
            if self.stop_after_page(*key, "settings changed; restarting") and running is not None:
                trigger: Trigger = "schedule" if self._scheduling else "manual"
                task = asyncio.create_task(
                    self._restart(key, running, trigger), name=f"restart {key[0]}/{key[1]}"
                )
                self._restarts.add(task)
                task.add_done_callback(self._restarts.discard)
        if self._scheduling:
            self.start_schedules(first_delay=self._first_delay)
        event = ConfigReloaded(added=added, removed=removed, changed=changed)
        if added or removed or changed:
            names = ", ".join(
                f"{verb} {p}/{s}"
                for verb, keys in (("added", added), ("removed", removed), ("changed", changed))
                for p, s in keys
            )
            self.log("INFO", f"pipelines reloaded: {names}")
        self.emit(event)
        return event

    async def _restart(
        self, key: tuple[str, str], running: asyncio.Task[RunStats], trigger: Trigger
    ) -> None:
        await asyncio.gather(running, return_exceptions=True)
        if key[0] in self.pipelines and not self.state(*key).paused:
            try:
                await self.run_source(*key, trigger)
            except Exception as exc:
                self.log("ERROR", f"restart after a config change failed: {exc}", *key)

    # ---- failed records --------------------------------------------------------------

    async def retry_failed(self, ids: Iterable[int], trigger: Trigger = "manual") -> RetryOutcome:
        """Re-run failed records from their raw payloads through parse/clean/score/load."""
        outcome = RetryOutcome()
        ids = list(ids)
        # Group by source from the rows' heads; each payload is read only when its turn
        # comes, so retrying thousands of big pages holds one of them at a time.
        heads = await self.writer.call(lambda store: store.failed_heads(ids))
        by_source: dict[tuple[str, str], list[int]] = {}
        for record_id in ids:
            if record_id not in heads:
                outcome.still_failing[record_id] = "no such failed record"
            else:
                by_source.setdefault(heads[record_id], []).append(record_id)
        for (pipeline, source_name), record_ids in by_source.items():
            try:
                source = self.make_source(pipeline, source_name)
            except KeyError as exc:
                for record_id in record_ids:
                    outcome.still_failing[record_id] = str(exc.args[0])
                continue
            stats = await self.writer.call(
                lambda store, p=pipeline, s=source_name: store.start_run(p, s, trigger)
            )
            for record_id in record_ids:
                row = await self.writer.call(lambda store, i=record_id: store.failed_record(i))
                if row is None:  # deleted meanwhile (purge)
                    outcome.still_failing[record_id] = "no such failed record"
                    continue
                error = await self._retry_one(source, row, stats)
                del row
                if error is None:
                    outcome.resolved.append(record_id)
                else:
                    outcome.still_failing[record_id] = error
            stats.status = "ok"
            await self.writer.call(lambda store, st=stats: store.finish_run(st))
            self.emit(RunFinished(stats=stats))
        if outcome.resolved:
            await self.writer.call(lambda store: store.mark_failed(outcome.resolved, "resolved"))
        for record_id, error in outcome.still_failing.items():
            await self.writer.call(
                lambda store, i=record_id, e=error: store.mark_failed([i], "open", e)
            )
        self.log(
            "INFO",
            f"retry: {len(outcome.resolved)} resolved, {len(outcome.still_failing)} still failing",
        )
        return outcome

    async def _retry_one(
        self, source: Source, row: FailedRecordDetail, stats: RunStats
    ) -> str | None:
        """Returns None when the record now loads (or is a duplicate), else the new error."""
        context = json.loads(row.context or "{}")
        url = str(context.get("url") or "")
        ctx = SourceContext(
            http=self.http,
            log=lambda level, msg: self.log(level, msg, source.pipeline.name, source.config.name),
        )
        try:
            if row.stage == "fetch":
                page = await source.refetch(ctx, url)
            elif row.stage == "parse" and not context.get("record"):
                # A whole page that did not parse: read the stored body again (the
                # mapping may be fixed); if the body itself is not JSON, e.g. cut off
                # in transit, fetch its URL again.
                try:
                    page = source.reparse(row.payload or "", context)
                except json.JSONDecodeError:
                    if not url.startswith(("http://", "https://")):
                        raise
                    page = await source.refetch(ctx, url)
            else:
                page = Page(records=[parse_json(row.payload or "")])
        except (FetchError, ValueError, NotImplementedError) as exc:
            return f"retry failed at {row.stage}: {exc}"
        except Exception as exc:
            return f"retry failed at {row.stage}: {type(exc).__name__}: {exc}"
        if not page.records:
            if page.failures:
                return page.failures[0].error
            return f"retry found no records at {url or 'the stored payload'}"
        done = await transform(self, source, page.records, stats.run_id)
        # A page that now arrives and parses resolves its failure; records on it that
        # fail on their own become failed records of their own, as in a run. A single
        # record's retry resolves only if that record loads.
        whole_page = row.stage == "fetch" or (row.stage == "parse" and not context.get("record"))
        failures = page.failures + done.failures
        if failures and not whole_page:
            return failures[0].error
        for failure in failures:
            failure.context.setdefault("url", url)
        stats.fetched += len(page.records) + len(page.failures)
        await self.writer.write(PageWrite(stats, done.posts, failures))
        return None

    async def ignore_failed(self, ids: Iterable[int]) -> None:
        await self.writer.call(lambda store: store.mark_failed(list(ids), "ignored"))

    # ---- preview ---------------------------------------------------------------------

    async def preview(self, pipeline: str, source_name: str) -> Preview:
        """Fetch the first page and transform it, writing nothing."""
        source = self.make_source(pipeline, source_name)
        if missing := source.config.missing_env:  # as a run says it, not after the retries
            raise ValueError(
                f"environment variable(s) {', '.join(missing)} not set: "
                f"set them and reload the pipeline"
            )
        cursor = await self.writer.call(lambda store: store.cursor(pipeline, source_name))
        ctx = SourceContext(
            http=self.http,
            cursor=Backfill.from_stored(cursor).base,
            log=lambda level, msg: self.log(level, msg, pipeline, source_name),
        )
        pages = source.pages(ctx)
        try:
            page = await anext(pages)
        except StopAsyncIteration:
            return Preview(url="", raw=[], result=Transformed())
        finally:
            if isinstance(pages, AsyncGenerator):  # sources' pages() are async generators
                await pages.aclose()
        result = await transform(self, source, page.records, None)
        result.failures[:0] = page.failures
        return Preview(url=page.url, raw=page.records, result=result)
