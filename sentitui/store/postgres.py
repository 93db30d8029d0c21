"""The PostgreSQL backend (psycopg 3 + psycopg_pool): a connection with sqlite3's
surface, so the Store's queries (written once, with `?` placeholders) run unchanged,
and the subset of sqlite_utils the migrations use, so the same MIGRATIONS build the
same tables here.

Connections come from one pool per URL per process: a Store is cheap to open (the
console opens one per query) and close() hands the connection back.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import psycopg
from psycopg.adapt import Loader
from psycopg_pool import ConnectionPool

MIGRATION_LOCK = 0x5E471  # pg_advisory_xact_lock key: one migrating process at a time

# Run at the start of every migration transaction (see sql.SqliteDialect.bootstrap).
# `sum(boolean)` and `round(double precision, int)` give PostgreSQL the two SQLite idioms
# the dashboard queries use, so those queries are written once for both. Created only
# where missing: the role that runs SentiTUI need not own objects someone else made.
BOOTSTRAP = (
    f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)",
    """DO $$BEGIN
    IF to_regprocedure('sentitui_count_true(bigint, boolean)') IS NULL THEN
        CREATE FUNCTION sentitui_count_true(bigint, boolean) RETURNS bigint
            LANGUAGE sql IMMUTABLE AS 'SELECT $1 + CASE WHEN $2 THEN 1 ELSE 0 END';
        CREATE AGGREGATE sum(boolean)
            (SFUNC = sentitui_count_true, STYPE = bigint, INITCOND = '0');
    END IF;
    IF to_regprocedure('round(double precision, integer)') IS NULL THEN
        CREATE FUNCTION round(double precision, integer) RETURNS double precision
            LANGUAGE sql IMMUTABLE AS 'SELECT round($1::numeric, $2)::double precision';
    END IF;
END$$""",
)

_TOKEN = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\?|%")


@functools.lru_cache(maxsize=1024)
def translate(sql: str) -> str:
    """`?` -> `%s` outside quoted literals and identifiers; every `%` -> `%%` (psycopg
    reads placeholders inside literals too)."""

    def swap(match: re.Match[str]) -> str:
        token = match.group(0)
        return "%s" if token == "?" else token.replace("%", "%%")

    return _TOKEN.sub(swap, sql)


class _NumericLoader(Loader):
    """numeric (what SUM/AVG of integers give) as int or float, as SQLite returns them,
    not Decimal."""

    def load(self, data: Any) -> int | float:
        text = bytes(data).decode()
        return int(text) if text.lstrip("-").isdigit() else float(text)


def _configure(conn: psycopg.Connection[Any]) -> None:
    conn.adapters.register_loader("numeric", _NumericLoader)


_pools: dict[str, ConnectionPool] = {}
_pools_lock = threading.Lock()


def pool_for(url: str) -> ConnectionPool:
    with _pools_lock:
        pool = _pools.get(url)
        if pool is None:
            # One plain attempt first: a wrong host, database or password fails now with
            # the server's message, not after the pool's retries time out.
            psycopg.connect(url, connect_timeout=10).close()
            pool = ConnectionPool(
                url,
                min_size=1,
                max_size=16,
                kwargs={"autocommit": True},
                configure=_configure,
                check=ConnectionPool.check_connection,
                open=False,
                name="sentitui",
            )
            pool.open(wait=True, timeout=15)
            _pools[url] = pool
        return pool


def close_pools() -> None:
    """Close every pool of this process (tests, before dropping their database)."""
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.close()


def connect(url: str) -> PgConnection:
    """A pooled connection in autocommit mode: the Store sends BEGIN/COMMIT itself."""
    pool = pool_for(url)
    return PgConnection(pool, pool.getconn(timeout=30))


class PgConnection:
    """sqlite3.Connection's execute/executemany/close over a psycopg connection."""

    def __init__(self, pool: ConnectionPool | None, raw: psycopg.Connection[Any]) -> None:
        self.pool = pool
        self.raw = raw

    def execute(self, sql: str, parameters: Iterable[Any] = ()) -> psycopg.Cursor[Any]:
        cur = self.raw.cursor()
        cur.execute(translate(sql), _no_nul(parameters))
        return cur

    def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> psycopg.Cursor[Any]:
        """rowcount is the sum over all the parameter sets, as in sqlite3."""
        cur = self.raw.cursor()
        rows = [_no_nul(p) for p in parameters]
        if rows:
            cur.executemany(translate(sql), rows)
        return cur

    def close(self) -> None:
        if self.pool is not None:
            self.pool.putconn(self.raw)
        else:
            self.raw.close()


def _no_nul(parameters: Iterable[Any]) -> tuple[Any, ...]:
    """PostgreSQL text cannot hold NUL. A post never has one (the cleaner removes it,
    processing/clean.py) and a raw payload goes as bytea (sql.payload_param); any other
    text that quotes one gets U+FFFD, as storable() does with a lone surrogate, rather
    than failing the page's whole transaction."""
    return tuple(
        p.replace("\x00", "\ufffd") if isinstance(p, str) and "\x00" in p else p for p in parameters
    )


_TYPES = {int: "BIGINT", str: "TEXT", float: "DOUBLE PRECISION", bytes: "BYTEA", bool: "BOOLEAN"}


class SchemaDb:
    """What migrations call on sqlite_utils.Database, in PostgreSQL DDL: `db[name]`
    (create, create_index, add_column, enable_fts) and `db.execute`."""

    def __init__(self, conn: PgConnection) -> None:
        self.conn = conn

    def __getitem__(self, name: str) -> SchemaTable:
        return SchemaTable(self, name)

    def execute(self, sql: str, parameters: Iterable[Any] = ()) -> psycopg.Cursor[Any]:
        return self.conn.execute(sql, parameters)


class SchemaTable:
    def __init__(self, db: SchemaDb, name: str) -> None:
        self.db = db
        self.name = name

    def create(
        self,
        columns: dict[str, type],
        pk: str | tuple[str, ...] | None = None,
        not_null: Iterable[str] = (),
        defaults: dict[str, Any] | None = None,
    ) -> SchemaTable:
        not_null, defaults = set(not_null), defaults or {}
        lines = []
        for column, kind in columns.items():
            if pk == column and kind is int:  # sqlite's INTEGER PRIMARY KEY: ids from a sequence
                lines.append(f'"{column}" BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY')
                continue
            line = f'"{column}" {_TYPES[kind]}'
            if column in not_null:
                line += " NOT NULL"
            if column in defaults:
                line += f" DEFAULT {_literal(defaults[column])}"
            lines.append(line)
        if isinstance(pk, tuple):
            lines.append("PRIMARY KEY (" + ", ".join(f'"{c}"' for c in pk) + ")")
        elif pk is not None and columns.get(pk) is not int:
            lines.append(f'PRIMARY KEY ("{pk}")')
        self.db.execute(f'CREATE TABLE "{self.name}" (' + ", ".join(lines) + ")")
        return self

    def create_index(
        self,
        columns: Iterable[str],
        index_name: str | None = None,
        unique: bool = False,
        if_not_exists: bool = False,
    ) -> SchemaTable:
        columns = list(columns)
        name = index_name or f"idx_{self.name}_{'_'.join(columns)}"
        self.db.execute(
            f"CREATE {'UNIQUE ' if unique else ''}INDEX "
            f'{"IF NOT EXISTS " if if_not_exists else ""}"{name}" ON "{self.name}" ('
            + ", ".join(f'"{c}"' for c in columns)
            + ")"
        )
        return self

    def add_column(self, name: str, kind: type = str) -> SchemaTable:
        self.db.execute(f'ALTER TABLE "{self.name}" ADD COLUMN "{name}" {_TYPES[kind]}')
        return self

    def enable_fts(self, columns: Iterable[str], **_: Any) -> SchemaTable:
        """A GIN index on the words of `columns` (sql.PostgresDialect.fts_match)."""
        document = " || ' ' || ".join(f"coalesce({c}, '')" for c in columns)
        self.db.execute(
            f'CREATE INDEX "{self.name}_fts" ON "{self.name}" '
            f"USING gin (to_tsvector('simple', {document}))"
        )
        return self


CHANNEL = "sentitui"


def notify_on(db: SchemaDb, tables: Iterable[str]) -> None:
    """NOTIFY `sentitui` with the table's name after each statement that changes one of
    `tables`: attached consoles LISTEN instead of polling (delivered at commit)."""
    db.execute(
        "CREATE OR REPLACE FUNCTION sentitui_notify() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$BEGIN PERFORM pg_notify('{CHANNEL}', TG_TABLE_NAME); RETURN NULL; END$$"
    )
    for table in tables:
        db.execute(
            f'CREATE TRIGGER "{table}_notify" AFTER INSERT OR UPDATE OR DELETE ON "{table}" '
            "FOR EACH STATEMENT EXECUTE FUNCTION sentitui_notify()"
        )


async def notifications(
    url: str, on_listen: Callable[[], None] = lambda: None
) -> AsyncIterator[str]:
    """The table names NOTIFY `sentitui` carries, as their transactions commit, on a
    connection of its own (a pooled one cannot stay LISTENing). `on_listen()` is
    called once LISTEN is in place: what committed before it must be read by hand."""
    conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
    try:
        await conn.execute(f"LISTEN {CHANNEL}")
        on_listen()
        async for note in conn.notifies():
            yield note.payload
    finally:
        await conn.close()


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"
