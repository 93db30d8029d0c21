"""Bounded waits, done one way across the engine.

Python 3.11's `asyncio.wait_for` returns the awaited result when a cancel arrives in
the same turns of the loop as that result (CPython gh-86296, fixed in 3.12): a loop
around it then never stops, and whoever awaits the cancelled task waits forever. That
is how `sentitui failed retry` once hung after its daemon had answered: the attached
engine's poll loop, woken by a NOTIFY as close() cancelled it, went on polling and
close() never returned. `asyncio.timeout` has no such window, so every bounded wait in
sentitui goes through it (ruff bans `asyncio.wait_for` there, see pyproject.toml).
"""

from __future__ import annotations

import asyncio


async def wait_event(event: asyncio.Event, timeout: float) -> bool:
    """True once `event` is set, False after `timeout` seconds; a cancel always cancels."""
    try:
        async with asyncio.timeout(max(0.0, timeout)):
            await event.wait()
    except TimeoutError:
        return False
    return True
