"""Records and events that flow between sources, the engine, the store and front ends.

Nothing here imports Textual or aiohttp: every front end (TUI, CLI, tests) can use it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, fields
from operator import attrgetter
from typing import Any, Literal, TypeGuard, get_args

Stage = Literal["fetch", "parse", "clean", "score", "load"]
Trigger = Literal["manual", "schedule", "watch", "cli"]
# "unscored": written in a language none of the pipeline's scorers reads.
Label = Literal["positive", "negative", "neutral", "unscored"]


@dataclass(slots=True)
class FailedRecord:
    """Anything that could not become a post, with the payload exactly as received."""

    stage: Stage
    error: str
    payload: str
    context: dict[str, Any] = field(default_factory=dict)  # url, status, line … for retry


@dataclass(slots=True)
class Page:
    """One unit of fetching: what a source hands the engine after each request.

    `records` are raw payloads (usually dicts decoded from JSON); the source maps
    them to post fields later with `Source.map_record`, so a failed record can be
    re-mapped from its payload on retry. `cursor` is the source state to persist
    once this page is committed (None keeps the previous one). `position` says where
    the source's paging stands after this page, {listing key: the next request, or
    "done"}, so a run that stops anywhere is resumed there (engine/resume.py).
    """

    records: list[Any]
    url: str = ""
    cursor: dict[str, Any] | None = None
    failures: list[FailedRecord] = field(default_factory=list)
    position: dict[str, Any] | None = None


@dataclass(slots=True)
class Post:
    """A cleaned, scored record ready for the `posts` table."""

    pipeline: str
    source: str
    external_id: str
    text: str
    url: str | None = None
    author_hash: str | None = None
    lang: str | None = None
    created_at: str | None = None
    fetched_at: str = ""
    polarity: float | None = 0.0  # None when unscored
    subjectivity: float | None = 0.0
    label: Label = "neutral"
    text_label: Label = "neutral"  # the text scorer's verdict, even when the rating labels
    feedback: str = "other"
    competitors: list[str] = field(default_factory=list)
    rating: float | None = None
    segments: dict[str, Any] = field(default_factory=dict)
    run_id: int | None = None
    # aspect -> {"polarity": float, "label": str} for the pipeline's aspects it mentions
    aspects: dict[str, Any] = field(default_factory=dict)
    # The mapped fields before cleaning; used for incremental cursors, not stored.
    fields: dict[str, Any] = field(default_factory=dict, repr=False)

    def __reduce__(self) -> tuple[type[Post], tuple[Any, ...]]:
        """Pickled as its field values in order, read in C: every post crosses from a
        scoring worker to the engine, and a slots dataclass's own pickling lists its
        fields in Python for each one (a fifth of the engine's CPU a post was that)."""
        return Post, _post_values(self)


_post_values = attrgetter(*(f.name for f in fields(Post)))


@dataclass(slots=True)
class RunStats:
    run_id: int
    pipeline: str
    source: str
    trigger: Trigger = "cli"
    status: str = "running"  # running | ok | partial | failed | cancelled | interrupted
    fetched: int = 0
    loaded: int = 0
    duplicates: int = 0
    failed: int = 0
    pages: int = 0
    error: str | None = None
    started_at: float = field(default_factory=time.time)
    ended_at: float | None = None
    # The database refused a write (disk full, locked): `run` exits 3, not 1.
    store_failed: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "pipeline": self.pipeline,
            "source": self.source,
            "status": self.status,
            "fetched": self.fetched,
            "loaded": self.loaded,
            "duplicates": self.duplicates,
            "failed": self.failed,
            "error": self.error,
        }


# ---- engine events -------------------------------------------------------------------


@dataclass(slots=True, frozen=True)
class EngineEvent:
    at: float = field(default_factory=time.time, kw_only=True)


@dataclass(slots=True, frozen=True)
class RunStarted(EngineEvent):
    run_id: int
    pipeline: str
    source: str
    trigger: str


@dataclass(slots=True, frozen=True)
class RunProgress(EngineEvent):
    """Sent after each committed page."""

    run_id: int
    pipeline: str
    source: str
    fetched: int
    loaded: int
    duplicates: int
    failed: int
    pages: int

    @classmethod
    def of(cls, stats: RunStats) -> RunProgress:
        """The counters of a run as they stand after a commit."""
        return cls(
            run_id=stats.run_id,
            pipeline=stats.pipeline,
            source=stats.source,
            fetched=stats.fetched,
            loaded=stats.loaded,
            duplicates=stats.duplicates,
            failed=stats.failed,
            pages=stats.pages,
        )


@dataclass(slots=True, frozen=True)
class RunFinished(EngineEvent):
    stats: RunStats


SourceStatus = Literal[
    "idle", "running", "streaming", "backing_off", "failed", "paused", "cancelled"
]
SOURCE_STATUSES: frozenset[SourceStatus] = frozenset(get_args(SourceStatus))


def is_source_status(value: object) -> TypeGuard[SourceStatus]:
    """For statuses read back from the database: only the declared ones count."""
    return value in SOURCE_STATUSES


@dataclass(slots=True, frozen=True)
class SourceStateChanged(EngineEvent):
    """A source's operating state; `detail` says why (e.g. "rate-limited until 14:03:10")."""

    pipeline: str
    source: str
    status: SourceStatus
    detail: str = ""


@dataclass(slots=True, frozen=True)
class LogLine(EngineEvent):
    level: str  # DEBUG | INFO | WARNING | ERROR
    message: str
    pipeline: str = ""
    source: str = ""


@dataclass(slots=True, frozen=True)
class ConfigReloaded(EngineEvent):
    """The engine swapped in new pipeline settings; (pipeline, source) pairs that changed."""

    added: list[tuple[str, str]] = field(default_factory=list)
    removed: list[tuple[str, str]] = field(default_factory=list)
    changed: list[tuple[str, str]] = field(default_factory=list)


@dataclass(slots=True, frozen=True)
class ConfigInvalid(EngineEvent):
    """An edited pipeline file does not load; the engine keeps its previous settings.
    Each problem reads `file:line: source 'x': key 'y': what is wrong`."""

    path: str
    problems: list[str] = field(default_factory=list)


@dataclass(slots=True, frozen=True)
class AlertChanged(EngineEvent):
    """An alert rule fired or resolved (engine/alerts.py); `bell`: its rule asks for one."""

    pipeline: str
    name: str
    state: str  # firing | resolved
    detail: str = ""
    bell: bool = False


@dataclass(slots=True, frozen=True)
class StreamStats(EngineEvent):
    """A streaming source's pace, about once a second while it streams: events per
    second, when the last event arrived, and how far behind real time the newest
    committed event is (`lag`, seconds; None before the first one)."""

    pipeline: str
    source: str
    events_per_second: float
    last_event_at: float | None = None
    lag: float | None = None
