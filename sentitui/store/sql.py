"""The few SQL fragments where SQLite and PostgreSQL truly differ, one method each.

Every query is written once, in the Store, with `?` placeholders and SQL both engines
read. What neither can spell the other's way lives here:
- full-text search: SQLite's FTS5 table `posts_fts` vs a GIN index on
  `to_tsvector('simple', text)`, and the query syntax of each;
- JSON in TEXT columns: `json_each` / `json_extract` vs `::json` operators;
- time buckets: `strftime('%s')` arithmetic vs `extract(epoch)` / `to_char`;
- the rollups' expansions of a post's JSON columns (store/rollups.py): `json_each`
  vs `jsonb_each_text` / `jsonb_each` / `jsonb_array_elements_text` with `->>`;
- date repairs (the migration repair_implausible_created_at): `json_set`, `GLOB` and
  `strftime(…, '+1 day')` vs `jsonb ||`, `~` and `interval '1 day'`;
- where NULLs sort: last in SQLite's `DESC`, first in PostgreSQL's;
- a failed record's raw payload: TEXT on SQLite (it holds U+0000), `bytea` of its
  UTF-8 on PostgreSQL (whose text cannot), so it is kept byte for byte on both;
- how a write transaction starts and how concurrent migrations are serialised.
Two SQLite idioms the queries use, `SUM(a = b)` and `ROUND(AVG(x), n)`, are given to
PostgreSQL as functions in the schema (see postgres.COMPAT), so those queries too
are written once.
"""

from __future__ import annotations

import json
import re

from sentitui.store.backend import Backend


class SqliteDialect:
    name: Backend = "sqlite"
    begin = "BEGIN IMMEDIATE"  # take the write lock now, not at the first write

    def now_epoch(self) -> str:
        """The database's clock in seconds since 1970 (fleet leases never trust a host's)."""
        return "((julianday('now') - 2440587.5) * 86400.0)"

    skip_locked = ""  # SQLite's write lock already serialises claimers
    # The posts table as a FROM item, for a query whose condition bounds posts.id: no
    # index but the rowid's, which SQLite still searches by range. Its planner would walk
    # an index of all posts in GROUP BY order rather than sort a page's rows.
    posts_by_id = "posts NOT INDEXED"

    def bootstrap(self) -> list[str]:
        """Statements run at the start of every migration transaction."""
        return ["CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)"]

    def json_each(self, column: str) -> str:
        """Rows (key, value) of the JSON object in `column`, as a FROM item."""
        return f"json_each({column})"

    def json_array_values(self, column: str, alias: str) -> str:
        """Rows (value) of the JSON list in `column`, as a FROM item named `alias`."""
        return f"json_each({_valid(column)}) AS {alias}"

    def json_field(self, column: str) -> str:
        """The text/number at one key of `column` (the key is the next parameter)."""
        return f"json_extract({column}, ?)"

    def json_key(self, key: str) -> str:
        """The parameter json_field takes for `key`."""
        return "$." + json.dumps(key)

    def json_number(self, expr: str, key: str) -> str:
        """`expr`'s field `key` (a plain identifier) as a number."""
        return f"json_extract({_valid(expr)}, '$.{_identifier(key)}')"

    def json_text(self, expr: str, key: str) -> str:
        return f"json_extract({_valid(expr)}, '$.{_identifier(key)}')"

    def time_bucket(self, column: str) -> str:
        """ISO 8601 UTC start of `column`'s bucket; takes (seconds, seconds) params."""
        return (
            "strftime('%Y-%m-%dT%H:%M:%SZ', "
            f"(CAST(strftime('%s', {column}) AS INTEGER) / ?) * ?, 'unixepoch')"
        )

    def fts_match(self) -> str:
        """A WHERE clause on `posts` taking fts_query()'s result as its parameter."""
        return "posts.id IN (SELECT rowid FROM posts_fts WHERE posts_fts MATCH ?)"

    def fts_query(self, text: str) -> str:
        """User words -> a safe FTS5 query: each word quoted, so `-`, `:` or `"` cannot
        break the syntax; a trailing `*` on a word keeps prefix search."""
        terms = []
        for word in text.split():
            prefix = word.endswith("*")
            word = word.rstrip("*").replace('"', '""')
            if word:
                terms.append(f'"{word}"' + ("*" if prefix else ""))
        return " ".join(terms) or '""'

    # ---- rollups (store/rollups.py) ----------------------------------------------------
    rollup_integer = "INTEGER"  # SQLite's INTEGER is 64-bit already

    def json_object_texts(self, column: str, alias: str) -> str:
        """Rows (key, value as text) of the JSON object in `column`, a FROM item named
        `alias`. A non-object (or NULL) column gives no rows."""
        return f"json_each({_valid(column)}) AS {alias}"

    def json_object_rows(self, column: str, alias: str) -> str:
        """Rows (key, value as JSON, for json_number/json_text) of the JSON object."""
        return f"json_each({_valid(column)}) AS {alias}"

    def fts_fill(self, where: str) -> str | None:
        """The statement that indexes the words of the posts matching `where` just
        inserted; None where an index on the table keeps itself."""
        return f"INSERT INTO posts_fts (rowid, text) SELECT id, text FROM posts WHERE {where}"

    def fts_rebuild(self) -> str | None:
        """Re-index every post's words (after rows were copied in bulk)."""
        return "INSERT INTO posts_fts (posts_fts) VALUES ('rebuild')"

    def drop_trigger(self, name: str, table: str) -> str:
        return f"DROP TRIGGER IF EXISTS {name}"

    # ---- failed records' raw payloads ------------------------------------------------
    payload_size = "length(CAST(payload AS BLOB))"  # bytes (length() of text stops at NUL)

    def payload_param(self, payload: str) -> str | bytes:
        """A payload as failed_records.payload takes it: SQLite text holds any character."""
        return payload

    # ---- ordering --------------------------------------------------------------------
    nulls_last = ""  # SQLite sorts NULL lowest: DESC puts undated posts last already

    # ---- date repairs (repair_implausible_created_at) ---------------------------------

    def json_set_text(self, column: str, key: str, value: str) -> str:
        """`column`'s JSON object (`{}` if it is not valid JSON) with `key` set to the
        text `value` (an SQL expression)."""
        return (
            f"json_set(CASE WHEN json_valid({column}) THEN {column} ELSE '{{}}' END, "
            f"'$.{_identifier(key)}', {value})"
        )

    def not_iso_datetime(self, column: str) -> str:
        """True when `column` does not start as YYYY-MM-DDT."""
        return f"{column} NOT GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T*'"

    def iso_plus_day(self, column: str) -> str:
        """The ISO 8601 UTC text of `column` plus one day (NULL if it is no time)."""
        return f"strftime('%Y-%m-%dT%H:%M:%SZ', {column}, '+1 day')"


class PostgresDialect(SqliteDialect):
    name: Backend = "postgresql"
    begin = "BEGIN"

    skip_locked = " FOR UPDATE SKIP LOCKED"  # a row another daemon is claiming is its
    # PostgreSQL's planner takes the primary key's range itself once the table has
    # statistics (autovacuum's ANALYZE; before, a small table is read whole).
    posts_by_id = "posts"

    def now_epoch(self) -> str:
        return "extract(epoch FROM clock_timestamp())::double precision"

    def bootstrap(self) -> list[str]:
        from sentitui.store.postgres import BOOTSTRAP

        return list(BOOTSTRAP)

    def json_each(self, column: str) -> str:
        return f"json_each({column}::json)"

    def json_array_values(self, column: str, alias: str) -> str:
        return f"jsonb_array_elements_text({_typed(column, 'array')}) AS {alias}(value)"

    def json_field(self, column: str) -> str:
        return f"({column}::json ->> ?)"

    def json_key(self, key: str) -> str:
        return key

    def json_number(self, expr: str, key: str) -> str:
        return f"({expr} ->> '{_identifier(key)}')::double precision"

    def json_text(self, expr: str, key: str) -> str:
        return f"({expr} ->> '{_identifier(key)}')"

    def time_bucket(self, column: str) -> str:
        return (
            "to_char(to_timestamp(floor(extract(epoch FROM "
            f"{column}::timestamptz) / ?) * ?) AT TIME ZONE 'UTC', "
            """'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""
        )

    def fts_match(self) -> str:
        # The expression of the GIN index postgres.SchemaDb.enable_fts made.
        return "to_tsvector('simple', coalesce(posts.text, '')) @@ to_tsquery('simple', ?)"

    def fts_query(self, text: str) -> str:
        """User words -> a tsquery of quoted lexemes ANDed; `word*` is a prefix."""
        terms = []
        for word in text.split():
            prefix = word.endswith("*")
            for i, token in enumerate(found := re.findall(r"\w+", word.rstrip("*"))):
                quoted = "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"
                terms.append(quoted + (":*" if prefix and i == len(found) - 1 else ""))
        return " & ".join(terms) or "''"

    rollup_integer = "BIGINT"  # polarity sums in ten-thousandths outgrow int4 at ~200k posts

    def json_object_texts(self, column: str, alias: str) -> str:
        return f"jsonb_each_text({_object(column)}) AS {alias}(key, value)"

    def json_object_rows(self, column: str, alias: str) -> str:
        return f"jsonb_each({_object(column)}) AS {alias}(key, value)"

    def fts_fill(self, where: str) -> str | None:
        return None  # the GIN expression index (postgres.SchemaTable.enable_fts)

    def fts_rebuild(self) -> str | None:
        return None

    def drop_trigger(self, name: str, table: str) -> str:
        return f"DROP TRIGGER IF EXISTS {name} ON {table}"

    nulls_last = " NULLS LAST"  # PostgreSQL sorts NULL highest: first in DESC

    payload_size = "length(payload)"  # bytea: its bytes

    def payload_param(self, payload: str) -> str | bytes:
        """bytea, the payload's UTF-8: PostgreSQL text cannot hold U+0000. (Lone
        surrogates, which no UTF-8 can hold, became U+FFFD in storable() on both.)"""
        return payload.encode("utf-8")

    def json_set_text(self, column: str, key: str, value: str) -> str:
        return (
            # A column that does not open as an object starts one afresh (PostgreSQL 15
            # has no `IS JSON`; the writer only ever stores json.dumps of a dict).
            f"(CASE WHEN {column} ~ '^\\s*[{{]' THEN {column}::jsonb ELSE '{{}}'::jsonb END "
            f"|| jsonb_build_object('{_identifier(key)}', {value}::text))::text"
        )

    def not_iso_datetime(self, column: str) -> str:
        return f"{column} !~ '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}T'"

    def iso_plus_day(self, column: str) -> str:
        # SQLite's strftime gives NULL for text that is no time; a cast here would fail.
        return (
            f"CASE WHEN {column} ~ '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}T[0-9]{{2}}:[0-9]{{2}}' "
            f"THEN to_char(({column}::timestamptz + interval '1 day') AT TIME ZONE 'UTC', "
            """'YYYY-MM-DD"T"HH24:MI:SS"Z"') END"""
        )


def payload_text(value: str | bytes | memoryview | None) -> str | None:
    """A stored payload, from either backend, as the text it was received as."""
    if isinstance(value, bytes | memoryview):
        return bytes(value).decode("utf-8")
    return value


def _valid(column: str) -> str:
    """SQLite: `column` where it holds JSON, else an empty list. A stored value that is
    not JSON (a row written by hand, an old bug) then adds nothing to a breakdown
    instead of failing the write, the rollup rebuild or a migration."""
    return f"CASE WHEN json_valid({column}) THEN {column} ELSE '[]' END"


def _object(column: str) -> str:
    return _typed(column, "object")


def _typed(column: str, kind: str) -> str:
    """`column` (JSON text) as jsonb when it holds a JSON `kind`, else NULL (no rows):
    jsonb_each and jsonb_array_elements raise on other kinds where SQLite's json_each
    yields rows."""
    return f"CASE WHEN jsonb_typeof({column}::jsonb) = '{kind}' THEN {column}::jsonb END"


def _identifier(key: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
        raise ValueError(f"not a plain JSON key: {key!r}")
    return key


SQLITE = SqliteDialect()
POSTGRESQL = PostgresDialect()


def dialect_for(backend: Backend) -> SqliteDialect:
    return POSTGRESQL if backend == "postgresql" else SQLITE
