"""`sentitui failed retry` where daemons may hold the sources: routing and the bound.

A record whose source a live daemon holds (its lease) goes to that daemon as one
`retry` command per source, as a pull would; the rest are retried here. The wait for
the daemons ends at `--wait` seconds: a command no daemon has claimed by then is
withdrawn (nothing happens behind the caller's back after it has reported), one a
daemon is carrying out is left to finish there; both are reported as pending, with
the daemon, and the exit status is 1. A daemon that dies with a command goes to the
next holder while one is alive, else its records are retried here.
"""

from __future__ import annotations

import time
from typing import Any

from sentitui.config import PipelineConfig
from sentitui.engine.surface import RetryOutcome


async def retry(
    store: Any, db_path: str, pipelines: list[PipelineConfig], ids: list[int], wait: float
) -> RetryOutcome:
    """Retry `ids`; `store` (closed here) is the one the command opened to check --db."""
    from sentitui.engine.engine import Engine
    from sentitui.engine.remote import RemoteEngine
    from sentitui.store import fleet

    deadline = time.monotonic() + wait
    try:
        heads = store.failed_heads(ids)
        held = {h for h in set(heads.values()) if fleet.live_holder(store, *h) is not None}
    finally:
        store.close()
    remote = [i for i in ids if heads.get(i) in held]
    local = [i for i in ids if heads.get(i) not in held]
    outcome = RetryOutcome()
    if remote:
        async with RemoteEngine(db_path, pipelines) as daemons:
            outcome = await daemons.retry_failed(remote, trigger="cli", deadline=deadline)
        local += outcome.returned  # their daemon died and none is left to take them
        outcome.returned = []
    if local:
        async with Engine(db_path, pipelines, score_workers=0) as engine:
            here = await engine.retry_failed(local, trigger="cli")
        outcome.resolved.extend(here.resolved)
        outcome.still_failing.update(here.still_failing)
    return outcome
