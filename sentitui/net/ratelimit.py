"""Reading the services' rate-limit headers: may the next request go now, or when?

Pure functions of (headers, now), so each service's quirks are tested without a
server. The shared HTTP client calls `next_allowed()` after every response and
waits before the next request to the same host when the budget is spent.

The services disagree on what "reset" means, which is why `RateLimitRules.reset`
exists:
- X (`x-rate-limit-reset`) and Bluesky (`ratelimit-reset`): epoch seconds;
- Reddit (`x-ratelimit-reset`): seconds until the window resets;
- Mastodon (`x-ratelimit-reset`): an ISO 8601 time;
- Facebook and Instagram give no counter at all, but percentages of quota used
  (`X-App-Usage`, `X-Business-Use-Case-Usage`, `X-Page-Usage`); above
  `usage_threshold` the source pauses, for `estimated_time_to_regain_access`
  minutes when the header gives it, else `usage_pause` seconds.
"auto" guesses per value: a time string is ISO 8601, a number above 10⁹ is epoch
seconds, a smaller one is a delay.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

ResetStyle = Literal["auto", "epoch", "delta", "iso"]

# Header families, in the order they are tried: (remaining, reset).
FAMILIES = (
    ("x-rate-limit-remaining", "x-rate-limit-reset"),  # X / Twitter
    ("x-ratelimit-remaining", "x-ratelimit-reset"),  # Mastodon, Reddit, GitHub-style
    ("ratelimit-remaining", "ratelimit-reset"),  # Bluesky, IETF draft
)
GRAPH_USAGE_HEADERS = ("x-app-usage", "x-page-usage", "x-business-use-case-usage")
GRAPH_USAGE_FIELDS = ("call_count", "total_cputime", "total_time")
EPOCH_THRESHOLD = 1e9  # 2001-09-09: larger reset values are timestamps, not delays
NO_RESET_PAUSE = 60.0  # budget spent but no reset given: wait a minute


@dataclass(frozen=True, slots=True)
class RateLimitRules:
    """How one service states its budget; presets set one as a class attribute."""

    reset: ResetStyle = "auto"
    usage_threshold: float = 90.0  # percent of a Graph API quota
    usage_pause: float = 60.0  # seconds to pause above it when no regain time is given


DEFAULT_RULES = RateLimitRules()


@dataclass(frozen=True, slots=True)
class Wait:
    """The next request must not go before `until` (epoch seconds); `reason` says why."""

    until: float
    reason: str

    def delay(self, now: float | None = None) -> float:
        return max(0.0, self.until - (time.time() if now is None else now))


def clock(epoch: float) -> str:
    """Local wall-clock time, as the console shows it: "14:03:10"."""
    return time.strftime("%H:%M:%S", time.localtime(epoch))


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:  # plain dicts (tests, recordings) are case-sensitive
        for key, candidate in headers.items():
            if key.lower() == name:
                return candidate
    return value


def parse_reset(value: str, now: float, style: ResetStyle = "auto") -> float | None:
    """A reset header value -> epoch seconds, or None when it cannot be read."""
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        number = None
    if number is not None and not math.isfinite(number):
        return None
    if style == "iso" or (style == "auto" and number is None):
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    if number is None:
        return None
    if style == "epoch" or (style == "auto" and number > EPOCH_THRESHOLD):
        return number
    return now + max(0.0, number)


def counter_wait(headers: Mapping[str, str], now: float, style: ResetStyle = "auto") -> Wait | None:
    """Wait until the reset when a `*-remaining` header says the budget is spent."""
    for remaining_name, reset_name in FAMILIES:
        remaining = _header(headers, remaining_name)
        if remaining is None:
            continue
        try:
            left = float(remaining)
        except ValueError:
            continue
        if left >= 1:  # Reddit sends fractions ("0.0"): under one request left is none
            return None
        reset = _header(headers, reset_name)
        until = parse_reset(reset, now, style) if reset else None
        if until is None:
            until = now + NO_RESET_PAUSE
        return Wait(until, f"rate-limited until {clock(until)}")
    return None


def graph_usage(headers: Mapping[str, str]) -> tuple[float, float]:
    """Highest percentage of any Graph API quota used, and the longest
    `estimated_time_to_regain_access` in minutes (0 when none is given)."""
    worst, regain = 0.0, 0.0
    for name in GRAPH_USAGE_HEADERS:
        raw = _header(headers, name)
        if not raw:
            continue
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        # X-App-Usage is one object; X-Business-Use-Case-Usage maps ids to lists of them.
        entries = (
            [data]
            if name != "x-business-use-case-usage"
            else [
                entry
                for group in (data.values() if isinstance(data, dict) else [])
                for entry in (group if isinstance(group, list) else [])
            ]
        )
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            for key in GRAPH_USAGE_FIELDS:
                try:
                    worst = max(worst, float(entry.get(key) or 0))
                except (TypeError, ValueError):
                    pass
            try:
                regain = max(regain, float(entry.get("estimated_time_to_regain_access") or 0))
            except (TypeError, ValueError):
                pass
    return worst, regain


def usage_wait(
    headers: Mapping[str, str], now: float, rules: RateLimitRules = DEFAULT_RULES
) -> Wait | None:
    """Slow down before Facebook refuses: pause when any quota is above the threshold."""
    used, regain_minutes = graph_usage(headers)
    if used <= rules.usage_threshold and regain_minutes <= 0:
        return None
    pause = regain_minutes * 60 if regain_minutes > 0 else rules.usage_pause
    until = now + pause
    return Wait(until, f"rate-limited until {clock(until)} ({used:.0f}% of the API quota used)")


def next_allowed(
    headers: Mapping[str, str], now: float | None = None, rules: RateLimitRules = DEFAULT_RULES
) -> Wait | None:
    """When the next request to this host may go, judged from one response's headers;
    None when the budget allows it now."""
    now = time.time() if now is None else now
    waits = [
        w
        for w in (counter_wait(headers, now, rules.reset), usage_wait(headers, now, rules))
        if w is not None and w.until > now
    ]
    return max(waits, key=lambda w: w.until) if waits else None
