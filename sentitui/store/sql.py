"""The few SQL fragments where SQLite and PostgreSQL truly differ, one method each.

Every query is written once, in the Store, with `?` placeholders and SQL both engines
read. What neither can spell the other's way lives here:
- full-text search: SQLite's FTS5 table `posts_fts` vs a GIN index on
  `to_tsvector('simple', text)`, and the query syntax of each;
- JSON in TEXT columns: `json_each` / `json_extract` vs `::json` operators;
- time buckets: `strftime('%s')` arithmetic vs `extract(epoch)` / `to_char`;
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

    def bootstrap(self) -> list[str]:
        """Statements run at the start of every migration transaction."""
        return ["CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)"]

    def json_each(self, column: str) -> str:
        """Rows (key, value) of the JSON object in `column`, as a FROM item."""
        return f"json_each({column})"

    def json_array_values(self, column: str, alias: str) -> str:
        """Rows (value) of the JSON list in `column`, as a FROM item named `alias`."""
        return f"json_each({column}) AS {alias}"

    def json_field(self, column: str) -> str:
        """The text/number at one key of `column` (the key is the next parameter)."""
        return f"json_extract({column}, ?)"

    def json_key(self, key: str) -> str:
        """The parameter json_field takes for `key`."""
        return "$." + json.dumps(key)

    def json_number(self, expr: str, key: str) -> str:
        """`expr`'s field `key` (a plain identifier) as a number."""
        return f"json_extract({expr}, '$.{_identifier(key)}')"

    def json_text(self, expr: str, key: str) -> str:
        return f"json_extract({expr}, '$.{_identifier(key)}')"

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


class PostgresDialect(SqliteDialect):
    name: Backend = "postgresql"
    begin = "BEGIN"

    skip_locked = " FOR UPDATE SKIP LOCKED"  # a row another daemon is claiming is its

    def now_epoch(self) -> str:
        return "extract(epoch FROM clock_timestamp())::double precision"

    def bootstrap(self) -> list[str]:
        from sentitui.store.postgres import BOOTSTRAP

        return list(BOOTSTRAP)

    def json_each(self, column: str) -> str:
        return f"json_each({column}::json)"

    def json_array_values(self, column: str, alias: str) -> str:
        return f"json_array_elements_text({column}::json) AS {alias}(value)"

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


def _identifier(key: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
        raise ValueError(f"not a plain JSON key: {key!r}")
    return key


SQLITE = SqliteDialect()
POSTGRESQL = PostgresDialect()


def dialect_for(backend: Backend) -> SqliteDialect:
    return POSTGRESQL if backend == "postgresql" else SQLITE
