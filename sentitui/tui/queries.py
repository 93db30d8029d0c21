"""What each screen asks the database, as plain functions of a `Store`.

They run in thread workers (one `Store` opened per call, closed after), return
plain dataclasses, and never touch a widget; the screens draw the result on the
UI thread. Keeping them free of Textual makes them easy to test and reuse.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sentitui.store import Store, iso, top_complaints_of

T = TypeVar("T")

# Chart windows, in the order the `w` key cycles through them.
WINDOWS = ("all", "day", "hour")
WINDOW_SECONDS = {"hour": 3600, "day": 86400}
NICE_BUCKETS = (60, 300, 600, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 7 * 86400)
TARGET_POINTS = 60


def with_store(db_path: str | Path, fn: Callable[[Store], T]) -> T:
    """Open a reader on the engine's database, run `fn`, close it."""
    store = Store(db_path, migrate=False)
    try:
        return fn(store)
    finally:
        store.close()


def epoch(stamp: str) -> float:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


def bucket_for(span: float) -> int:
    """The smallest round bucket that gives at most ~TARGET_POINTS points over `span`."""
    for size in NICE_BUCKETS:
        if span / size <= TARGET_POINTS:
            return size
    return NICE_BUCKETS[-1]


@dataclass(slots=True)
class DashboardData:
    totals: dict[str, Any]
    per_minute: float
    by_source: list[dict[str, Any]]
    feedback: dict[str, int]
    segment_keys: list[str]
    segment_key: str | None
    segments: list[dict[str, Any]]
    series: dict[str, list[tuple[float, float]]]
    x_range: tuple[float, float] | None
    window: str
    bucket_seconds: int
    # Insight panels: per competitor mentioned (Store.competitor_summary) and per
    # aspect, overall and per value of `segment_key` (Store.aspect_summary).
    competitors: list[dict[str, Any]] = field(default_factory=list)
    aspects: list[dict[str, Any]] = field(default_factory=list)
    aspects_by_segment: list[dict[str, Any]] = field(default_factory=list)
    top_complaints: dict[Any, str] = field(default_factory=dict)  # segment value -> aspect


def load_dashboard(
    store: Store, window: str, segment_key: str | None, now: float | None = None
) -> DashboardData:
    now = time.time() if now is None else now
    keys = store.segment_keys()
    if segment_key not in keys:
        segment_key = keys[0] if keys else None
    if window in WINDOW_SECONDS:
        seconds = WINDOW_SECONDS[window]
        bucket = bucket_for(seconds)
        since: str | None = iso(now - seconds)
        x_range: tuple[float, float] | None = (now - seconds, now)
    else:
        first, last = store.post_time_range()
        since = None
        if first is None or last is None:
            bucket, x_range = 3600, None
        else:
            start, end = epoch(first), epoch(last)
            bucket = bucket_for(max(end - start, 60))
            x_range = (start // bucket * bucket, (end // bucket + 1) * bucket)
    by_segment = store.aspect_summary(segment_key) if segment_key else []
    series: dict[str, list[tuple[float, float]]] = {}
    for row in store.sentiment_over_time(bucket, since):
        middle = epoch(row["bucket"]) + bucket / 2
        series.setdefault(row["source"], []).append((middle, row["avg_polarity"] or 0.0))
    return DashboardData(
        totals=store.totals(),
        per_minute=store.posts_per_minute(),
        by_source=store.totals_by_source(),
        feedback=store.feedback_split(),
        segment_keys=keys,
        segment_key=segment_key,
        segments=store.segment_breakdown(segment_key)[:12] if segment_key else [],
        series=series,
        x_range=x_range,
        window=window,
        bucket_seconds=bucket,
        competitors=store.competitor_summary(),
        aspects=store.aspect_summary(),
        aspects_by_segment=by_segment,
        top_complaints=top_complaints_of(by_segment),
    )


@dataclass(slots=True)
class Window:
    """One page of a table: its rows and how many rows match in all."""

    rows: list[dict[str, Any]]
    total: int
    offset: int


@dataclass(slots=True)
class FailedFilter:
    status: str | None = "open"
    source: str | None = None
    stage: str | None = None
    search: str | None = None

    def kwargs(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "source": self.source,
            "stage": self.stage,
            "search": self.search or None,
        }


class PageKeys:
    """Where each page of a listing starts, learned as the pages are read. The next
    page is then asked for by key (the previous page's last row), not by OFFSET, so
    paging deep into millions of rows reads one page; an offset never reached page by
    page (a jump) falls back to OFFSET. Bounded: old scopes are forgotten first.
    Queries run in thread workers, hence the lock."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._keys: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, scope: tuple[Any, ...], offset: int) -> Any:
        with self._lock:
            return self._keys.get((*scope, offset))

    def remember(self, scope: tuple[Any, ...], offset: int, key: Any) -> None:
        with self._lock:
            self._keys[(*scope, offset)] = key
            self._keys.move_to_end((*scope, offset))
            while len(self._keys) > self.size:
                self._keys.popitem(last=False)


_FAILED_KEYS = PageKeys()
_POST_KEYS = PageKeys()


def load_failed(store: Store, filters: FailedFilter, limit: int, offset: int) -> Window:
    kwargs = filters.kwargs()
    scope = (str(store.path), tuple(sorted(kwargs.items())), limit)
    before_id = _FAILED_KEYS.get(scope, offset) if offset else None
    rows = store.failed_records(**kwargs, limit=limit, offset=offset, before_id=before_id)
    if len(rows) == limit:
        _FAILED_KEYS.remember(scope, offset + limit, rows[-1]["id"])
    return Window(rows, store.count_failed(**kwargs), offset)


def failed_ids(store: Store, filters: FailedFilter, cap: int = 10_000) -> list[int]:
    """Every id the filter matches (for "retry all shown"), newest first, at most `cap`."""
    return [r["id"] for r in store.failed_records(**filters.kwargs(), limit=cap)]


@dataclass(slots=True)
class PostFilter:
    query: str | None = None
    source: str | None = None
    label: str | None = None
    feedback: str | None = None

    def kwargs(self) -> dict[str, Any]:
        return {"source": self.source, "label": self.label, "feedback": self.feedback}


def load_posts(store: Store, filters: PostFilter, limit: int, offset: int) -> Window:
    query = filters.query or None
    scope = (str(store.path), query, tuple(sorted(filters.kwargs().items())), limit)
    before = _POST_KEYS.get(scope, offset) if offset else None
    rows = store.search_posts(query, **filters.kwargs(), limit=limit, offset=offset, before=before)
    if len(rows) == limit:
        _POST_KEYS.remember(scope, offset + limit, (rows[-1]["created_at"], rows[-1]["id"]))
    return Window(rows, store.count_search_posts(query, **filters.kwargs()), offset)


@dataclass(slots=True)
class PipelinesData:
    last_runs: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    recent: list[dict[str, Any]] = field(default_factory=list)  # newest runs first


def load_pipelines(store: Store, recent: int = 50) -> PipelinesData:
    return PipelinesData(store.last_runs(), store.runs(limit=recent))
