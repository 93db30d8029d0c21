"""Schedules: when each source runs next in continuous mode.

A schedule is either an interval ("30s", "5m", "1h", "1d") or a cron expression
("*/15 * * * *", or six fields with seconds last, "* * * * * */10"), read in the
machine's local time zone. Both add a little jitter so sources that share a
schedule do not all fire in the same second.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import random
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from croniter import croniter

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
CRON_JITTER = 10.0  # at most this many seconds after a cron time (and ≤ 10% of its period)


class ScheduleError(ValueError):
    pass


def parse_interval(text: str) -> float:
    """'30s', '5m', '1h', '1d' -> seconds."""
    match = _INTERVAL.match(text or "")
    if not match:
        raise ScheduleError(f"schedule {text!r} is not an interval like '30s', '5m', '1h' or '1d'")
    seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise ScheduleError(f"schedule {text!r} must be longer than zero")
    return seconds


def jittered(interval: float, rng: random.Random = random._inst) -> float:  # type: ignore[attr-defined]
    """Spread runs by up to ±10% so sources sharing a schedule do not fire together."""
    return interval * (0.9 + 0.2 * rng.random())


@dataclass(frozen=True, slots=True)
class Schedule:
    """A parsed `schedule` value; `next_after(now)` is the epoch time of the next run."""

    text: str
    interval: float | None = None  # set for interval schedules
    cron: str | None = None  # set for cron schedules

    def next_after(self, now: float, rng: random.Random = random._inst) -> float:  # type: ignore[attr-defined]
        if self.interval is not None:
            return now + jittered(self.interval, rng)
        assert self.cron is not None
        # Local time, so "0 9 * * *" means nine o'clock where the daemon runs.
        it = croniter(self.cron, datetime.fromtimestamp(now).astimezone())
        due = it.get_next(float)
        period = it.get_next(float) - due
        # Jitter only after the cron time (never before it), and at most 10% of the
        # gap, so a run never slips into the next slot and counts stay exact.
        return due + rng.random() * min(CRON_JITTER, 0.1 * period)

    def __str__(self) -> str:
        return self.text


def parse_schedule(text: str) -> Schedule:
    """An interval or a cron expression -> Schedule; ScheduleError names what is wrong."""
    if _INTERVAL.match(text or ""):
        return Schedule(text, interval=parse_interval(text))
    fields = (text or "").split()
    if len(fields) in (5, 6) and croniter.is_valid(text):
        return Schedule(text, cron=" ".join(fields))
    if len(fields) in (5, 6):
        raise ScheduleError(f"schedule {text!r} is not a valid cron expression")
    raise ScheduleError(
        f"schedule {text!r} is neither an interval like '30s', '5m', '1h' "
        f"or '1d' nor a cron expression like '*/15 * * * *'"
    )


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

    def release(self) -> None:
        while self._waiters:
            _, _, future = heapq.heappop(self._waiters)
            if not future.done():
                future.set_result(None)
                return
        self._free += 1
