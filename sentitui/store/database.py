"""The connection to one database: opening it (SQLite file or PostgreSQL URL), the
errors that name the file and what to do, transactions, the schema's migrations, the
`meta` table and the author key. The writer (writer.py) and the report queries
(reports.py) build on it; `Store` (the package's entry point) is the three together."""

from __future__ import annotations

import sqlite3
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from sentitui.processing.redact import register_secret
from sentitui.store.backend import Connection, DbTarget, DbUrl
from sentitui.store.schema import MIGRATIONS
from sentitui.store.sql import dialect_for


class StoreError(Exception):
    """The database file cannot be used: missing folder rights, read-only, not SQLite.
    The message names the file and what to do; the CLI prints it and exits 2."""


def database_errors() -> tuple[type[Exception], ...]:
    """What a failed write raises on either backend: StoreError, sqlite3's errors and,
    once psycopg is in use (imported only for PostgreSQL), psycopg's."""
    psycopg = sys.modules.get("psycopg")
    return (StoreError, sqlite3.Error) + ((psycopg.Error,) if psycopg is not None else ())


def enter_wal(conn: sqlite3.Connection, seconds: float = 30.0) -> None:
    """Put the file in WAL mode. Two connections switching a new file at once (the
    console's read-ahead beside its engine's writer, a daemon started beside a console)
    get "database is locked" at once: SQLite does not call the busy handler for a
    journal-mode change. So wait and try again, as the busy timeout would."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            busy = getattr(exc, "sqlite_errorname", "").startswith("SQLITE_BUSY")
            if not busy or time.monotonic() > deadline:
                raise
            time.sleep(0.005)


class Database:
    """The connection part of a Store: one SQLite file or PostgreSQL database, its
    transactions and its schema. Cheap to open; open one per thread."""

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
        self.conn = conn
        try:
            enter_wal(self.conn)
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

    @property
    def db(self) -> Any:
        """What the migrations are handed: sqlite_utils' Database, or postgres.SchemaDb
        (the subset of it they use, in PostgreSQL DDL). sqlite_utils is imported here,
        when a migration runs: it brings NumPy, half a second of every command's start."""
        if self.dialect.name == "postgresql":
            from sentitui.store import postgres

            return postgres.SchemaDb(cast("postgres.PgConnection", self.conn))
        import sqlite_utils

        return sqlite_utils.Database(self.conn)

    def schema_is_current(self) -> bool:
        """Whether every migration has run (a reader opened with migrate=False may find
        a database the engine's start has not created or migrated yet)."""
        try:
            return int(self.meta("schema_version") or 0) == len(MIGRATIONS)
        except database_errors():  # no meta table yet
            return False

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

    def rows(self, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        """Rows of any query as dicts: for the engine's own tables (commands, events, the
        fleet's) and tests. Screens and the CLI read through reports.py's named queries."""
        cur = self.conn.execute(sql, tuple(params))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
