"""Every figure of the report, gathered once through the store's own query functions,
so the report says exactly what `sentitui stats --json` says about the same posts.

`--pipeline` and `--since` narrow the scope without a second set of queries: temporary
views named like the tables (`posts`, `failed_records`, `runs`) shadow them on this
connection only (SQLite and PostgreSQL both look in the temporary schema first), so each
query function reads the scoped rows and nothing is written to the database.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sentitui.store import rollups
from sentitui.store.alerts import alert_rows
from sentitui.store.rows import (
    CompetitorRow,
    RatingAgreement,
    RunRow,
    SegmentRow,
    SourceTotals,
    Totals,
    plain,
)

if TYPE_CHECKING:
    from sentitui.store import Store

__all__ = ["FEEDBACK_TYPES", "LABELS", "StatsFigures", "gather", "stats_figures"]

LABELS = ("positive", "neutral", "negative", "unscored")
FEEDBACK_TYPES = ("praise", "complaint", "suggestion", "comparison", "question", "other")
EXAMPLES_PER_GROUP = 3


@dataclass(frozen=True, slots=True)
class StatsFigures:
    """What `sentitui stats` shows and the report's "stats" section holds."""

    totals: Totals
    by_source: list[SourceTotals]
    feedback: dict[str, int]
    languages: list[SegmentRow]
    competitors: list[CompetitorRow]
    top_complaint: str | None
    rating_agreement: RatingAgreement
    runs: list[RunRow]

    def to_json(self) -> dict[str, Any]:
        """What `sentitui stats --json` prints: the totals' keys, then the rest."""
        return {
            **asdict(self.totals),
            "by_source": plain(self.by_source),
            "feedback": dict(self.feedback),
            "languages": plain(self.languages),
            "competitors": plain(self.competitors),
            "top_complaint": self.top_complaint,
            "rating_agreement": plain(self.rating_agreement),
            "runs": plain(self.runs),
        }


def stats_figures(store: Store) -> StatsFigures:
    """The figures of `sentitui stats`: one function, so the report cannot drift."""
    from sentitui.store import LANGUAGE_SEGMENT

    return StatsFigures(
        totals=store.totals(),
        by_source=store.totals_by_source(),
        feedback=store.feedback_split(),
        languages=store.segment_breakdown(LANGUAGE_SEGMENT),
        competitors=store.competitor_summary(),
        top_complaint=store.top_complaints().get(None),
        rating_agreement=store.rating_agreement(),
        runs=store.runs(limit=20),
    )


def _literal(value: str) -> str:
    """A string as an SQL literal (views take no parameters): quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def _scope(store: Store, pipeline: str | None, since: str | None) -> None:
    """Shadow the tables with views of the chosen pipeline and time span."""
    posts: list[str] = []
    failed: list[str] = []
    runs: list[str] = []
    if pipeline:
        for clauses in (posts, failed, runs):
            clauses.append(f"pipeline = {_literal(pipeline)}")
    if since:
        posts.append(f"created_at >= {_literal(since)}")
        failed.append(f"created_at >= {_literal(since)}")
        runs.append(f"started_at >= {_literal(since)}")
    # The tables' own schema: SQLite's "main", PostgreSQL's "public" (dialects differ).
    schema = "main" if store.dialect.name == "sqlite" else "public"
    for table, clauses in (("posts", posts), ("failed_records", failed), ("runs", runs)):
        if clauses:
            store.conn.execute(
                f"CREATE TEMP VIEW {table} AS SELECT * FROM {schema}.{table} "
                f"WHERE {' AND '.join(clauses)}"
            )
    if posts:
        # The headline queries read the rollups: same-named temporary tables, filled from
        # the scoped posts by the writer's own rollup code, shadow them too.
        for table, columns in rollups.TABLES.items():
            columns = columns.replace(" INTEGER ", f" {store.dialect.rollup_integer} ")
            store.conn.execute(f"CREATE TEMP TABLE {table} ({columns})")
        rollups.apply(store.conn, "1 = 1", (), 1, dialect=store.dialect)


def _bucket_seconds(first: str | None, last: str | None) -> int:
    """Hours for two days or less, days up to a quarter, weeks beyond."""
    if not first or not last:
        return 86400
    try:
        span = (
            datetime.fromisoformat(last.replace("Z", "+00:00"))
            - datetime.fromisoformat(first.replace("Z", "+00:00"))
        ).total_seconds()
    except ValueError:
        return 86400
    if span <= 2 * 86400:
        return 3600
    return 86400 if span <= 92 * 86400 else 7 * 86400


def _alerts(store: Store, pipeline: str | None) -> list[dict[str, Any]]:
    """Each alert rule's state (store/alerts.py), firing first: which, since when, why."""
    return [
        {
            "name": f"{row['pipeline']}/{row['name']}",
            "state": row["state"],
            "since": (row["fired_at"] if row["state"] == "firing" else row["resolved_at"])
            or row["updated_at"],
            "detail": row["detail"] or "",
        }
        for row in alert_rows(store)
        if pipeline is None or row["pipeline"] == pipeline
    ]


def _examples(store: Store) -> dict[str, list[dict[str, Any]]]:
    """The newest posts of each feedback type and of each label, with their links."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for feedback in FEEDBACK_TYPES:
        groups[feedback] = plain(store.search_posts(feedback=feedback, limit=EXAMPLES_PER_GROUP))
    for label in ("positive", "negative", "unscored"):
        groups[label] = plain(store.search_posts(label=label, limit=EXAMPLES_PER_GROUP))
    return {name: rows for name, rows in groups.items() if rows}


def gather(store: Store, pipeline: str | None = None, since: str | None = None) -> dict[str, Any]:
    """All figures of the report for the posts in scope, as plain JSON-able data."""
    _scope(store, pipeline, since)
    stats = stats_figures(store)
    first, last = store.post_time_range()
    segments = {key: store.segment_breakdown(key) for key in store.segment_keys()}
    return {
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "scope": {"pipeline": pipeline, "since": since},
        "stats": stats.to_json(),
        "coverage": {
            "sources": [f"{r.pipeline}/{r.source}" for r in stats.by_source],
            "first_post": first,
            "last_post": last,
            "posts": stats.totals.posts,
            "unscored": stats.totals.unscored,
            "open_failed": stats.totals.open_failed,
        },
        "over_time": {
            "bucket_seconds": (bucket := _bucket_seconds(first, last)),
            "rows": plain(store.sentiment_over_time(bucket)),
        },
        "segments": plain(segments),
        "aspects": plain(store.aspect_summary()),
        "top_complaint_by_segment": {
            key: {str(k): v for k, v in store.top_complaints(key).items()} for key in segments
        },
        "alerts": _alerts(store, pipeline),
        "examples": _examples(store),
        "rating_disagreements": plain(store.rating_disagreements(5)),
    }
