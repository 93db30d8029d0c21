"""What the console talks to: the `ConsoleEngine` protocol, and `EngineSurface`, the
events, source states and lookups its implementations share.

`Engine` (runs sources in this process) and `RemoteEngine` (drives a daemon through
the database) both implement `ConsoleEngine`, so the console cannot tell them apart.
A third implementation (daemons sharing PostgreSQL) implements the same protocol;
it need not build on `EngineSurface`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from sentitui.config import PipelineConfig
from sentitui.engine.heartbeat import DaemonLife
from sentitui.engine.runner import Transformed
from sentitui.engine.schedule import Schedule, parse_schedule
from sentitui.engine.writer import StoreThread
from sentitui.models import (
    EngineEvent,
    RunStats,
    SourceStateChanged,
    SourceStatus,
    Trigger,
)
from sentitui.sources.expiry import Expiry, expiry_of
from sentitui.store import Store

logger = logging.getLogger("sentitui")
Listener = Callable[[EngineEvent], None]
T = TypeVar("T")


@dataclass(slots=True)
class SourceState:
    status: SourceStatus = "idle"
    detail: str = ""
    paused: bool = False
    last: RunStats | None = None
    next_run: float | None = None  # epoch seconds of the next scheduled run
    stop_reason: str | None = None  # set: the running run stops after its current page
    dropping: bool = False  # set by Engine.drop: the run ends now, its pages in hand unwritten


@dataclass(slots=True)
class RetryOutcome:
    resolved: list[int] = field(default_factory=list)
    still_failing: dict[int, str] = field(default_factory=dict)
    # Sent to a daemon and not finished when the caller stopped waiting: where they are.
    pending: dict[int, str] = field(default_factory=dict)
    # Sent to a daemon that died, with no daemon left to take them: the caller's to retry.
    returned: list[int] = field(default_factory=list)


@dataclass(slots=True)
class Preview:
    """What one page of a source would become, without writing anything."""

    url: str
    raw: list[Any]
    result: Transformed


class ConsoleEngine(Protocol):
    """Everything the console (sentitui/tui) may ask of an engine, and nothing more.

    Reads are synchronous and cheap (in-memory state, kept current by events); anything
    that runs a source or touches the database is a coroutine, whether the work happens
    in this process or in a daemon.
    """

    pipelines: dict[str, PipelineConfig]  # the current ones: hot reload replaces them
    states: dict[tuple[str, str], SourceState]

    @property
    def attached(self) -> bool:
        """True when runs happen in another process (a daemon) and this one asks for them."""
        ...

    def daemon_life(self) -> DaemonLife | None:
        """The daemon an attached engine drives, from its heartbeat; None when the
        engine runs in this process."""
        ...

    def subscribe(self, listener: Listener) -> Callable[[], None]: ...
    def state(self, pipeline: str, source: str) -> SourceState: ...
    def pipeline(self, name: str) -> PipelineConfig: ...
    def log(self, level: str, message: str, pipeline: str = "", source: str = "") -> None: ...
    def is_running(self, pipeline: str, source: str) -> bool: ...
    def cancel(self, pipeline: str, source: str) -> bool: ...
    def pause(self, pipeline: str, source: str, paused: bool = True) -> None: ...
    def start_schedules(self) -> None: ...
    def credential_expiry(self, pipeline: str, source: str) -> Expiry | None:
        """When the source's credential runs out, if known (issue 16)."""
        ...

    async def start(self) -> None: ...
    async def close(self) -> None: ...
    async def run_source(
        self, pipeline: str, source: str, trigger: Trigger = "manual"
    ) -> RunStats: ...
    async def run_pipelines(
        self,
        names: Iterable[str] | None = None,
        *,
        source: str | None = None,
        trigger: Trigger = "cli",
    ) -> list[RunStats]: ...
    async def retry_failed(
        self, ids: Iterable[int], trigger: Trigger = "manual"
    ) -> RetryOutcome: ...
    async def ignore_failed(self, ids: Iterable[int]) -> None: ...
    async def preview(self, pipeline: str, source_name: str) -> Preview: ...

    async def read(self, fn: Callable[[Store], T]) -> T:
        """`fn(store)` on the engine's own database thread (reads see its writes)."""
        ...


class EngineSurface:
    """The events, source states and lookups `Engine` and `RemoteEngine` share."""

    attached = False
    writer: StoreThread

    def __init__(self, pipelines: dict[str, PipelineConfig]) -> None:
        self.pipelines = pipelines
        self.states: dict[tuple[str, str], SourceState] = {}
        self._listeners: list[Listener] = []

    async def read(self, fn: Callable[[Store], T]) -> T:
        """`fn(store)` on the engine's own database thread (reads see its writes)."""
        return await self.writer.call(fn)

    def daemon_life(self) -> DaemonLife | None:
        """None: the sources run in this process (`RemoteEngine` reads its daemon's)."""
        return None

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener(event)` on the engine's loop for every event; returns unsubscribe."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def emit(self, event: EngineEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                logger.exception("engine event listener failed")

    def state(self, pipeline: str, source: str) -> SourceState:
        return self.states.setdefault((pipeline, source), SourceState())

    def set_status(
        self, pipeline: str, source: str, status: SourceStatus, detail: str = ""
    ) -> None:
        state = self.state(pipeline, source)
        if (state.status, state.detail) == (status, detail):
            return
        state.status, state.detail = status, detail
        self.emit(
            SourceStateChanged(pipeline=pipeline, source=source, status=status, detail=detail)
        )

    def credential_expiry(self, pipeline: str, source: str) -> Expiry | None:
        """A configured `token_expires`, else the expiry of a token this process
        obtained for the source (a console attached to a daemon sees the former only)."""
        return expiry_of(pipeline, source, self.pipeline(pipeline).source(source).options)

    def pipeline(self, name: str) -> PipelineConfig:
        try:
            return self.pipelines[name]
        except KeyError:
            known = ", ".join(sorted(self.pipelines)) or "none"
            raise KeyError(f"no pipeline named {name!r} (known: {known})") from None

    def schedule_of(self, pipeline: str, source: str) -> Schedule | None:
        """A source's schedule: its own, else its pipeline's (None: manual pulls only)."""
        config = self.pipeline(pipeline)
        text = config.source(source).schedule or config.schedule
        return parse_schedule(text) if text else None
