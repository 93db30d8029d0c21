"""Streams in continuous mode: the StreamRunner that turns a source's endless pages
into small committed batches, and the StreamKeeper that keeps one running per source.

Batching: events gather for at most FLUSH_AFTER seconds or BATCH_RECORDS records,
then go through the same transform as paged runs and are written in one transaction
together with the cursor of the last event in the batch (so a crash loses no
committed cursor and replays only what was not committed). A batch of cursor moves
alone (Jetstream events the filters dropped) is committed at most every CURSOR_AFTER
seconds. Pausing or stopping the source takes effect within one TICK.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sentitui.engine.resume import Backfill
from sentitui.engine.runner import Runner, transform
from sentitui.engine.waiting import wait_event
from sentitui.models import (
    ConfigReloaded,
    EngineEvent,
    FailedRecord,
    Page,
    RunProgress,
    RunStats,
    SourceStateChanged,
    StreamStats,
)
from sentitui.net.http import AuthError, FetchError
from sentitui.sources.base import SourceConfigError, SourceContext
from sentitui.store import PageWrite, StoreError

if TYPE_CHECKING:
    from sentitui.engine.engine import Engine

FLUSH_AFTER = 0.5  # seconds an event waits at most before its batch commits
BATCH_RECORDS = 200  # records that commit a batch at once
CURSOR_AFTER = 5.0  # seconds between commits of cursor moves alone
TICK = 0.25  # seconds between looks at pause/stop while nothing arrives
RATE_WINDOW = 10.0  # seconds over which events/s is measured
STATUS_EVERY = 1.0  # seconds between updates of the events/s line
QUEUE_EVENTS = 1000  # pages the socket reader may run ahead of the writer
END = object()


@dataclass(slots=True)
class Batch:
    records: list[Any] = field(default_factory=list)
    failures: list[FailedRecord] = field(default_factory=list)
    cursor: dict[str, Any] | None = None
    url: str = ""
    since: float | None = None  # monotonic time of the first page in the batch

    def add(self, page: Page) -> None:
        if self.since is None:
            self.since = time.monotonic()
        self.records += page.records
        self.failures += page.failures
        if page.cursor is not None:
            self.cursor = dict(page.cursor)
        self.url = page.url or self.url

    @property
    def empty(self) -> bool:
        return self.since is None

    def due(self) -> bool:
        if self.since is None:
            return False
        waited = time.monotonic() - self.since
        if self.records or self.failures:
            return waited >= FLUSH_AFTER or len(self.records) >= BATCH_RECORDS
        return waited >= CURSOR_AFTER


def lag_of(cursor: dict[str, Any] | None, created: list[str | None]) -> float | None:
    """Seconds between now and the newest event committed: its Jetstream `time_us`,
    else the newest post's creation time."""
    now = time.time()
    time_us = cursor.get("time_us") if cursor else None
    if isinstance(time_us, int):
        return max(0.0, now - time_us / 1_000_000)
    times = []
    for text in created:
        try:
            times.append(datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp())
        except ValueError:
            continue
    return max(0.0, now - max(times)) if times else None


class StreamRunner(Runner):
    """Runs a stream source until it is paused, stopped, or fails for good."""

    async def run(self) -> RunStats:
        stats = self.stats
        source: Any = self.source
        stored = await self.engine.writer.call(lambda store: store.cursor(self.pipeline, self.name))
        # A stream back-fills forward from the polling cursor on every connect, which
        # covers what an unfinished paged back-fill (engine/resume.py) still owed.
        cursor = Backfill.from_stored(stored).base
        self.cursor: dict[str, Any] = dict(cursor)
        ctx = SourceContext(
            http=self.engine.http, cursor=dict(cursor), log=self.log, set_status=self.set_status
        )
        queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=QUEUE_EVENTS)
        self.arrivals: deque[tuple[float, int]] = deque()
        self.last_event: float | None = None
        self.lag: float | None = None  # seconds between now and the newest committed event
        self._status_at = 0.0
        producer = asyncio.create_task(self._produce(source, ctx, queue))
        batch = Batch()
        fail_after = float(source.config.options.get("fail_after", 300.0))
        down_since: float | None = None  # while the source waits to reconnect
        try:
            while True:
                timeout = TICK if batch.empty else max(0.0, FLUSH_AFTER - self._waited(batch))
                try:
                    async with asyncio.timeout(min(timeout, TICK)):  # not wait_for: waiting.py
                        item = await queue.get()
                except TimeoutError:
                    item = None
                if isinstance(item, Page):
                    batch.add(item)
                    self._arrived(len(item.records) + len(item.failures))
                if batch.due() or item is END or isinstance(item, BaseException):
                    batch = await self._commit(batch, ctx)
                if item is END:
                    stats.status, stats.error = "ok", None
                    break
                if isinstance(item, BaseException):
                    raise item
                state = self.engine.state(self.pipeline, self.name)
                if state.stop_reason or state.paused:
                    await self._commit(batch, ctx)
                    stats.status = "cancelled"
                    stats.error = state.stop_reason or "paused"
                    break
                if state.status != "backing_off":
                    down_since = None
                elif down_since is None:
                    down_since = time.monotonic()
                elif time.monotonic() - down_since > fail_after:
                    # An outage shows in the runs table (and alerts) as failed runs.
                    await self._commit(batch, ctx)
                    stats.status = "failed"
                    stats.error = f"disconnected for over {fail_after:g}s: {state.detail}"
                    self.log("ERROR", f"stream failed: {stats.error}")
                    break
                self._show_rate()
        except AuthError as exc:
            await self._fail_fetch(exc)
            self.log("ERROR", f"authentication failed: {exc} — set the source's token and retry")
        except FetchError as exc:
            await self._fail_fetch(exc)
            self.log("ERROR", f"stream failed: {exc} ({exc.url})")
        except SourceConfigError as exc:  # the user's to fix: the message, no traceback
            stats.status, stats.error = "failed", str(exc)
            self.log("ERROR", f"configuration error: {exc}")
        except asyncio.CancelledError:  # the batch in hand is not written (Engine.drop too)
            state = self.engine.state(self.pipeline, self.name)
            stats.status = "cancelled"
            stats.error = state.stop_reason if state.dropping else "cancelled"
            raise
        except Exception as exc:
            stats.status = "failed"
            stats.error = f"{type(exc).__name__}: {exc}"
            stats.store_failed = isinstance(exc, StoreError | sqlite3.Error)
            self.log("ERROR", f"stream failed: {stats.error}\n{traceback.format_exc(limit=5)}")
        finally:
            producer.cancel()
            await asyncio.gather(producer, return_exceptions=True)
        return stats

    @staticmethod
    def _waited(batch: Batch) -> float:
        return 0.0 if batch.since is None else time.monotonic() - batch.since

    async def _produce(self, source: Any, ctx: SourceContext, queue: asyncio.Queue[Any]) -> None:
        """Read the source's stream into the queue; its end or error goes in last."""
        try:
            async for page in source.stream(ctx):
                await queue.put(page)
            await queue.put(END)
        except Exception as exc:
            await queue.put(exc)

    async def _commit(self, batch: Batch, ctx: SourceContext) -> Batch:
        """Transform and write one batch with its cursor; returns a fresh batch."""
        if batch.empty:
            return batch
        stats = self.stats
        stats.fetched += len(batch.records) + len(batch.failures)
        stats.pages += 1
        done = await transform(self.engine, self.source, batch.records, stats.run_id)
        failures = batch.failures + done.failures
        for failure in failures:
            failure.context.setdefault("url", batch.url)
        new_cursor = None
        if batch.cursor is not None:
            self.cursor = new_cursor = {**self.cursor, **batch.cursor}
        try:
            advanced = self.source.next_cursor(self.cursor, done.fields)
        except Exception as exc:  # one odd value must not wedge the stream: keep the cursor
            self.log("ERROR", f"cursor not advanced on this batch: {type(exc).__name__}: {exc}")
            advanced = None
        if advanced is not None:
            self.cursor = new_cursor = advanced
        await self.engine.writer.write(PageWrite(stats, done.posts, failures, new_cursor))
        self.lag = lag_of(batch.cursor, [p.created_at for p in done.posts]) or self.lag
        if new_cursor is not None:  # back-fills after a reconnect start from here
            ctx.cursor.clear()
            ctx.cursor.update(new_cursor)
        if failures:
            self.log(
                "WARNING",
                f"{len(failures)} stream event(s) failed: {failures[0].error[:200]}",
            )
        if batch.records or failures:
            self.engine.emit(RunProgress.of(stats))
        return Batch()

    def _arrived(self, count: int) -> None:
        if count:
            now = time.time()
            self.last_event = now
            self.arrivals.append((now, count))

    def events_per_second(self) -> float:
        cutoff = time.time() - RATE_WINDOW
        while self.arrivals and self.arrivals[0][0] < cutoff:
            self.arrivals.popleft()
        return sum(count for _, count in self.arrivals) / RATE_WINDOW

    def _show_rate(self) -> None:
        """While connected, the source's detail reads "2.4 events/s · last event 14:03:05"."""
        now = time.monotonic()
        state = self.engine.state(self.pipeline, self.name)
        if state.status != "streaming" or now - self._status_at < STATUS_EVERY:
            return
        self._status_at = now
        rate = self.events_per_second()
        self.engine.emit(
            StreamStats(
                pipeline=self.pipeline,
                source=self.name,
                events_per_second=rate,
                last_event_at=self.last_event,
                lag=self.lag,
            )
        )
        last = (
            datetime.fromtimestamp(self.last_event).strftime("%H:%M:%S")
            if self.last_event is not None
            else "none yet"
        )
        self.set_status("streaming", f"{rate:.1f} events/s · last event {last}")


class StreamKeeper:
    """Keeps one stream run going for each enabled streaming source in continuous mode:
    starts it, restarts it after a failure (with growing waits), stops it while the
    source is paused and starts it again on resume; follows config reloads."""

    RESTART_FIRST = 2.0
    RESTART_MAX = 300.0

    def __init__(self, engine: Engine, streams: Callable[[Any], bool]) -> None:
        self.engine = engine
        self.streams = streams  # SourceConfig -> does it stream?
        self._tasks: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._wake: dict[tuple[str, str], asyncio.Event] = {}
        self._unsubscribe: Callable[[], None] | None = None

    def streaming(self) -> list[tuple[str, str]]:
        return [
            (p.name, s.name)
            for p in self.engine.pipelines.values()
            for s in p.sources
            if s.enabled and self.streams(s)
        ]

    async def start(self) -> None:
        self._unsubscribe = self.engine.subscribe(self._on_event)
        self.refresh()

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def refresh(self) -> None:
        wanted = set(self.streaming())
        for key in list(self._tasks):
            if key not in wanted:
                self._tasks.pop(key).cancel()
        for key in wanted:
            if key not in self._tasks or self._tasks[key].done():
                self._wake[key] = asyncio.Event()
                self._tasks[key] = asyncio.create_task(
                    self._keep(key), name=f"stream {key[0]}/{key[1]}"
                )

    def _on_event(self, event: EngineEvent) -> None:
        if isinstance(event, ConfigReloaded):
            self.refresh()
        elif isinstance(event, SourceStateChanged):
            wake = self._wake.get((event.pipeline, event.source))
            if wake is not None:
                wake.set()

    async def _keep(self, key: tuple[str, str]) -> None:
        delay = self.RESTART_FIRST
        wake = self._wake[key]
        while key[0] in self.engine.pipelines:
            state = self.engine.state(*key)
            if state.paused:
                wake.clear()
                await wake.wait()
                continue
            started = time.monotonic()
            try:
                stats = await self.engine.run_source(*key, "watch")
            except Exception as exc:
                self.engine.log("ERROR", f"stream crashed: {exc}", *key)
                stats = None
            if self.engine.state(*key).paused:
                continue
            if time.monotonic() - started > self.RESTART_MAX:
                delay = self.RESTART_FIRST  # it ran a good while: start over from short waits
            if stats is None or stats.status != "cancelled":
                self.engine.log("WARNING", f"stream ended; starting it again in {delay:.0f}s", *key)
            # A cancelled stream (shutdown, config change) is started again after a short
            # wait too: a shutdown stops this keeper first; a config change restarts it.
            wake.clear()
            await wait_event(wake, delay)
            if stats is None or stats.status != "cancelled":
                delay = min(delay * 2, self.RESTART_MAX)
