"""Work on stored posts that fetches nothing: rescore, retention (purge) and export.

These run from the CLI against the SQLite file, in batches, with a progress callback.
They never import Textual. The rules:

- Rescore recomputes polarity, subjectivity, label, feedback, competitors and aspects
  of every stored post of the given pipelines with their *current* config (scorer,
  thresholds, competitors, aspects); text is not cleaned again (the raw text is not
  kept). Posts of pipelines with no config are left alone.
- Retention: a pipeline's `retention_days` deletes its posts whose `created_at` (or
  `fetched_at` when there is none) is older; `failed_retention_days` (default 14)
  deletes failed records — the only place raw payloads are kept — older than that.
  Failed records of pipelines no longer configured use the default. With
  `failed_payloads=True` every remaining failed record's payload is blanked too.
  Deleted bytes are overwritten (SQLite `secure_delete`) and the WAL is truncated,
  so a purged handle cannot be read back from the file.
- Export writes posts as stored (authors are already keyed hashes unless the
  pipeline keeps them) and leaves out posts already past their retention.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from sentitui.config import PipelineConfig
from sentitui.processing.clean import redact_pii, redact_segments
from sentitui.processing.insight import insight_for
from sentitui.processing.score import Scorer
from sentitui.store import Store, rollups

__all__ = ["EXPORT_COLUMNS", "PurgeResult", "export_posts", "purge", "rescore"]

Progress = Callable[[str, int, int], None]  # (pipeline, done, total)

EXPORT_COLUMNS = (
    "id",
    "pipeline",
    "source",
    "external_id",
    "url",
    "author_hash",
    "text",
    "lang",
    "created_at",
    "fetched_at",
    "polarity",
    "subjectivity",
    "label",
    "feedback",
    "competitors",
    "aspects",
    "rating",
    "segments",
    "run_id",
)
_JSON_COLUMNS = ("competitors", "aspects", "segments")


def _cutoff(days: int, now: datetime | None = None) -> str:
    moment = (now or datetime.now(UTC)) - timedelta(days=days)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- rescore ---------------------------------------------------------------------------


async def rescore(
    store: Store,
    pipelines: Iterable[PipelineConfig],
    scorer: Scorer,
    *,
    batch_size: int = 500,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Recompute the insight columns of stored posts; returns posts updated per pipeline."""
    updated: dict[str, int] = {}
    for pipeline in pipelines:
        total = store.count_posts(pipeline.name)
        done, last_id = 0, 0
        while True:
            rows = store.conn.execute(
                "SELECT id, text, lang, rating FROM posts WHERE pipeline = ? AND id > ? "
                "ORDER BY id LIMIT ?",
                (pipeline.name, last_id, batch_size),
            ).fetchall()
            if not rows:
                break
            analyses = await scorer.analyse(
                [row[1] for row in rows],
                pipeline.scorer,
                pipeline.aspects,
                langs=[row[2] for row in rows],
                by_language=pipeline.scorer_by_language,
            )
            changes = []
            for (post_id, text, _, rating), analysis in zip(rows, analyses, strict=True):
                found = insight_for(text, analysis, pipeline, rating)
                changes.append(
                    (
                        found.polarity,
                        found.subjectivity,
                        found.label,
                        found.text_label,
                        analysis.lang,
                        found.feedback,
                        json.dumps(found.competitors),
                        json.dumps(found.aspects, ensure_ascii=False),
                        post_id,
                    )
                )
            with store.transaction() as conn:
                # The rollups lose these posts as they were and gain them as rescored.
                span = (
                    "posts.pipeline = ? AND posts.id BETWEEN ? AND ?",
                    (pipeline.name, rows[0][0], rows[-1][0]),
                )
                rollups.apply(conn, *span, -1, dialect=store.dialect, by_id=True)
                conn.executemany(
                    "UPDATE posts SET polarity = ?, subjectivity = ?, label = ?, text_label = ?, "
                    "lang = ?, feedback = ?, competitors = ?, aspects = ? WHERE id = ?",
                    changes,
                )
                rollups.apply(conn, *span, 1, dialect=store.dialect, by_id=True)
            done += len(rows)
            last_id = rows[-1][0]
            if progress is not None:
                progress(pipeline.name, done, total)
        updated[pipeline.name] = done
    return updated


# ---- retention -------------------------------------------------------------------------


@dataclass(slots=True)
class PurgeResult:
    posts: dict[str, int] = field(default_factory=dict)  # deleted per pipeline
    failed_records: int = 0
    payloads_blanked: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "posts": sum(self.posts.values()),
            "posts_by_pipeline": self.posts,
            "failed_records": self.failed_records,
            "payloads_blanked": self.payloads_blanked,
        }


def purge(
    store: Store,
    pipelines: Iterable[PipelineConfig],
    *,
    failed_payloads: bool = False,
    default_failed_days: int = 14,
    now: datetime | None = None,
) -> PurgeResult:
    """Apply retention (see the module docstring) in one transaction."""
    pipelines = list(pipelines)
    result = PurgeResult()
    sqlite = store.dialect.name == "sqlite"  # PostgreSQL: VACUUM is the server admin's
    if sqlite:
        store.conn.execute("PRAGMA secure_delete = ON")
    with store.transaction() as conn:
        for pipeline in pipelines:
            if pipeline.retention_days:
                old = (pipeline.name, _cutoff(pipeline.retention_days, now))
                rollups.apply(
                    conn,
                    "posts.pipeline = ? AND COALESCE(created_at, fetched_at) < ?",
                    old,
                    -1,
                    dialect=store.dialect,
                )
                cur = conn.execute(
                    "DELETE FROM posts WHERE pipeline = ? AND COALESCE(created_at, fetched_at) < ?",
                    old,
                )
                result.posts[pipeline.name] = cur.rowcount
            cur = conn.execute(
                "DELETE FROM failed_records WHERE pipeline = ? AND created_at < ?",
                (pipeline.name, _cutoff(pipeline.failed_retention_days, now)),
            )
            result.failed_records += cur.rowcount
        known = [p.name for p in pipelines]
        marks = ", ".join("?" * len(known))
        cur = conn.execute(
            "DELETE FROM failed_records WHERE created_at < ?"
            + (f" AND pipeline NOT IN ({marks})" if known else ""),
            (_cutoff(default_failed_days, now), *known),
        )
        result.failed_records += cur.rowcount
        if failed_payloads:
            cur = conn.execute("UPDATE failed_records SET payload = '' WHERE payload != ''")
            result.payloads_blanked = cur.rowcount
    # Old page images live on in the WAL until a checkpoint; fold them in and truncate it.
    if sqlite:
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return result


# ---- export ----------------------------------------------------------------------------


def _export_rows(
    store: Store, pipelines: Iterable[PipelineConfig], only: str | None
) -> Iterator[dict[str, Any]]:
    retention = {p.name: p.retention_days for p in pipelines}
    clauses, params = [], []
    if only:
        clauses.append("pipeline = ?")
        params.append(only)
    for name, days in retention.items():
        if days:
            clauses.append("NOT (pipeline = ? AND COALESCE(created_at, fetched_at) < ?)")
            params.extend([name, _cutoff(days)])
    where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
    cursor = store.conn.execute(
        f"SELECT {', '.join(EXPORT_COLUMNS)} FROM posts {where} ORDER BY id", params
    )
    redacting = {p.name: p.redact_pii for p in pipelines}
    for values in cursor:
        row = dict(zip(EXPORT_COLUMNS, values, strict=True))
        if row["segments"] and redacting.get(row["pipeline"], True):
            row["segments"] = _redacted_segments(row["segments"])  # rows stored before it
        yield row


def _redacted_segments(stored: str) -> str:
    """Segment values with e-mails and phone numbers redacted, as clean_record stores them."""
    try:
        segments = json.loads(stored)
    except ValueError:
        return redact_pii(stored)
    if not isinstance(segments, dict):
        return redact_pii(stored)
    return json.dumps(redact_segments(segments), ensure_ascii=False)


def export_posts(
    store: Store,
    pipelines: Iterable[PipelineConfig],
    out: IO[str],
    *,
    fmt: str = "csv",
    pipeline: str | None = None,
) -> int:
    """Write posts as CSV (JSON columns as JSON text) or JSONL; returns the row count."""
    count = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS)
        writer.writeheader()
        for row in _export_rows(store, pipelines, pipeline):
            writer.writerow(row)
            count += 1
    elif fmt == "jsonl":
        for row in _export_rows(store, pipelines, pipeline):
            for column in _JSON_COLUMNS:
                row[column] = json.loads(row[column]) if row[column] else None
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    else:
        raise ValueError(f"unknown export format {fmt!r} (csv or jsonl)")
    return count


def open_output(path: str | None) -> IO[str]:
    """The export target: a file (created with its folder) or stdout for None/"-"."""
    import sys

    if path in (None, "-"):
        return sys.stdout
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    return target.open("w", encoding="utf-8", newline="")
