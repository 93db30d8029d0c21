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
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from sentitui.store import Store, iso, top_complaints_of
from sentitui.store.rows import (
    AspectRow,
    CompetitorRow,
    FailedRecordRow,
    PostRow,
    RatingAgreement,
    RunRow,
    SegmentRow,
    SentimentPoint,
    SourceTotals,
    Totals,
)

T = TypeVar("T")

# Chart windows, in the order the `w` key cycles through them.
WINDOWS = ("all", "day", "hour")
WINDOW_SECONDS = {"hour": 3600, "day": 86400}
NICE_BUCKETS = (60, 300, 600, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 7 * 86400)
TARGET_POINTS = 60
RATE_MINUTES = 5  # the dashboard's "per min" averages the posts fetched in this window


def with_store(db_path: str | Path, fn: Callable[[Store], T]) -> T:
    """Open a reader on the engine's database, run `fn`, close it."""
    store = Store(db_path, migrate=False)
    try:
        return fn(store)
    finally:
        store.close()


class NotMigrated(Exception):
    """A read ahead met a database the engine's start has not created or migrated yet."""


def read_ahead(db_path: str | Path, fn: Callable[[Store], T]) -> Future[T]:
    """Start `with_store(db_path, fn)` on a thread of its own now, for a screen not
    composed yet; the screen's first `fetch` of it takes the answer (see `answer`).
    It reads only a database at the current schema (else NotMigrated): one still
    being created would answer with every panel unreadable."""

    def read(store: Store) -> T:
        if not store.schema_is_current():
            raise NotMigrated(str(db_path))
        return fn(store)

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sentitui-read-ahead")
    try:
        return pool.submit(with_store, db_path, read)
    finally:
        pool.shutdown(wait=False)  # the read runs on; the thread ends with it


def answer(db_path: str | Path, fn: Callable[[Store], T], ahead: Future[T] | None) -> T:
    """`with_store(db_path, fn)`, or the answer `ahead` read for it. A read ahead that
    failed is read again: it may have met the database before the engine's start had
    created or migrated it (a second failure is the screen's to report)."""
    if ahead is not None:
        try:
            return ahead.result()
        except Exception:
            pass
    return with_store(db_path, fn)


# The "all" chart spans the posts dated from EARLIEST to a day after now: a stored
# 0001-01-01 or 9999-12-31 ("no date" to some APIs) would squash every other point.
EARLIEST = "1995-01-01T00:00:00Z"
FUTURE_SECONDS = 86400


def epoch(stamp: Any) -> float | None:
    """Seconds since 1970 of an ISO 8601 UTC stamp; None for anything else."""
    try:
        return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    except (TypeError, ValueError):
        return None


def chart_time_range(store: Store, now: float) -> tuple[float | None, float | None, int]:
    """First and last plausible `created_at` (as epochs) and how many dated posts fall
    outside EARLIEST .. now + a day (they are counted, not drawn)."""
    latest = iso(now + FUTURE_SECONDS)
    assert latest is not None
    dated = store.created_range(EARLIEST, latest)
    return epoch(dated.first), epoch(dated.last), dated.outside


def bucket_for(span: float) -> int:
    """The smallest round bucket that gives at most ~TARGET_POINTS points over `span`."""
    for size in NICE_BUCKETS:
        if span / size <= TARGET_POINTS:
            return size
    return NICE_BUCKETS[-1]


@dataclass(slots=True)
class DashboardData:
    totals: Totals
    per_minute: float
    by_source: list[SourceTotals]
    feedback: dict[str, int]
    segment_keys: list[str]
    segment_key: str | None
    segments: list[SegmentRow]
    series: dict[str, list[tuple[float, float]]]
    x_range: tuple[float, float] | None
    window: str
    bucket_seconds: int
    # Insight panels: per competitor mentioned (Store.competitor_summary) and per
    # aspect, overall and per value of `segment_key` (Store.aspect_summary).
    competitors: list[CompetitorRow] = field(default_factory=list)
    aspects: list[AspectRow] = field(default_factory=list)
    aspects_by_segment: list[AspectRow] = field(default_factory=list)
    top_complaints: dict[str | None, str] = field(default_factory=dict)  # segment -> aspect
    off_chart: int = 0  # posts dated outside what the chart can place (see EARLIEST)
    # Panels whose query failed (a malformed JSON segment, say): panel -> why. The
    # panel draws that instead of its figures; the rest of the dashboard still draws.
    unreadable: dict[str, str] = field(default_factory=dict)
    # How often the text scorer agrees with the customers' ratings (Store.rating_agreement).
    agreement: RatingAgreement = field(default_factory=RatingAgreement.empty)


def load_dashboard(
    store: Store, window: str, segment_key: str | None, now: float | None = None
) -> DashboardData:
    now = time.time() if now is None else now
    unreadable: dict[str, str] = {}

    def panel(name: str, read: Callable[[], T], default: T) -> T:
        """One panel's query; a failure costs that panel, not the whole dashboard."""
        try:
            return read()
        except Exception as exc:
            unreadable[name] = f"{type(exc).__name__}: {exc}"
            return default

    keys: list[str] = panel("segments", store.segment_keys, [])
    if segment_key not in keys:
        segment_key = keys[0] if keys else None
    off_chart = 0
    if window in WINDOW_SECONDS:
        seconds = WINDOW_SECONDS[window]
        bucket = bucket_for(seconds)
        since: str | None = iso(now - seconds)
        x_range: tuple[float, float] | None = (now - seconds, now)
    else:
        no_range: tuple[float | None, float | None, int] = (None, None, 0)
        first, last, off_chart = panel("chart", lambda: chart_time_range(store, now), no_range)
        since = None
        if first is None or last is None:
            bucket, x_range = 3600, None
        else:
            bucket = bucket_for(max(last - first, 60))
            x_range = (first // bucket * bucket, (last // bucket + 1) * bucket)
    by_segment: list[AspectRow] = (
        panel("aspects", lambda: store.aspect_summary(segment_key), []) if segment_key else []
    )
    series: dict[str, list[tuple[float, float]]] = {}
    points: list[SentimentPoint] = panel(
        "chart", lambda: store.sentiment_over_time(bucket, since), []
    )
    for point in points:
        start = epoch(point.bucket)
        if start is None or x_range is None or not x_range[0] <= start <= x_range[1]:
            continue  # an undatable or implausible created_at: counted in off_chart
        polarity = point.avg_polarity
        if not isinstance(polarity, int | float) or polarity != polarity:
            polarity = 0.0
        series.setdefault(str(point.source), []).append((start + bucket / 2, float(polarity)))
    totals = panel("figures", store.totals, None)
    return DashboardData(
        totals=totals or Totals.empty(),
        per_minute=panel("figures", lambda: store.posts_per_minute(RATE_MINUTES), 0.0),
        agreement=panel("figures", store.rating_agreement, RatingAgreement.empty()),
        by_source=panel("labels", store.totals_by_source, []),
        feedback=panel("feedback", store.feedback_split, {}),
        segment_keys=keys,
        segment_key=segment_key,
        segments=(
            panel("segments", lambda: store.segment_breakdown(segment_key)[:12], [])
            if segment_key
            else []
        ),
        series=series,
        x_range=x_range,
        window=window,
        bucket_seconds=bucket,
        competitors=panel("competitors", store.competitor_summary, []),
        aspects=panel("aspects", store.aspect_summary, []),
        aspects_by_segment=by_segment,
        top_complaints=panel("aspects", lambda: top_complaints_of(by_segment), {}),
        off_chart=off_chart,
        unreadable=unreadable,
    )


class Listed(Protocol):
    """A row of a paged table: the table keys it by id."""

    @property
    def id(self) -> int: ...


Row = TypeVar("Row", bound=Listed)


@dataclass(slots=True)
class Window(Generic[Row]):
    """One page of a table: its rows and how many rows match in all."""

    rows: list[Row]
    total: int
    offset: int
    more: bool = False  # `total` is where counting stopped: there are more


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


def load_failed(
    store: Store, filters: FailedFilter, limit: int, offset: int
) -> Window[FailedRecordRow]:
    kwargs = filters.kwargs()
    scope = (str(store.path), tuple(sorted(kwargs.items())), limit)
    before_id = _FAILED_KEYS.get(scope, offset) if offset else None
    rows = store.failed_records(**kwargs, limit=limit, offset=offset, before_id=before_id)
    if len(rows) == limit:
        _FAILED_KEYS.remember(scope, offset + limit, rows[-1].id)
    return Window(rows, store.count_failed(**kwargs), offset)


def failed_ids(store: Store, filters: FailedFilter, cap: int = 10_000) -> list[int]:
    """Every id the filter matches (for "retry all shown"), newest first, at most `cap`."""
    return [r.id for r in store.failed_records(**filters.kwargs(), limit=cap)]


@dataclass(slots=True)
class PostFilter:
    query: str | None = None
    source: str | None = None
    label: str | None = None
    feedback: str | None = None

    def kwargs(self) -> dict[str, Any]:
        return {"source": self.source, "label": self.label, "feedback": self.feedback}


# A text search counts its matches up to this many ("1-100 of 10,000+").
SEARCH_COUNT_LIMIT = 10_000


def load_posts(store: Store, filters: PostFilter, limit: int, offset: int) -> Window[PostRow]:
    query = filters.query or None
    scope = (str(store.path), query, tuple(sorted(filters.kwargs().items())), limit)
    before = _POST_KEYS.get(scope, offset) if offset else None
    rows = store.search_posts(query, **filters.kwargs(), limit=limit, offset=offset, before=before)
    if len(rows) == limit:
        _POST_KEYS.remember(scope, offset + limit, (rows[-1].created_at, rows[-1].id))
    total = store.count_search_posts(query, **filters.kwargs(), at_most=SEARCH_COUNT_LIMIT + 1)
    more = total > SEARCH_COUNT_LIMIT
    return Window(rows, min(total, SEARCH_COUNT_LIMIT), offset, more)


@dataclass(slots=True)
class PipelinesData:
    last_runs: dict[tuple[str, str], RunRow] = field(default_factory=dict)
    recent: list[RunRow] = field(default_factory=list)  # newest runs first


def load_pipelines(store: Store, recent: int = 50) -> PipelinesData:
    return PipelinesData(store.last_runs(), store.runs(limit=recent))
