"""One engine status, computed one way for the header and the Pipelines table.

The header once counted the engine's raw states while Pipelines derived each row's
status (paused wins, disabled when idle): with every source paused one said
"engine: 2 paused" and the other "engine idle". Both now read `source_status`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from sentitui.engine.heartbeat import DaemonLife, ago
from sentitui.engine.surface import SourceState
from sentitui.models import SourceStatus

RowStatus = SourceStatus | Literal["disabled"]  # what a source row says it is doing

SUMMARY_ORDER = ("running", "streaming", "backing_off", "failed", "paused")


def source_status(state: SourceState | None, enabled: bool = True) -> RowStatus:
    """What a source is doing, as the Pipelines table and the header say it."""
    status: RowStatus = state.status if state else "idle"
    if status == "idle" and not enabled:
        status = "disabled"
    if state is not None and state.paused:
        status = "paused"
    return status


def engine_summary(
    sources: Iterable[tuple[SourceState | None, bool]], daemon: DaemonLife | None = None
) -> tuple[str, str]:
    """The header's words about the engine and the colour of its dot. `sources` holds
    (state, enabled) per configured source; `daemon` is set when attached to one."""
    counts: dict[str, int] = {}
    scheduled = False
    for state, enabled in sources:
        status = source_status(state, enabled)
        counts[status] = counts.get(status, 0) + 1
        scheduled = scheduled or bool(state and state.next_run and not state.paused)
    prefix = ""
    if daemon is not None:
        if not daemon.alive:
            return f"attached · {daemon.describe()}", "red"
        prefix = f"attached · daemon {daemon.pid} beat {ago(daemon.age or 0.0)} ago · "
    parts = [f"{counts[s]} {s.replace('_', ' ')}" for s in SUMMARY_ORDER if counts.get(s)]
    if not parts:
        idle = "engine idle, schedules on" if scheduled else "engine idle"
        return prefix + idle, "green"
    style = (
        "red"
        if counts.get("failed")
        else "yellow"
        if counts.get("backing_off") or not (counts.get("running") or counts.get("streaming"))
        else "cyan"
    )
    return prefix + "engine: " + ", ".join(parts), style
