"""The store: schema, migrations, the writer's batched commits, and the small
query functions that the screens and the CLI use, on SQLite (the default) or
PostgreSQL (`--db postgresql://…`, see backend.py, sql.py and postgres.py).

One process-wide rule: only the engine's writer calls the `write_*`/`record_*`
methods; everything else reads. WAL mode lets readers (the console, another
process attached to the same file) run while the writer commits.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from sentitui.models import FailedRecord, Post, RunStats, Trigger
from sentitui.processing.clean import EARLIEST_PLAUSIBLE, RAW_DATE_SEGMENT
from sentitui.processing.ratings import rating_label
from sentitui.processing.redact import (
    redact,
    redact_data,
    redact_exact,
    register_secret,
    safe_line,
)
from sentitui.store import rollups
from sentitui.store.backend import Connection, DbTarget, DbUrl
from sentitui.store.owner import Owner, is_alive, this_process
from sentitui.store.sql import SQLITE, SqliteDialect, dialect_for, payload_text

# The pseudo segment key for posts.lang on the dashboard, in `stats` and the report.
LANGUAGE_SEGMENT = "language"


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


def _json(value: Any) -> str:
    """A JSON table column's text; the empty table (most posts) without the encoder."""
    if not value:
        return "{}"
    return str(storable(json.dumps(value, ensure_ascii=False)))


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


def _dialect(db: sqlite_utils.Database) -> SqliteDialect:
    """The SQL dialect of the database a migration is given: sqlite_utils' Database,
    or postgres.SchemaDb (told apart without importing psycopg for SQLite users)."""
    return dialect_for("sqlite" if isinstance(db, sqlite_utils.Database) else "postgresql")


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


def _migrate_text_label(db: sqlite_utils.Database) -> None:
    """Languages and ratings: `posts.text_label`, the text scorer's verdict kept beside
    a label that came from the star rating (`label_from = "rating"`), so agreement
    between the two can be measured; and an index for the language segment."""
    db.execute("ALTER TABLE posts ADD COLUMN text_label TEXT")
    db.execute("UPDATE posts SET text_label = label")
    db["posts"].create_index(["lang"], index_name="posts_lang")


def repair_implausible_created_at(db: sqlite_utils.Database) -> None:
    """Posts stored before the cleaner's date policy (processing/clean.py) may carry
    "no date" values such as 0001-01-01 or 9999-12-31, or no time at all: give them the
    time they were fetched and keep the value as written in segments.created_at_raw,
    as the cleaner now does for new posts. (The dialects' forms: store/sql.py.)"""
    d = _dialect(db)
    db.execute(
        f"""
        UPDATE posts
        SET segments = {d.json_set_text("segments", RAW_DATE_SEGMENT, "created_at")},
            created_at = fetched_at
        WHERE created_at IS NOT NULL
          AND ({d.not_iso_datetime("created_at")}
               OR created_at < ?
               OR created_at > {d.iso_plus_day("fetched_at")})
        """,
        (EARLIEST_PLAUSIBLE,),
    )


def _migrate_run_owners(db: sqlite_utils.Database) -> None:
    """Who runs each run: host, pid and process start time (store/owner.py), so the
    next process to start can close a dead owner's `running` runs as `interrupted`
    and a stopping process closes only its own."""
    db.execute("ALTER TABLE runs ADD COLUMN owner_host TEXT")
    db.execute("ALTER TABLE runs ADD COLUMN owner_pid INTEGER")
    db.execute("ALTER TABLE runs ADD COLUMN owner_started TEXT")
    db.execute("CREATE INDEX runs_status ON runs (status)")


def _migrate_rollups(db: sqlite_utils.Database) -> None:
    """Scale: pre-aggregated counts the writer keeps in step with the posts (see
    store/rollups.py), filled once from the posts already stored. The full-text index
    is filled by the writer once per batch (one INSERT … SELECT) instead of a trigger
    per row: half the cost of a post's write was that trigger."""
    d = _dialect(db)
    rollups.create(db, d)
    rollups.rebuild(db, d)
    db.execute(d.drop_trigger("posts_ai", "posts"))  # PostgreSQL never had it (a GIN index)
    # The Posts screen filters by source newest first: (source, created_at) reads one
    # page down the index where (source, label) sorted all of a source's posts (1.1 s
    # at 1M). Counts by source and label now come from the rollups.
    db.execute("DROP INDEX IF EXISTS idx_posts_source_label")
    db.execute("CREATE INDEX IF NOT EXISTS posts_source_created ON posts (source, created_at)")


def _migrate_fleet(db: sqlite_utils.Database) -> None:
    """A fleet of daemons on one database (store/fleet.py): `daemons`, `leases` (who
    pulls a source now, until when) and `runs.daemon_id`. On PostgreSQL, commits to the
    tables an attached console follows NOTIFY it (channel `sentitui`, the table's name)."""
    db["daemons"].create(
        {
            "id": int,
            "host": str,
            "pid": int,
            "started_at": str,
            "heartbeat": float,
            "stopped_at": str,
            "sources": str,
            "snapshot": str,
        },
        pk="id",
    )
    db["leases"].create(
        {
            "pipeline": str,
            "source": str,
            "daemon_id": int,
            "acquired": float,
            "expires": float,
            "after_run": int,
        },
        pk=("pipeline", "source"),
    )
    db["runs"].add_column("daemon_id", int)
    from sentitui.store import postgres

    if isinstance(db, postgres.SchemaDb):
        postgres.notify_on(db, ["runs", "events", "commands", "daemons", "meta"])


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


def _migrate_command_claims(db: sqlite_utils.Database) -> None:
    """commands.daemon_id: which daemon of a fleet claimed a command, so one waiting on
    it can tell when that daemon died with it in hand (engine/commands.py orphaned)."""
    db.execute("ALTER TABLE commands ADD COLUMN daemon_id INTEGER")


def _migrate_payload_bytes(db: sqlite_utils.Database) -> None:
    """PostgreSQL text cannot hold U+0000: there failed_records.payload becomes bytea
    (the payload's UTF-8), so a raw payload is kept byte for byte on both backends
    (sql.payload_param). SQLite's TEXT holds it already. Payloads stored before this
    on PostgreSQL had NUL as U+FFFD; they stay so."""
    if _dialect(db).name == "postgresql":
        db.execute(
            "ALTER TABLE failed_records ALTER COLUMN payload TYPE bytea "
            "USING convert_to(payload, 'UTF8')"
        )


def _migrate_scan_indexes(db: sqlite_utils.Database) -> None:
    """Two scans EXPLAIN showed on PostgreSQL at 200k posts (`bench --db`):
    - the ratings panel (rating_agreement, rating_disagreements) read every post to
      find the rated ones at each dashboard load (88 ms): a partial index holds only
      rated posts, with what those queries read, on both backends;
    - the Posts screen, newest first with undated posts last (`DESC NULLS LAST` on
      PostgreSQL, see sql.nulls_last), sorted all matching posts (98 ms for a page):
      a backward scan of the ascending index gives NULLs first there, so PostgreSQL
      gets indexes in that very order. SQLite's DESC already puts NULL last."""
    db.execute(
        "CREATE INDEX IF NOT EXISTS posts_rated ON posts (rating, text_label, polarity) "
        "WHERE rating IS NOT NULL"
    )
    if _dialect(db).name == "postgresql":
        db.execute("CREATE INDEX posts_newest ON posts (created_at DESC NULLS LAST, id DESC)")
        db.execute(
            "CREATE INDEX posts_source_newest "
            "ON posts (source, created_at DESC NULLS LAST, id DESC)"
        )


# Each entry upgrades the schema by one version; never edit an entry once released.
MIGRATIONS = [
    _migrate_1,
    _migrate_2,
    _migrate_3,
    _migrate_text_label,
    repair_implausible_created_at,
    _migrate_run_owners,
    _migrate_rollups,
    _migrate_fleet,
    _migrate_alerts,
    _migrate_command_claims,
    _migrate_payload_bytes,
    _migrate_scan_indexes,
]


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


def database_errors() -> tuple[type[Exception], ...]:
    """What a failed write raises on either backend: StoreError, sqlite3's errors and,
    once psycopg is in use (imported only for PostgreSQL), psycopg's."""
    psycopg = sys.modules.get("psycopg")
    return (StoreError, sqlite3.Error) + ((psycopg.Error,) if psycopg is not None else ())


class Store:
    """A connection to one SQLite file or PostgreSQL database. Cheap to open; open one
    per thread."""

    conn: Connection

    def __init__(
        self, path: DbTarget, *, check_same_thread: bool = True, migrate: bool = True
    ) -> None:
        self.url = DbUrl.parse(path)
        self.dialect = dialect_for(self.url.backend)
        self._lock = threading.Lock()
        if self.url.backend == "postgresql":
            self._open_postgres(migrate)
            return
        assert self.url.path is not None
        self.path = self.url.path
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

    def _open_postgres(self, migrate: bool) -> None:
        import psycopg

        from sentitui.store import postgres

        self.path = Path(self.url.display)  # only for messages: no password in it
        try:
            self.conn = postgres.connect(self.url.url)
        except (psycopg.Error, OSError) as exc:
            raise StoreError(f"database {self.url.display}: cannot connect: {exc}") from None
        self.db = postgres.SchemaDb(self.conn)
        try:
            if migrate:
                self.migrate()
        except psycopg.Error as exc:
            self.conn.close()
            raise StoreError(f"database {self.url.display}: {exc}") from None

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
            for statement in self.dialect.bootstrap():
                self.conn.execute(statement)
            version = int(self.meta("schema_version") or 0)
            for number, migration in enumerate(MIGRATIONS, start=1):
                if number > version:
                    migration(self.db)
                    self.set_meta("schema_version", str(number))
        if self.meta("author_secret") is not None:  # an older database: move its key out now
            self.author_secret()

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
    def transaction(self) -> Iterator[Connection]:
        """BEGIN IMMEDIATE … COMMIT (ROLLBACK on error). A file that cannot be written
        at all (read-only, its folder gone) raises StoreError naming it."""
        with self._lock:
            try:
                self.conn.execute(self.dialect.begin)
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

    @property
    def key_base(self) -> Path:
        """Where the author key's file is named from (store/author_key.py): the SQLite
        file, or for PostgreSQL a name from the URL under the user's config folder."""
        from sentitui.store.author_key import base_for_url

        return self.url.path if self.url.path is not None else base_for_url(self.url.url)

    def author_secret(self) -> bytes:
        """Key for pseudonymising authors, kept outside the database (store/author_key.py).
        A key an older database holds is moved to the key file and wiped from the file."""
        from sentitui.store.author_key import META_KEY, AuthorKeyError, author_key

        sqlite = self.dialect.name == "sqlite"
        try:
            with self.transaction() as conn:
                legacy = self.meta(META_KEY)
                key = author_key(self.key_base, legacy)
                if legacy is not None and sqlite:
                    [(was,)] = conn.execute("PRAGMA secure_delete").fetchall()
                    conn.execute("PRAGMA secure_delete = ON")  # zero its bytes, not just unlink
                    conn.execute("DELETE FROM meta WHERE key = ?", (META_KEY,))
                    conn.execute(f"PRAGMA secure_delete = {int(was)}")
                elif legacy is not None:  # PostgreSQL: VACUUM reclaims the dead row later
                    conn.execute("DELETE FROM meta WHERE key = ?", (META_KEY,))
        except AuthorKeyError as exc:
            raise StoreError(str(exc)) from None
        if legacy is not None and sqlite:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # and no copy left in the WAL
        register_secret(key)
        return key.encode()

    # ---- writes (the engine's writer only) -------------------------------------------

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
                rollups.apply(conn, new_rows, new_params, 1, present, self.dialect)
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
        """The whole row, its payload as the text received (sql.payload_text)."""
        found = self.rows("SELECT * FROM failed_records WHERE id = ?", (record_id,))
        if not found:
            return None
        found[0]["payload"] = payload_text(found[0]["payload"])
        return found[0]

    def failed_records(
        self,
        *,
        status: str | None = "open",
        source: str | None = None,
        stage: str | None = None,
        search: str | None = None,
        limit: int = 200,
        offset: int = 0,
        before_id: int | None = None,
    ) -> list[dict[str, Any]]:
        """Newest first. `before_id` (the last id of the previous page) pages by key, so
        a page deep in a long list costs as much as the first; `offset` skips rows."""
        where, params = self._failed_filter(status, source, stage, search)
        if before_id is not None:
            where = (where + " AND" if where else "WHERE") + " id < ?"
            params.append(before_id)
            offset = 0
        return self.rows(
            "SELECT id, run_id, pipeline, source, stage, error, created_at, updated_at, attempts, "
            f"status, {self.dialect.payload_size} AS payload_size FROM failed_records {where} "
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
        row = self.conn.execute(f"SELECT COUNT(*) FROM failed_records {where}", params).fetchone()
        return int(row[0])

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
        posts, avg, positive, neutral, negative, unscored = rollups.totals(self.conn)
        open_failed = self.count_failed(status="open")
        # Shares are of the posts a scorer read: an unscored post is no vote either way.
        scored = posts - unscored
        return {
            "posts": posts,
            "scored": scored,
            "unscored": unscored,
            "avg_polarity": avg,
            "positive": positive or 0,
            "neutral": neutral or 0,
            "negative": negative or 0,
            "share_negative": round(negative / scored, 4) if scored else 0.0,
            "open_failed": open_failed,
        }

    # The dashboard and `stats` read the rollups (store/rollups.py), never all posts.

    def totals_by_source(self) -> list[dict[str, Any]]:
        return rollups.totals_by_source(self.conn)

    def feedback_split(self) -> dict[str, int]:
        return rollups.feedback_split(self.conn)

    def segment_keys(self) -> list[str]:
        """The segment keys posts carry (not the cleaner's raw-date note), then
        `language` when any post has one."""
        return [k for k in rollups.segment_keys(self.conn) if k != RAW_DATE_SEGMENT]

    def segment_breakdown(self, key: str) -> list[dict[str, Any]]:
        return rollups.segment_breakdown(self.conn, key)

    def sentiment_over_time(
        self, bucket_seconds: int, since: str | None = None, time_column: str = "created_at"
    ) -> list[dict[str, Any]]:
        """Average polarity per source per time bucket (bucket start as ISO 8601 UTC)."""
        if time_column not in ("created_at", "fetched_at"):
            raise ValueError(time_column)
        if time_column == "created_at" and bucket_seconds % 60 == 0:
            return rollups.sentiment_over_time(self.conn, bucket_seconds, since)
        where = f"WHERE {time_column} IS NOT NULL" + (f" AND {time_column} >= ?" if since else "")
        params: list[Any] = [bucket_seconds, bucket_seconds]
        if since:
            params.append(since)
        return self.rows(
            f"SELECT source, {self.dialect.time_bucket(time_column)} AS bucket, "
            "COUNT(*) AS posts, ROUND(AVG(polarity), 4) AS avg_polarity "
            f"FROM posts {where} GROUP BY source, bucket ORDER BY bucket, source",
            params,
        )

    def posts_per_minute(self, minutes: int = 5) -> float:
        since = iso(time.time() - minutes * 60)
        assert since is not None
        return round(rollups.posts_since(self.conn, since) / minutes, 2)

    def search_posts(
        self,
        query: str | None = None,
        *,
        source: str | None = None,
        label: str | None = None,
        feedback: str | None = None,
        limit: int = 100,
        offset: int = 0,
        before: tuple[str | None, int] | None = None,
    ) -> list[dict[str, Any]]:
        """Posts newest first (undated ones last); `query` is full-text (FTS5 syntax,
        words are ANDed). `before` is the (created_at, id) of the previous page's last
        row: paging by key reads one page down the index however deep it is."""
        where, params = self._posts_filter(query, source, label, feedback)
        order = f"ORDER BY created_at DESC{self.dialect.nulls_last}, id DESC LIMIT ?"
        if before is None:
            return self.rows(
                f"SELECT * FROM posts {where} {order} OFFSET ?", (*params, limit, offset)
            )
        joiner = f"{where} AND" if where else "WHERE"
        created_at, last_id = before
        rows: list[dict[str, Any]] = []
        if created_at is not None:  # dated posts after the key, then the undated ones
            rows = self.rows(
                f"SELECT * FROM posts {joiner} (created_at, id) < (?, ?) {order}",
                (*params, created_at, last_id, limit),
            )
            last_id = 2**63 - 1
        if len(rows) < limit:
            rows += self.rows(
                f"SELECT * FROM posts {joiner} created_at IS NULL AND id < ? {order}",
                (*params, last_id, limit - len(rows)),
            )
        return rows

    def _posts_filter(
        self, query: str | None, source: str | None, label: str | None, feedback: str | None
    ) -> tuple[str, list[Any]]:
        clauses, params = [], []
        if query:
            clauses.append(self.dialect.fts_match())
            params.append(self.dialect.fts_query(query))
        for column, value in (("source", source), ("label", label), ("feedback", feedback)):
            if value:
                clauses.append(f"posts.{column} = ?")
                params.append(value)
        return ("WHERE " + " AND ".join(clauses)) if clauses else "", params

    def count_posts(self, pipeline: str | None = None) -> int:
        return rollups.count_posts(self.conn, pipeline)

    def count_search_posts(
        self,
        query: str | None = None,
        *,
        source: str | None = None,
        label: str | None = None,
        feedback: str | None = None,
    ) -> int:
        """How many posts `search_posts` would page through (for "rows 1-100 of N")."""
        if not query:  # a maintained count; only a text search counts rows
            return rollups.count_posts(self.conn, None, source, label, feedback)
        where, params = self._posts_filter(query, source, label, feedback)
        return int(self.conn.execute(f"SELECT COUNT(*) FROM posts {where}", params).fetchone()[0])

    def post_time_range(self) -> tuple[str | None, str | None]:
        """First and last `created_at`: the console sizes its "all" chart buckets from it."""
        # Two subqueries, each one step down the created_at index (MIN and MAX in one
        # SELECT would scan the whole table).
        row = self.conn.execute(
            "SELECT (SELECT MIN(created_at) FROM posts), (SELECT MAX(created_at) FROM posts)"
        ).fetchone()
        return row[0], row[1]

    # ---- insight panels (competitors, aspects) ------------------------------------------

    def competitor_summary(self, pipeline: str | None = None) -> list[dict[str, Any]]:
        """Per competitor mentioned: `mentions` (posts naming it), `share_of_voice`
        (mentions / all posts in scope, 0..1), `avg_polarity` of those posts and their
        positive/neutral/negative counts; most mentioned first."""
        total = self.count_posts(pipeline)
        rows = rollups.competitor_rows(self.conn, pipeline)
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
        rows = rollups.aspect_rows(self.conn, segment_key, pipeline)
        for row in rows:
            row["negative_share"] = round(row["negative"] / row["mentions"], 4)
        return rows

    def top_complaints(
        self, segment_key: str | None = None, pipeline: str | None = None
    ) -> dict[Any, str]:
        """{segment value: the aspect with the most negative mentions} — "price is the
        top complaint among 18-24". Without a key the one entry is under None."""
        return top_complaints_of(self.aspect_summary(segment_key, pipeline))

    # ---- ratings: the customers' own verdict beside the text scorer's -----------------

    def rating_agreement(self) -> dict[str, Any]:
        """How often the text scorer agrees with the customers' ratings, over posts that
        have both: `rated`, `agreement` (share with the same label), `macro_f1` (the
        rating's label as truth) and the confusion counts rating label -> text label."""
        rows = self.rows(
            "SELECT rating, text_label FROM posts WHERE rating IS NOT NULL "
            "AND text_label IN ('positive', 'neutral', 'negative')"
        )
        return agreement_of([(rating_label(r["rating"]), r["text_label"]) for r in rows])

    def rating_disagreements(self, limit: int = 10) -> list[dict[str, Any]]:
        """Rated posts whose text polarity is furthest from their rating (both put on
        -1..1): where the scorer misreads customers, or the text says more than stars."""
        return self.rows(
            "SELECT id, pipeline, source, url, text, rating, polarity, label, text_label, "
            "ABS((rating * 2 - 1) - polarity) AS gap FROM posts "
            "WHERE rating IS NOT NULL AND polarity IS NOT NULL "
            "ORDER BY gap DESC, id LIMIT ?",
            (limit,),
        )


def agreement_of(pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """(truth, guess) label pairs -> {"rated", "agreement", "macro_f1", "confusion"};
    macro-F1 averages over the labels that occur as truth or guess."""
    labels = ("positive", "neutral", "negative")
    confusion = {t: dict.fromkeys(labels, 0) for t in labels}
    for truth, guess in pairs:
        confusion[truth][guess] += 1
    n = len(pairs)
    agree = sum(confusion[label][label] for label in labels)
    scores = []
    for label in labels:
        tp = confusion[label][label]
        truth_n = sum(confusion[label].values())
        guess_n = sum(confusion[t][label] for t in labels)
        if truth_n or guess_n:
            scores.append(2 * tp / (truth_n + guess_n))
    return {
        "rated": n,
        "agreement": round(agree / n, 4) if n else None,
        "macro_f1": round(sum(scores) / len(scores), 4) if scores else None,
        "confusion": confusion,
    }


def top_complaints_of(rows: Iterable[dict[str, Any]]) -> dict[Any, str]:
    """`Store.top_complaints` from rows `aspect_summary` already returned (the first
    aspect with negative mentions in each segment: rows come most negative first)."""
    top: dict[Any, str] = {}
    for row in rows:
        if row["negative"] and row["segment"] not in top:
            top[row["segment"]] = row["aspect"]
    return top


fts_query = SQLITE.fts_query
