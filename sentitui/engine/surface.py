"""What every engine front ends talk to has in common: events, source states, lookups.

`Engine` (runs sources in this process) and `RemoteEngine` (drives a daemon through
the database) both build on this, so the console cannot tell them apart.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sentitui.config import PipelineConfig
from sentitui.engine.schedule import Schedule, parse_schedule
from sentitui.models import EngineEvent, RunStats, SourceStateChanged, SourceStatus

logger = logging.getLogger("sentitui")
Listener = Callable[[EngineEvent], None]


@dataclass(slots=True)
class SourceState:
    status: SourceStatus = "idle"
    detail: str = ""
    paused: bool = False
    last: RunStats | None = None
    next_run: float | None = None  # epoch seconds of the next scheduled run
    stop_reason: str | None = None  # set: the running run stops after its current page


class EngineSurface:
    def __init__(self, pipelines: dict[str, PipelineConfig]) -> None:
        self.pipelines = pipelines
        self.states: dict[tuple[str, str], SourceState] = {}
        self._listeners: list[Listener] = []

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
