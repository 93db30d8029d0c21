"""Running schedules: wall time that tests can fake, and run slots where manual pulls
go first. Parsing a `schedule` value is config's job (config/schedule.py)."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
from collections.abc import AsyncIterator

from sentitui.config.schedule import (
    CRON_JITTER,
    Schedule,
    ScheduleError,
    jittered,
    parse_interval,
    parse_schedule,
)

__all__ = [
    "CRON_JITTER",
    "Clock",
    "PrioritySlots",
    "Schedule",
    "ScheduleError",
    "jittered",
    "parse_interval",
    "parse_schedule",
]


class Clock:
    """Wall time and sleeping; tests pass a fake one to run hours of schedule in a blink."""

    def time(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class PrioritySlots:
    """A semaphore whose urgent waiters (manual pulls) go before the others (scheduled
    runs), so a pull someone asked for never queues behind routine work."""

    def __init__(self, slots: int) -> None:
        self._free = slots
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    async def acquire(self, urgent: bool = False) -> None:
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (0 if urgent else 1, next(self._order), future))
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()  # we were handed a slot just as we were cancelled
            raise

    @property
    def busy(self) -> bool:
        """Whether a run asking now would have to wait."""
        return self._free <= 0 or bool(self._waiters)

    @contextlib.asynccontextmanager
    async def hold(self, urgent: bool = False) -> AsyncIterator[None]:
        await self.acquire(urgent)
        try:
            yield
        finally:
            self.release()

    @property
    def waiting(self) -> int:
        """How many acquirers are queued for a slot."""
        return sum(not future.done() for _, _, future in self._waiters)

    def release(self) -> None:
        while self._waiters:
            _, _, future = heapq.heappop(self._waiters)
            if not future.done():
                future.set_result(None)
                return
        self._free += 1
