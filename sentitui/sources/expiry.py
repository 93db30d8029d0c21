"""What a source's credential is and when it expires, for Pipelines and `sentitui stats`
(a warning a week ahead). Apart from the token code in `credentials.py`, so reading
expiries imports no HTTP client: `stats` starts in a fraction of a second.

- Static long-lived tokens (Facebook/Instagram): `token_expires = "2027-01-31"` says
  when, so the console and `stats` can warn before the token dies.
- Tokens obtained by this process (Reddit, Bluesky) are noted here by `credentials.py`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

WARN_AHEAD = 7 * 86400.0  # a credential expiring within a week is a warning


def now() -> float:
    """The clock credentials are checked against (tests move it forward)."""
    return time.time()


@dataclass(frozen=True, slots=True)
class Expiry:
    """What a source's credential is and when it expires; `renews`: the source gets a
    new one by itself, so its expiry is no cause for alarm."""

    what: str
    expires_at: float | None
    renews: bool = False

    def describe(self, at: float | None = None) -> str:
        if self.expires_at is None:
            return f"{self.what}: no expiry known"
        when = datetime.fromtimestamp(self.expires_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
        left = self.expires_at - (now() if at is None else at)
        span = (
            "expired"
            if left <= 0
            else f"in {left / 86400:.0f} days"
            if left >= 2 * 86400
            else f"in {left / 3600:.1f} hours"
        )
        renew = ", renewed automatically" if self.renews else ""
        return f"{self.what} expires {when} ({span}{renew})"

    def warning(self, at: float | None = None) -> bool:
        """True when it expires within a week and nothing renews it."""
        if self.renews or self.expires_at is None:
            return False
        return self.expires_at - (now() if at is None else at) < WARN_AHEAD


_EXPIRIES: dict[tuple[str, str], Expiry] = {}  # (pipeline, source) -> obtained credential


def note_expiry(pipeline: str, source: str, expiry: Expiry) -> None:
    _EXPIRIES[(pipeline, source)] = expiry


def expiry_of(pipeline: str, source: str, options: dict[str, Any]) -> Expiry | None:
    """A source's credential expiry: a `token_expires` date from its settings, else
    what this process obtained for it (None when nothing is known)."""
    configured = options.get("token_expires")
    if isinstance(configured, str) and configured:
        try:
            when = parse_date(configured)
        except ValueError:
            return None
        return Expiry("token", when)
    return _EXPIRIES.get((pipeline, source))


def parse_date(text: str) -> float:
    """'2027-01-31' or an ISO 8601 time -> epoch seconds (a bare date: its midnight UTC)."""
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def expiries(pipelines: list[Any]) -> list[dict[str, Any]]:
    """Every source's known credential expiry (for `sentitui stats`), soonest first."""
    found = []
    for pipeline in pipelines:
        for source in pipeline.sources:
            expiry = expiry_of(pipeline.name, source.name, source.options)
            if expiry is not None:
                found.append(
                    {
                        "pipeline": pipeline.name,
                        "source": source.name,
                        "credential": expiry.describe(),
                        "expires_at": expiry.expires_at,
                        "warning": expiry.warning(),
                    }
                )
    return sorted(found, key=lambda e: e["expires_at"] or float("inf"))
