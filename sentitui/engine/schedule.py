"""Schedules: when each source runs next in continuous mode."""

from __future__ import annotations

import random
import re

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")


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
