"""The store, on SQLite (the default) or PostgreSQL (`--db postgresql://…`, see
backend.py, sql.py and postgres.py). `Store` is the entry point; its parts, one
responsibility each:

- schema.py: the migrations, in order;
- database.py: opening the connection, transactions, migrating, `meta`, the author key;
- writer.py: the engine's batched commits (posts, failed records, cursors, runs);
- reports.py: the read queries the screens, the CLI and the report use;
- rollups.py: the pre-aggregated counts the writer keeps and the dashboard reads.

One process-wide rule: only the engine's writer calls the writer's methods;
everything else reads. WAL mode lets readers (the console, another process attached
to the same file) run while the writer commits.
"""

from __future__ import annotations

from sentitui.store.database import StoreError, database_errors
from sentitui.store.reports import LANGUAGE_SEGMENT, Reports, top_complaints_of
from sentitui.store.schema import MIGRATIONS, SCHEMA_VERSION, repair_implausible_created_at
from sentitui.store.sql import SQLITE
from sentitui.store.writer import PageWrite, Writer, iso, utc_now

__all__ = [
    "LANGUAGE_SEGMENT",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "PageWrite",
    "Store",
    "StoreError",
    "database_errors",
    "fts_query",
    "iso",
    "repair_implausible_created_at",
    "top_complaints_of",
    "utc_now",
]


class Store(Writer, Reports):
    """A connection to one SQLite file or PostgreSQL database (database.py) with the
    writer's methods (writer.py) and the report queries (reports.py). Cheap to open;
    open one per thread."""


fts_query = SQLITE.fts_query
