"""The engine's writer: a run's start and end, its pages (posts, failed records, run
counters and the source's cursor, committed together), and the statuses of failed
records and runs. Only the writer calls these; everything else reads (reports.py)."""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sentitui.models import FailedRecord, Post, RunStats, Trigger
from sentitui.processing.redact import redact, redact_data, redact_exact, safe_line
from sentitui.store import rollups
from sentitui.store.backend import Connection
from sentitui.store.database import Database
from sentitui.store.owner import Owner, is_alive, this_process
from sentitui.store.sql import SqliteDialect


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_SURROGATE = re.compile("[\ud800-\udfff]")


def storable(value: Any) -> Any:
    """A value SQLite can take. A lone UTF-16 surrogate (half an emoji, cut off in
    JSON as "\\ud83d") decodes fine in Python but cannot be encoded to UTF-8, and
    one such string would fail the whole page's transaction: it becomes U+FFFD."""
    if isinstance(value, str) and not value.isascii() and _SURROGATE.search(value):
        return _SURROGATE.sub("\ufffd", value)
    return value


# json.dumps(value, ensure_ascii=False) builds an encoder per call; this one is reused.
_ENCODE = json.JSONEncoder(ensure_ascii=False).encode


def _json(value: Any) -> str:
    """A JSON table column's text; the empty table (most posts) without the encoder."""
    if not value:
        return "{}"
    return str(storable(_ENCODE(value)))


def _post_row(p: Post, run_id: int | None, now: str) -> tuple[Any, ...]:
    """A post as the writer's INSERT takes it. Only free text can hold a lone surrogate;
    times, labels and numbers come out of cleaning and scoring well-formed."""
    return (
        storable(p.pipeline),
        storable(p.source),
        storable(p.external_id),
        storable(redact(p.url)),  # a page URL may carry a key parameter
        storable(p.author_hash),
        storable(p.text),
        storable(p.lang),
        storable(p.created_at),
        p.fetched_at or now,
        p.polarity,
        p.subjectivity,
        p.label,
        p.feedback,
        json.dumps(p.competitors) if p.competitors else "[]",
        p.rating,
        _json(p.segments),
        run_id,
        _json(p.aspects),
        p.text_label,
    )


def failure_fingerprint(failure: FailedRecord) -> str:
    """What makes two failures the same bad record (a repeat updates its row): the
    stage and payload, and for a whole page or request also its URL, since different
    pages fail with the same body (an empty one, the same maintenance page). A fetch
    failure is its URL: error bodies differ from try to try (request ids, times)."""
    url = str(failure.context.get("url") or "")
    if failure.stage == "fetch":
        key = f"fetch\0{url}"
    elif (
        failure.stage == "parse"
        and not failure.context.get("record")
        and "line" not in failure.context
    ):
        key = f"parse\0{url}\0{failure.payload}"
    else:
        key = f"{failure.stage}\0{failure.payload}"
    return hashlib.sha1(key.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(slots=True)
class PageWrite:
    """One transaction's worth of a runner's work."""

    stats: RunStats
    posts: list[Post]
    failures: list[FailedRecord]
    cursor: dict[str, Any] | None = None


class Writer(Database):
    """Writes (the engine's writer only), and the cursor a run resumes from."""

    def start_run(self, pipeline: str, source: str, trigger: Trigger) -> RunStats:
        owner = this_process()
        with self.transaction() as conn:
            run_id = conn.execute(
                "INSERT INTO runs (pipeline, source, trigger, started_at, status, "
                "owner_host, owner_pid, owner_started) VALUES (?, ?, ?, ?, 'running', ?, ?, ?) "
                "RETURNING id",
                (pipeline, source, trigger, utc_now(), owner.host, owner.pid, owner.started),
            ).fetchone()[0]
        return RunStats(run_id=int(run_id), pipeline=pipeline, source=source, trigger=trigger)

    def write_pages(self, writes: Iterable[PageWrite]) -> list[tuple[int, int]]:
        """Commit several pages in one transaction; returns (loaded, duplicates) per page.

        A page's posts, its failed records, its run counters and its source's cursor
        land together or not at all.
        """
        writes = list(writes)
        results = []
        now = utc_now()
        # Counters move only once the transaction has committed (a full disk must not
        # count rows that never landed): totals per run are kept here until then.
        totals: dict[int, tuple[RunStats, list[int]]] = {}
        with self.transaction() as conn:
            # Rows inserted below get ids above this one. On PostgreSQL another daemon may
            # commit posts with higher ids while this transaction runs (READ COMMITTED:
            # each statement sees them), so the new rows are those above it *of this
            # batch's runs*: only one writer writes a run, so that is exact on both.
            last_id = conn.execute("SELECT COALESCE(MAX(id), 0) FROM posts").fetchone()[0]
            inserted = 0
            for write in writes:
                stats = write.stats
                _, counts = totals.setdefault(
                    id(stats), (stats, [stats.loaded, stats.duplicates, stats.failed])
                )
                # rowcount of executemany sums sqlite3_changes(), which leaves out the
                # FTS triggers' rows: exactly the posts inserted, ignored ones excluded.
                cur = conn.executemany(
                    "INSERT INTO posts (pipeline, source, external_id, url, author_hash, "
                    "text, lang, created_at, fetched_at, polarity, subjectivity, label, feedback, "
                    "competitors, rating, segments, run_id, aspects, text_label) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT DO NOTHING",
                    [_post_row(p, stats.run_id, now) for p in write.posts],
                )
                loaded = max(cur.rowcount, 0) if write.posts else 0
                inserted += loaded
                duplicates = len(write.posts) - loaded
                self._insert_failures(conn, stats, write.failures, now, self.dialect)
                if write.cursor is not None:
                    self._set_cursor(conn, stats.pipeline, stats.source, write.cursor, now)
                counts[0] += loaded
                counts[1] += duplicates
                counts[2] += len(write.failures)
                conn.execute(
                    "UPDATE runs SET fetched = ?, loaded = ?, duplicates = ?, failed = ? WHERE id = ?",
                    (stats.fetched, *counts, stats.run_id),
                )
                results.append((loaded, duplicates))
            if inserted:
                run_ids = sorted({w.stats.run_id for w in writes})
                new_rows = f"posts.id > ? AND posts.run_id IN ({', '.join('?' * len(run_ids))})"
                new_params = (last_id, *run_ids)
                fts_fill = self.dialect.fts_fill(new_rows)
                if fts_fill is not None:  # SQLite's FTS5 table; a GIN index on PostgreSQL
                    conn.execute(fts_fill, new_params)
                present = [
                    column
                    for column in rollups.JSON_COLUMNS
                    if any(getattr(p, column) for w in writes for p in w.posts)
                ]
                rollups.apply(conn, new_rows, new_params, 1, present, self.dialect, by_id=True)
        for stats, (loaded, duplicates, failed) in totals.values():
            stats.loaded, stats.duplicates, stats.failed = loaded, duplicates, failed
        return results

    @staticmethod
    def _insert_failures(
        conn: Connection,
        stats: RunStats,
        failures: list[FailedRecord],
        now: str,
        dialect: SqliteDialect,
    ) -> None:
        """A record that fails again on a later run updates its open (or ignored) row
        instead of adding a twin, so the open list stays one row per bad record. Meeting
        it again is not an attempt: `attempts` counts the first try and the retries."""
        for f in failures:
            fingerprint = failure_fingerprint(f)
            # Secrets never reach the file and errors carry no terminal escapes (other
            # tools print them); the payload keeps its bytes except a registered
            # credential a server echoed back (processing/redact.py).
            error = storable(safe_line(f.error))
            payload = dialect.payload_param(storable(redact_exact(f.payload)))
            context = storable(json.dumps(redact_data(f.context), ensure_ascii=False))
            cur = conn.execute(
                "UPDATE failed_records SET error = ?, run_id = ?, "
                "updated_at = ?, payload = ?, context = ? WHERE pipeline = ? AND source = ? "
                "AND fingerprint = ? AND status IN ('open', 'ignored')",
                (
                    error,
                    stats.run_id,
                    now,
                    payload,
                    context,
                    stats.pipeline,
                    stats.source,
                    fingerprint,
                ),
            )
            if cur.rowcount:
                continue
            conn.execute(
                "INSERT INTO failed_records (run_id, pipeline, source, stage, error, payload, "
                "created_at, updated_at, attempts, status, context, fingerprint) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, 'open', ?, ?)",
                (
                    stats.run_id,
                    stats.pipeline,
                    stats.source,
                    f.stage,
                    error,
                    payload,
                    now,
                    now,
                    context,
                    fingerprint,
                ),
            )

    @staticmethod
    def _set_cursor(
        conn: Connection, pipeline: str, source: str, cursor: dict[str, Any], now: str
    ) -> None:
        conn.execute(
            "INSERT INTO source_state (pipeline, source, cursor, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(pipeline, source) DO UPDATE SET cursor = excluded.cursor, "
            "updated_at = excluded.updated_at",
            (pipeline, source, storable(json.dumps(cursor, ensure_ascii=False)), now),
        )

    def cursor(self, pipeline: str, source: str) -> dict[str, Any]:
        """Where a source's paging stands (as the last committed page left it)."""
        row = self.conn.execute(
            "SELECT cursor FROM source_state WHERE pipeline = ? AND source = ?", (pipeline, source)
        ).fetchone()
        return json.loads(row[0]) if row and row[0] else {}

    def finish_run(self, stats: RunStats) -> None:
        stats.ended_at = stats.ended_at or time.time()
        with self.transaction() as conn:
            conn.execute(
                "UPDATE runs SET ended_at = ?, status = ?, fetched = ?, loaded = ?, "
                "duplicates = ?, failed = ?, error = ? WHERE id = ?",
                (
                    iso(stats.ended_at),
                    stats.status,
                    stats.fetched,
                    stats.loaded,
                    stats.duplicates,
                    stats.failed,
                    storable(safe_line(stats.error) if stats.error else stats.error),
                    stats.run_id,
                ),
            )

    def mark_failed(self, ids: Iterable[int], status: str, error: str | None = None) -> None:
        """Set status of failed records (resolved / ignored / open with a new error)."""
        now = utc_now()
        with self.transaction() as conn:
            for record_id in ids:
                if status == "open":
                    conn.execute(
                        "UPDATE failed_records SET attempts = attempts + 1, error = ?, "
                        "updated_at = ? WHERE id = ?",
                        (storable(safe_line(error) if error else error), now, record_id),
                    )
                else:
                    conn.execute(
                        "UPDATE failed_records SET status = ?, updated_at = ?, "
                        "attempts = attempts + ? WHERE id = ?",
                        (status, now, int(status == "resolved"), record_id),
                    )

    def close_open_runs(self, status: str = "cancelled") -> int:
        """Close this process's runs still `running` (a stopping daemon's leftovers);
        other processes' runs are theirs to close."""
        owner = this_process()
        with self.transaction() as conn:
            cur = conn.execute(
                "UPDATE runs SET status = ?, ended_at = ? WHERE status = 'running' "
                "AND owner_host = ? AND owner_pid = ? AND owner_started = ?",
                (status, utc_now(), owner.host, owner.pid, owner.started),
            )
        return int(cur.rowcount)

    def close_dead_runs(self) -> int:
        """Close as `interrupted` the `running` runs whose owner process has died
        (killed, or stopped by a full disk before it could write their end).

        On a database a fleet shares (store/fleet.py), other daemons' runs are theirs:
        a run is closed here only when its owner is certainly dead (on this host, its
        process gone); runs of other hosts are left to the lease takeover (a daemon
        that takes an expired lease closes the runs its dead holder left). Runs from
        before owners were recorded count as dead unless a live lease covers their
        source (a daemon of an older version may be running them)."""
        rows = self.rows(
            "SELECT id, owner_host, owner_pid, owner_started, EXISTS (SELECT 1 FROM leases l "
            "WHERE l.pipeline = runs.pipeline AND l.source = runs.source "
            f"AND l.expires >= {self.dialect.now_epoch()}) AS leased "
            "FROM runs WHERE status = 'running'"
        )
        dead = [
            (r["id"], r["owner_pid"])
            for r in rows
            if (r["owner_host"] is None and not r["leased"])
            or (
                r["owner_host"] is not None
                and not is_alive(
                    Owner(
                        str(r["owner_host"]),
                        int(r["owner_pid"] or 0),
                        str(r["owner_started"] or ""),
                    )
                )
            )
        ]
        if not dead:
            return 0
        now = utc_now()
        with self.transaction() as conn:
            for run_id, pid in dead:
                conn.execute(
                    "UPDATE runs SET status = 'interrupted', ended_at = ?, error = ? "
                    "WHERE id = ? AND status = 'running'",
                    (
                        now,
                        f"its process (pid {pid}) ended before the run did; "
                        "the next run of the source resumes where it stopped",
                        run_id,
                    ),
                )
        return len(dead)
