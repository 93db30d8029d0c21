"""Schedules: when each source runs next in continuous mode.

A schedule is either an interval ("30s", "5m", "1h", "1d") or a cron expression
("*/15 * * * *", or six fields with seconds last, "* * * * * */10"), read in the
machine's local time zone. Both add a little jitter so sources that share a
schedule do not all fire in the same second. Parsing lives in config (validation
names a bad schedule); engine/schedule.py has the clock and slots that run them.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import datetime

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


def _draw(rng: random.Random | None) -> float:
    return rng.random() if rng is not None else random.random()


def jittered(interval: float, rng: random.Random | None = None) -> float:
    """Spread runs by up to ±10% so sources sharing a schedule do not fire together."""
    return interval * (0.9 + 0.2 * _draw(rng))


@dataclass(frozen=True, slots=True)
class Schedule:
    """A parsed `schedule` value; `next_after(now)` is the epoch time of the next run."""

    text: str
    interval: float | None = None  # set for interval schedules
    cron: str | None = None  # set for cron schedules

    def next_after(self, now: float, rng: random.Random | None = None) -> float:
        if self.interval is not None:
            return now + jittered(self.interval, rng)
        assert self.cron is not None
        from croniter import croniter  # here: reading a config needs no cron parser

        # Local time, so "0 9 * * *" means nine o'clock where the daemon runs.
        it = croniter(self.cron, datetime.fromtimestamp(now).astimezone())
        due = it.get_next(float)
        period = it.get_next(float) - due
        # Jitter only after the cron time (never before it), and at most 10% of the
        # gap, so a run never slips into the next slot and counts stay exact.
        return due + _draw(rng) * min(CRON_JITTER, 0.1 * period)

    def __str__(self) -> str:
        return self.text


def _cron_valid(text: str) -> bool:
    from croniter import croniter  # imported only for a cron-like schedule

    return bool(croniter.is_valid(text))


def parse_schedule(text: str) -> Schedule:
    """An interval or a cron expression -> Schedule; ScheduleError names what is wrong."""
    if _INTERVAL.match(text or ""):
        return Schedule(text, interval=parse_interval(text))
    fields = (text or "").split()
    if len(fields) in (5, 6) and _cron_valid(text):
        return Schedule(text, cron=" ".join(fields))
    if len(fields) in (5, 6):
        raise ScheduleError(f"schedule {text!r} is not a valid cron expression")
    raise ScheduleError(
        f"schedule {text!r} is neither an interval like '30s', '5m', '1h' "
        f"or '1d' nor a cron expression like '*/15 * * * *'"
    )
