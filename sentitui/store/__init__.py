"""The SQLite store: schema, migrations, the writer's batched commits, and the small
query functions that the screens and the CLI use.

One process-wide rule: only the engine's writer calls the `write_*`/`record_*`
methods; everything else reads. WAL mode lets readers (the console, another
process attached to the same file) run while the writer commits.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from sentitui.models import FailedRecord, Post, RunStats


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


def failure_fingerprint(failure: FailedRecord) -> str:
    """What makes two failures the same bad record (a repeat bumps `attempts`): the
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


def _migrate_1(db: sqlite_utils.Database) -> None:
    db["posts"].create(
        {
            "id": int,
            "pipeline": str,
            "source": str,
            "external_id": str,
            "url": str,
            "author_hash": str,
            "text": str,
            "lang": str,
            "created_at": str,
            "fetched_at": str,
            "polarity": float,
            "subjectivity": float,
            "label": str,
            "feedback": str,
            "competitors": str,
            "rating": float,
            "segments": str,
            "run_id": int,
        },
        pk="id",
        not_null={"pipeline", "source", "external_id", "text"},
    )
    db.execute("CREATE UNIQUE INDEX posts_identity ON posts (pipeline, source, external_id)")
    db["posts"].create_index(["created_at"])
    db["posts"].create_index(["source", "label"])
    db["posts"].enable_fts(["text"], create_triggers=True, tokenize="unicode61")
    db["failed_records"].create(
        {
            "id": int,
            "run_id": int,
            "pipeline": str,
            "source": str,
            "stage": str,
            "error": str,
            "payload": str,
            "created_at": str,
            "attempts": int,
            "status": str,
            "context": str,
            "updated_at": str,
            "fingerprint": str,
        },
        pk="id",
        defaults={"attempts": 1, "status": "open"},
    )
    db["failed_records"].create_index(["status", "source"])
    db["failed_records"].create_index(["pipeline", "source", "fingerprint"])
    db["runs"].create(
        {
            "id": int,
            "pipeline": str,
            "source": str,
            "trigger": str,
            "started_at": str,
            "ended_at": str,
            "status": str,
            "fetched": int,
            "loaded": int,
            "duplicates": int,
            "failed": int,
            "error": str,
        },
        pk="id",
        defaults={"fetched": 0, "loaded": 0, "duplicates": 0, "failed": 0},
    )
    db["runs"].create_index(["pipeline", "source"])
    db["source_state"].create(
        {
            "pipeline": str,
            "source": str,
            "cursor": str,
            "updated_at": str,
        },
        pk=("pipeline", "source"),
    )


def _migrate_2(db: sqlite_utils.Database) -> None:
    """Continuous mode: `commands` an attached console writes for the daemon to carry
    out (status pending -> running -> done | failed, with a readable outcome), and
    `events`, the daemon's log lines and config reports for attached consoles."""
    db["commands"].create(
        {
            "id": int,
            "created_at": str,
            "action": str,
            "pipeline": str,
            "source": str,
            "args": str,
            "status": str,
            "outcome": str,
            "result": str,
            "done_at": str,
        },
        pk="id",
        defaults={"status": "pending"},
        not_null={"action"},
    )
    db["commands"].create_index(["status"])
    db["events"].create(
        {
            "id": int,
            "at": float,
            "kind": str,
            "level": str,
            "pipeline": str,
            "source": str,
            "message": str,
            "data": str,
        },
        pk="id",
    )


def _migrate_3(db: sqlite_utils.Database) -> None:
    """Insight: `posts.aspects`, a JSON object aspect -> {"polarity", "label"} for the
    aspects a post mentions; indexes for retention (purge by age)."""
    db.execute("ALTER TABLE posts ADD COLUMN aspects TEXT")
    db["posts"].create_index(["pipeline", "created_at"], index_name="posts_pipeline_created")
    db["failed_records"].create_index(["created_at"], index_name="failed_records_created")


def _migrate_alerts(db: sqlite_utils.Database) -> None:
    """Alerts (store/alerts.py): one row per pipeline's rule with its state (`ok`,
    `firing`, `resolved`), so a restart neither forgets a firing alert nor sends it
    again; the posts that triggered it (JSON) and how its last notification went."""
    db["alerts"].create(
        {
            "pipeline": str,
            "name": str,
            "kind": str,
            "state": str,
            "value": float,
            "detail": str,
            "posts": str,
            "fired_at": str,
            "resolved_at": str,
            "updated_at": str,
            "notified_at": str,
            "delivery_error": str,
        },
        pk=("pipeline", "name"),
        defaults={"state": "ok"},
    )
    db["alerts"].create_index(["state"])


# Each entry upgrades the schema by one version; never edit an entry once released.
MIGRATIONS = [_migrate_1, _migrate_2, _migrate_3, _migrate_alerts]


SCHEMA_VERSION = len(MIGRATIONS)


@dataclass(slots=True)
class PageWrite:
    """One transaction's worth of a runner's work."""

    stats: RunStats
    posts: list[Post]
    failures: list[FailedRecord]
    cursor: dict[str, Any] | None = None


class StoreError(Exception):
    """The database file cannot be used: missing folder rights, read-only, not SQLite.
    The message names the file and what to do; the CLI prints it and exits 2."""


class Store:
    """A connection to one SQLite file. Cheap to open; open one per thread."""

    def __init__(
        self, path: str | os.PathLike[str], *, check_same_thread: bool = True, migrate: bool = True
    ) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            if self.path.parent != Path(""):
                self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30, check_same_thread=check_same_thread)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(
                f"database {self.path}: cannot open it: "
                f"{getattr(exc, 'strerror', None) or exc} (is its folder writable?)"
            ) from None
        self.db = sqlite_utils.Database(conn)
        self.conn = conn
        try:
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA busy_timeout=30000")
            if migrate:  # readers of a database the engine has opened skip the write lock
                self.migrate()
        except sqlite3.Error as exc:
            conn.close()
            raise self._error(exc) from None

    def _error(self, exc: sqlite3.Error) -> StoreError:
        name = getattr(exc, "sqlite_errorname", "")
        if name.startswith("SQLITE_READONLY"):
            return StoreError(
                f"database {self.path} is read-only ({exc}): make the file and "
                f"its folder writable, or pass another --db"
            )
        if name.startswith("SQLITE_NOTADB") or "not a database" in str(exc):
            return StoreError(f"database {self.path}: {exc} (is --db the right file?)")
        if name.startswith("SQLITE_CANTOPEN"):
            return StoreError(
                f"database {self.path}: cannot open it: {exc} (is its folder writable?)"
            )
        if name.startswith("SQLITE_FULL"):
            return StoreError(f"database {self.path}: the disk is full ({exc})")
        return StoreError(f"database {self.path}: {exc}")

    def check_writable(self) -> None:
        """Raise StoreError now if nothing can be written (a read-only file or folder),
        rather than at the first page of the first run."""
        try:
            with self.transaction() as conn:
                conn.execute("UPDATE meta SET value = value WHERE key = 'schema_version'")
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    def close(self) -> None:
        self.conn.close()

    # ---- schema ----------------------------------------------------------------------

    def migrate(self) -> None:
        with self.transaction():
            self.conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            version = int(self.meta("schema_version") or 0)
            for number, migration in enumerate(MIGRATIONS, start=1):
                if number > version:
                    migration(self.db)
                    self.set_meta("schema_version", str(number))

    def meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT (ROLLBACK on error). A file that cannot be written
        at all (read-only, its folder gone) raises StoreError naming it."""
        with self._lock:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self.conn
                except BaseException:
                    self.conn.execute("ROLLBACK")
                    raise
                else:
                    self.conn.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                if getattr(exc, "sqlite_errorname", "").startswith(
                    ("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_IOERR", "SQLITE_FULL")
                ):
                    raise self._error(exc) from None
                raise

    def author_secret(self) -> bytes:
        """Key for pseudonymising authors: SENTITUI_SECRET, else one kept in meta."""
        env = os.environ.get("SENTITUI_SECRET")
        if env:
            return env.encode()
        value = self.meta("author_secret")
        if value is None:
            with self.transaction():
                value = self.meta("author_secret") or secrets.token_hex(32)
                self.set_meta("author_secret", value)
        return value.encode()

    # ---- writes (the engine's writer only) -------------------------------------------

    def start_run(self, pipeline: str, source: str, trigger: str) -> RunStats:
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO runs (pipeline, source, trigger, started_at, status) "
                "VALUES (?, ?, ?, ?, 'running')",
                (pipeline, source, trigger, utc_now()),
            )
        return RunStats(run_id=cur.lastrowid, pipeline=pipeline, source=source, trigger=trigger)

    def write_pages(self, writes: Iterable[PageWrite]) -> list[tuple[int, int]]:
        """Commit several pages in one transaction; returns (loaded, duplicates) per page.

        A page's posts, its failed records, its run counters and its source's cursor
        land together or not at all.
        """
        results = []
        now = utc_now()
        with self.transaction() as conn:
            for write in writes:
                stats = write.stats
                # rowcount of executemany sums sqlite3_changes(), which leaves out the
                # FTS triggers' rows: exactly the posts inserted, ignored ones excluded.
                cur = conn.executemany(
                    "INSERT OR IGNORE INTO posts (pipeline, source, external_id, url, author_hash, "
                    "text, lang, created_at, fetched_at, polarity, subjectivity, label, feedback, "
                    "competitors, rating, segments, run_id, aspects) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        tuple(
                            map(
                                storable,
                                (
                                    p.pipeline,
                                    p.source,
                                    p.external_id,
                                    p.url,
                                    p.author_hash,
                                    p.text,
                                    p.lang,
                                    p.created_at,
                                    p.fetched_at or now,
                                    p.polarity,
                                    p.subjectivity,
                                    p.label,
                                    p.feedback,
                                    json.dumps(p.competitors),
                                    p.rating,
                                    json.dumps(p.segments, ensure_ascii=False),
                                    stats.run_id,
                                    json.dumps(p.aspects, ensure_ascii=False),
                                ),
                            )
                        )
                        for p in write.posts
                    ],
                )
                loaded = max(cur.rowcount, 0) if write.posts else 0
                duplicates = len(write.posts) - loaded
                self._insert_failures(conn, stats, write.failures, now)
                if write.cursor is not None:
                    self._set_cursor(conn, stats.pipeline, stats.source, write.cursor, now)
                stats.loaded += loaded
                stats.duplicates += duplicates
                stats.failed += len(write.failures)
                conn.execute(
                    "UPDATE runs SET fetched = ?, loaded = ?, duplicates = ?, failed = ? WHERE id = ?",
                    (stats.fetched, stats.loaded, stats.duplicates, stats.failed, stats.run_id),
                )
                results.append((loaded, duplicates))
        return results

    @staticmethod
    def _insert_failures(
        conn: sqlite3.Connection, stats: RunStats, failures: list[FailedRecord], now: str
    ) -> None:
        """A record that fails again on a later run bumps its open (or ignored) row
        instead of adding a twin, so the open list stays one row per bad record."""
        for f in failures:
            fingerprint = failure_fingerprint(f)
            error, payload = storable(f.error), storable(f.payload)
            context = storable(json.dumps(f.context, ensure_ascii=False))
            cur = conn.execute(
                "UPDATE failed_records SET attempts = attempts + 1, error = ?, run_id = ?, "
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
        conn: sqlite3.Connection, pipeline: str, source: str, cursor: dict[str, Any], now: str
    ) -> None:
        conn.execute(
            "INSERT INTO source_state (pipeline, source, cursor, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(pipeline, source) DO UPDATE SET cursor = excluded.cursor, "
            "updated_at = excluded.updated_at",
            (pipeline, source, storable(json.dumps(cursor, ensure_ascii=False)), now),
        )

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
                    storable(stats.error),
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
                        (storable(error), now, record_id),
                    )
                else:
                    conn.execute(
                        "UPDATE failed_records SET status = ?, updated_at = ?, "
                        "attempts = attempts + (? = 'resolved') WHERE id = ?",
                        (status, now, status, record_id),
                    )

    def close_open_runs(self, status: str = "cancelled") -> int:
        with self.transaction() as conn:
            cur = conn.execute(
                "UPDATE runs SET status = ?, ended_at = ? WHERE status = 'running'",
                (status, utc_now()),
            )
        return cur.rowcount

    # ---- reads -----------------------------------------------------------------------

    def cursor(self, pipeline: str, source: str) -> dict[str, Any]:
        row = self.conn.execute(
            "SELECT cursor FROM source_state WHERE pipeline = ? AND source = ?", (pipeline, source)
        ).fetchone()
        return json.loads(row[0]) if row and row[0] else {}

    def rows(self, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        cur = self.conn.execute(sql, tuple(params))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def failed_heads(self, ids: Iterable[int]) -> dict[int, tuple[str, str]]:
        """id -> (pipeline, source) of the failed records that exist, payloads unread."""
        ids = list(ids)
        heads: dict[int, tuple[str, str]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            for record_id, pipeline, source in self.conn.execute(
                f"SELECT id, pipeline, source FROM failed_records WHERE id IN ({marks})", chunk
            ):
                heads[record_id] = (pipeline, source)
        return heads

    def failed_record(self, record_id: int) -> dict[str, Any] | None:
        found = self.rows("SELECT * FROM failed_records WHERE id = ?", (record_id,))
        return found[0] if found else None

    def failed_records(
        self,
        *,
        status: str | None = "open",
        source: str | None = None,
        stage: str | None = None,
        search: str | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        where, params = self._failed_filter(status, source, stage, search)
        return self.rows(
            "SELECT id, run_id, pipeline, source, stage, error, created_at, updated_at, attempts, "
            f"status, length(payload) AS payload_size FROM failed_records {where} "
            "ORDER BY id DESC LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )

    def count_failed(
        self,
        *,
        status: str | None = "open",
        source: str | None = None,
        stage: str | None = None,
        search: str | None = None,
    ) -> int:
        where, params = self._failed_filter(status, source, stage, search)
        return self.conn.execute(f"SELECT COUNT(*) FROM failed_records {where}", params).fetchone()[
            0
        ]

    @staticmethod
    def _failed_filter(
        status: str | None, source: str | None, stage: str | None, search: str | None
    ) -> tuple[str, list[Any]]:
        clauses, params = [], []
        for column, value in (("status", status), ("source", source), ("stage", stage)):
            if value:
                clauses.append(f"{column} = ?")
                params.append(value)
        if search:  # a substring: % and _ are only themselves
            escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            clauses.append("error LIKE ? ESCAPE '\\'")
            params.append(f"%{escaped}%")
        return ("WHERE " + " AND ".join(clauses)) if clauses else "", params

    def runs(self, limit: int = 50, pipeline: str | None = None) -> list[dict[str, Any]]:
        if pipeline:
            return self.rows(
                "SELECT * FROM runs WHERE pipeline = ? ORDER BY id DESC LIMIT ?", (pipeline, limit)
            )
        return self.rows("SELECT * FROM runs ORDER BY id DESC LIMIT ?", (limit,))

    def last_runs(self) -> dict[tuple[str, str], dict[str, Any]]:
        """The latest run of every (pipeline, source)."""
        rows = self.rows(
            "SELECT * FROM runs WHERE id IN (SELECT MAX(id) FROM runs GROUP BY pipeline, source)"
        )
        return {(r["pipeline"], r["source"]): r for r in rows}

    def totals(self) -> dict[str, Any]:
        """Headline figures for the dashboard and `sentitui stats`."""
        row = self.conn.execute(
            "SELECT COUNT(*), AVG(polarity), SUM(label = 'negative'), SUM(label = 'positive'), "
            "SUM(label = 'neutral') FROM posts"
        ).fetchone()
        posts, avg, negative, positive, neutral = row
        open_failed = self.count_failed(status="open")
        return {
            "posts": posts,
            "avg_polarity": round(avg, 4) if avg is not None else None,
            "positive": positive or 0,
            "neutral": neutral or 0,
            "negative": negative or 0,
            "share_negative": round((negative or 0) / posts, 4) if posts else 0.0,
            "open_failed": open_failed,
        }

    def totals_by_source(self) -> list[dict[str, Any]]:
        return self.rows(
            "SELECT pipeline, source, COUNT(*) AS posts, ROUND(AVG(polarity), 4) AS avg_polarity, "
            "SUM(label = 'positive') AS positive, SUM(label = 'neutral') AS neutral, "
            "SUM(label = 'negative') AS negative FROM posts GROUP BY pipeline, source "
            "ORDER BY pipeline, source"
        )

    def feedback_split(self) -> dict[str, int]:
        return {
            r["feedback"]: r["n"]
            for r in self.rows(
                "SELECT feedback, COUNT(*) AS n FROM posts GROUP BY feedback ORDER BY n DESC"
            )
        }

    def segment_keys(self) -> list[str]:
        rows = self.rows(
            "SELECT DISTINCT j.key AS key FROM posts, json_each(posts.segments) AS j ORDER BY key"
        )
        return [r["key"] for r in rows]

    def segment_breakdown(self, key: str) -> list[dict[str, Any]]:
        return self.rows(
            "SELECT json_extract(segments, '$.' || ?) AS segment, COUNT(*) AS posts, "
            "ROUND(AVG(polarity), 4) AS avg_polarity, SUM(label = 'positive') AS positive, "
            "SUM(label = 'neutral') AS neutral, SUM(label = 'negative') AS negative "
            "FROM posts WHERE json_extract(segments, '$.' || ?) IS NOT NULL "
            "GROUP BY segment ORDER BY posts DESC",
            (json.dumps(key)[1:-1], json.dumps(key)[1:-1]),
        )

    def sentiment_over_time(
        self, bucket_seconds: int, since: str | None = None, time_column: str = "created_at"
    ) -> list[dict[str, Any]]:
        """Average polarity per source per time bucket (bucket start as ISO 8601 UTC)."""
        if time_column not in ("created_at", "fetched_at"):
            raise ValueError(time_column)
        where = f"WHERE {time_column} IS NOT NULL" + (f" AND {time_column} >= ?" if since else "")
        params: list[Any] = [bucket_seconds, bucket_seconds]
        if since:
            params.append(since)
        return self.rows(
            "SELECT source, strftime('%Y-%m-%dT%H:%M:%SZ', "
            f"(CAST(strftime('%s', {time_column}) AS INTEGER) / ?) * ?, 'unixepoch') AS bucket, "
            "COUNT(*) AS posts, ROUND(AVG(polarity), 4) AS avg_polarity "
            f"FROM posts {where} GROUP BY source, bucket ORDER BY bucket, source",
            params,
        )

    def posts_per_minute(self, minutes: int = 5) -> float:
        since = iso(time.time() - minutes * 60)
        n = self.conn.execute(
            "SELECT COUNT(*) FROM posts WHERE fetched_at >= ?", (since,)
        ).fetchone()[0]
        return round(n / minutes, 2)

    def search_posts(
        self,
        query: str | None = None,
        *,
        source: str | None = None,
        label: str | None = None,
        feedback: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Posts newest first; `query` is full-text (FTS5 syntax, words are ANDed)."""
        where, params = self._posts_filter(query, source, label, feedback)
        return self.rows(
            f"SELECT * FROM posts {where} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )

    @staticmethod
    def _posts_filter(
        query: str | None, source: str | None, label: str | None, feedback: str | None
    ) -> tuple[str, list[Any]]:
        clauses, params = [], []
        if query:
            clauses.append("posts.id IN (SELECT rowid FROM posts_fts WHERE posts_fts MATCH ?)")
            params.append(fts_query(query))
        for column, value in (("source", source), ("label", label), ("feedback", feedback)):
            if value:
                clauses.append(f"posts.{column} = ?")
                params.append(value)
        return ("WHERE " + " AND ".join(clauses)) if clauses else "", params

    def count_posts(self, pipeline: str | None = None) -> int:
        if pipeline:
            return self.conn.execute(
                "SELECT COUNT(*) FROM posts WHERE pipeline = ?", (pipeline,)
            ).fetchone()[0]
        return self.conn.execute("SELECT COUNT(*) FROM posts").fetchone()[0]

    def count_search_posts(
        self,
        query: str | None = None,
        *,
        source: str | None = None,
        label: str | None = None,
        feedback: str | None = None,
    ) -> int:
        """How many posts `search_posts` would page through (for "rows 1-100 of N")."""
        where, params = self._posts_filter(query, source, label, feedback)
        return self.conn.execute(f"SELECT COUNT(*) FROM posts {where}", params).fetchone()[0]

    def post_time_range(self) -> tuple[str | None, str | None]:
        """First and last `created_at`: the console sizes its "all" chart buckets from it."""
        row = self.conn.execute("SELECT MIN(created_at), MAX(created_at) FROM posts").fetchone()
        return row[0], row[1]

    # ---- insight panels (competitors, aspects) ------------------------------------------

    def competitor_summary(self, pipeline: str | None = None) -> list[dict[str, Any]]:
        """Per competitor mentioned: `mentions` (posts naming it), `share_of_voice`
        (mentions / all posts in scope, 0..1), `avg_polarity` of those posts and their
        positive/neutral/negative counts; most mentioned first."""
        where, params = ("WHERE posts.pipeline = ?", [pipeline]) if pipeline else ("", [])
        total = self.conn.execute(f"SELECT COUNT(*) FROM posts {where}", params).fetchone()[0]
        rows = self.rows(
            "SELECT c.value AS competitor, COUNT(*) AS mentions, "
            "ROUND(AVG(posts.polarity), 4) AS avg_polarity, "
            "SUM(posts.label = 'positive') AS positive, SUM(posts.label = 'neutral') AS neutral, "
            "SUM(posts.label = 'negative') AS negative "
            f"FROM posts, json_each(posts.competitors) AS c {where} "
            "GROUP BY c.value ORDER BY mentions DESC, competitor",
            params,
        )
        for row in rows:
            row["share_of_voice"] = round(row["mentions"] / total, 4) if total else 0.0
        return rows

    def aspect_summary(
        self, segment_key: str | None = None, pipeline: str | None = None
    ) -> list[dict[str, Any]]:
        """Per aspect (and per value of `segment_key`, e.g. "age_group", when given):
        `mentions`, `avg_polarity`, positive/neutral/negative counts and
        `negative_share`. Posts without that segment are left out of a segmented
        summary. Ordered by segment, then most negative mentions first."""
        clauses, params = ["posts.aspects IS NOT NULL"], []
        segment_sql = "NULL"
        if segment_key:
            path = "$." + json.dumps(segment_key)
            segment_sql = "json_extract(posts.segments, ?)"
            clauses.append("json_extract(posts.segments, ?) IS NOT NULL")
            params.append(path)
        if pipeline:
            clauses.append("posts.pipeline = ?")
            params.append(pipeline)
        select_params = [path] if segment_key else []
        rows = self.rows(
            f"SELECT {segment_sql} AS segment, a.key AS aspect, COUNT(*) AS mentions, "
            "ROUND(AVG(json_extract(a.value, '$.polarity')), 4) AS avg_polarity, "
            "SUM(json_extract(a.value, '$.label') = 'positive') AS positive, "
            "SUM(json_extract(a.value, '$.label') = 'neutral') AS neutral, "
            "SUM(json_extract(a.value, '$.label') = 'negative') AS negative "
            "FROM posts, json_each(posts.aspects) AS a WHERE " + " AND ".join(clauses) + " "
            "GROUP BY segment, aspect ORDER BY segment, negative DESC, mentions DESC, aspect",
            select_params + params,
        )
        for row in rows:
            row["negative_share"] = round(row["negative"] / row["mentions"], 4)
        return rows

    def top_complaints(
        self, segment_key: str | None = None, pipeline: str | None = None
    ) -> dict[Any, str]:
        """{segment value: the aspect with the most negative mentions} — "price is the
        top complaint among 18-24". Without a key the one entry is under None."""
        return top_complaints_of(self.aspect_summary(segment_key, pipeline))


def top_complaints_of(rows: Iterable[dict[str, Any]]) -> dict[Any, str]:
    """`Store.top_complaints` from rows `aspect_summary` already returned (the first
    aspect with negative mentions in each segment: rows come most negative first)."""
    top: dict[Any, str] = {}
    for row in rows:
        if row["negative"] and row["segment"] not in top:
            top[row["segment"]] = row["aspect"]
    return top


def fts_query(text: str) -> str:
    """User words -> a safe FTS5 query: each word quoted, so `-`, `:` or `"` cannot
    break the syntax; a trailing `*` on a word keeps prefix search."""
    terms = []
    for word in text.split():
        prefix = word.endswith("*")
        word = word.rstrip("*").replace('"', '""')
        if word:
            terms.append(f'"{word}"' + ("*" if prefix else ""))
    return " ".join(terms) or '""'
