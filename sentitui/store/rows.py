"""What the report queries (reports.py, rollups.py) return: frozen rows with typed
fields, one class per kind of row, so a screen or the CLI reads `row.posts` and mypy
checks it. Their fields are in the order the JSON outputs (`stats --json`,
`report --json`, `failed list --json`) have always printed their keys: `plain()` turns
rows back into those objects.

Values are as the database holds them: a column a hand-written row may leave NULL is
typed `| None`, and text stays text (labels, statuses), since nothing read back from
the database is trusted to be one of our Literal values.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, is_dataclass
from typing import Any


def columns(row_type: type) -> str:
    """The SELECT list of a row class: its fields, in order (the row is built by
    position from what the SELECT returns)."""
    return ", ".join(f.name for f in fields(row_type))


def plain(value: Any) -> Any:
    """Rows (and lists and dicts of them) as JSON-able dicts, keys in field order."""
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


# ---- the dashboard's, `stats`' and the report's figures (from the rollups) -------------


@dataclass(frozen=True, slots=True)
class Totals:
    """Headline figures over every post in scope. Shares are of the scored posts: an
    unscored post (a language no scorer reads) is no vote either way."""

    posts: int
    scored: int
    unscored: int
    avg_polarity: float | None
    positive: int
    neutral: int
    negative: int
    share_negative: float
    open_failed: int

    @classmethod
    def empty(cls) -> Totals:
        """What the dashboard shows before its first read (or when it failed)."""
        return cls(0, 0, 0, None, 0, 0, 0, 0.0, 0)


@dataclass(frozen=True, slots=True)
class SourceTotals:
    pipeline: str
    source: str
    posts: int
    avg_polarity: float | None
    positive: int
    neutral: int
    negative: int
    unscored: int


@dataclass(frozen=True, slots=True)
class SegmentRow:
    """Posts with one value of a segment key (e.g. age_group "18-24", or a language)."""

    segment: str
    posts: int
    avg_polarity: float | None
    positive: int
    neutral: int
    negative: int
    unscored: int


@dataclass(frozen=True, slots=True)
class SentimentPoint:
    """One source's posts in one time bucket (`bucket`: its start, ISO 8601 UTC; None
    for a stored time that is no time)."""

    source: str
    bucket: str | None
    posts: int
    avg_polarity: float | None


@dataclass(frozen=True, slots=True)
class CompetitorRow:
    """A competitor named in posts: `mentions` (posts naming it), their labels and
    average polarity, and `share_of_voice` (mentions / all posts in scope, 0..1)."""

    competitor: str
    mentions: int
    positive: int
    neutral: int
    negative: int
    avg_polarity: float | None
    share_of_voice: float


@dataclass(frozen=True, slots=True)
class AspectRow:
    """An aspect (price, scent…) in the posts of one segment value (None: all posts),
    counted by the aspect's own label; `negative_share` is negative / mentions."""

    segment: str | None
    aspect: str
    mentions: int
    positive: int
    neutral: int
    negative: int
    avg_polarity: float | None
    negative_share: float


@dataclass(frozen=True, slots=True)
class RatingAgreement:
    """How often the text scorer agrees with the customers' ratings, over posts with
    both: `agreement` (share with the same label), `macro_f1` (the rating's label as
    truth; None with no rated post) and the counts rating label -> text label."""

    rated: int
    agreement: float | None
    macro_f1: float | None
    confusion: dict[str, dict[str, int]]

    @classmethod
    def empty(cls) -> RatingAgreement:
        return cls(0, None, None, {})


@dataclass(frozen=True, slots=True)
class Disagreement:
    """A rated post whose text polarity is far from its rating (`gap`, both on -1..1)."""

    id: int
    pipeline: str
    source: str
    url: str | None
    text: str
    rating: float
    polarity: float
    label: str | None
    text_label: str | None
    gap: float


@dataclass(frozen=True, slots=True)
class TimeRange:
    """The first and last `created_at` in a span, and how many dated posts fall outside it."""

    first: str | None
    last: str | None
    outside: int


# ---- listings: runs, failed records, posts ----------------------------------------------


@dataclass(frozen=True, slots=True)
class RunRow:
    """A row of `runs` (every column, in the table's order)."""

    id: int
    pipeline: str
    source: str
    trigger: str | None
    started_at: str | None
    ended_at: str | None
    status: str | None
    fetched: int
    loaded: int
    duplicates: int
    failed: int
    error: str | None
    owner_host: str | None
    owner_pid: int | None
    owner_started: str | None
    daemon_id: int | None


@dataclass(frozen=True, slots=True)
class FleetRunRow:
    """A recent run and the daemon that ran it (host and pid; None: no daemon)."""

    id: int
    pipeline: str
    source: str
    status: str | None
    loaded: int
    started_at: str | None
    host: str | None
    pid: int | None


@dataclass(frozen=True, slots=True)
class FailedRecordRow:
    """A failed record in a listing: everything but its payload (only its size)."""

    id: int
    run_id: int | None
    pipeline: str
    source: str
    stage: str
    error: str | None
    created_at: str | None
    updated_at: str | None
    attempts: int
    status: str
    payload_size: int | None


@dataclass(frozen=True, slots=True)
class FailedRecordDetail:
    """One failed record whole (every column of `failed_records`, in its order): the raw
    payload a retry re-reads and the context it needs (JSON text)."""

    id: int
    run_id: int | None
    pipeline: str
    source: str
    stage: str
    error: str | None
    payload: str | None
    created_at: str | None
    attempts: int
    status: str
    context: str | None
    updated_at: str | None
    fingerprint: str | None


@dataclass(frozen=True, slots=True)
class PostRow:
    """A stored post (every column of `posts`, in its order). `competitors`, `segments`
    and `aspects` are the JSON text as stored."""

    id: int
    pipeline: str
    source: str
    external_id: str
    url: str | None
    author_hash: str | None
    text: str
    lang: str | None
    created_at: str | None
    fetched_at: str | None
    polarity: float | None
    subjectivity: float | None
    label: str | None
    feedback: str | None
    competitors: str | None
    rating: float | None
    segments: str | None
    run_id: int | None
    aspects: str | None
    text_label: str | None
