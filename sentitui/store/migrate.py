"""`sentitui migrate --from URL --to URL`: copy a database between backends.

Posts, failed records (payloads as received), runs, source cursors and the settings in
`meta` (the author-pseudonym key above all: hashes must stay comparable) are copied
in id order, in batches, each row keyed (`ON CONFLICT DO NOTHING`), so a copy that
stopped half-way, or one run twice, ends with each row once. Into PostgreSQL, each
batch goes through COPY into a temporary table first (the fast path), then one
INSERT … SELECT that skips rows already there. Counts are compared at the end.
Transient tables (commands, events, daemons, leases) are not copied. The rollups
(store/rollups.py) and SQLite's full-text index are rebuilt from the destination's
posts once new posts arrived; the author key, kept outside the database
(store/author_key.py), is carried to the destination's key location.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sentitui.store import Store, rollups
from sentitui.store.author_key import author_key, existing_key
from sentitui.store.sql import payload_text

# Table -> the key that orders batches and identifies a row already copied.
TABLES: dict[str, tuple[str, ...]] = {
    "posts": ("id",),
    "failed_records": ("id",),
    "runs": ("id",),
    "source_state": ("pipeline", "source"),
    "meta": ("key",),
}
SKIP_META = {"schema_version", "daemon"}  # the destination's own, and a live snapshot
BATCH = 5000


@dataclass(slots=True)
class TableCopy:
    table: str
    source_rows: int
    copied: int  # rows new in the destination
    destination_rows: int

    @property
    def ok(self) -> bool:
        """Every source row is there (the destination may hold more of its own)."""
        return self.destination_rows >= self.source_rows


def columns(store: Store, table: str) -> list[str]:
    cur = store.conn.execute(f"SELECT * FROM {table} LIMIT 0")
    return [d[0] for d in cur.description]


def copy_database(
    source: Store, destination: Store, progress: Callable[[str, int], None] = lambda t, n: None
) -> list[TableCopy]:
    results = []
    for table, key in TABLES.items():
        shared = [c for c in columns(source, table) if c in set(columns(destination, table))]
        where = ""
        if table == "meta":  # daemon snapshots are live state, not data
            skip = "', '".join(sorted(SKIP_META))
            where = f"WHERE key NOT IN ('{skip}') AND key NOT LIKE 'daemon:%'"
        count = f"SELECT COUNT(*) FROM {table} {where}"
        total = int(source.conn.execute(count).fetchone()[0])
        copied = 0
        for batch in _batches(source, table, shared, key, where):
            copied += _insert(destination, table, shared, batch)
            progress(table, copied)
        if destination.dialect.name == "postgresql" and key == ("id",):
            destination.conn.execute(  # new rows must not reuse a copied id
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"
            )
        held = int(destination.conn.execute(count).fetchone()[0])
        results.append(TableCopy(table, total, copied, held))
        if table == "posts" and copied:
            with destination.transaction() as conn:
                rollups.rebuild(conn, destination.dialect)
                if (statement := destination.dialect.fts_rebuild()) is not None:
                    conn.execute(statement)
    carry_author_key(source, destination)
    return results


def carry_author_key(source: Store, destination: Store) -> None:
    """The source's author key becomes the destination's (hashes stay comparable). A
    destination that has a different key keeps it, with the source's beside it
    (`<key file>.from-db`), as when a key moves out of an older database."""
    key = existing_key(source.key_base)
    if key is not None:
        author_key(destination.key_base, key)


def _batches(store: Store, table: str, names: list[str], key: tuple[str, ...], where: str) -> Any:
    """Rows in key order, BATCH at a time (keyset paging: no OFFSET rescans)."""
    select = ", ".join(names)
    order = ", ".join(key)
    last: tuple[Any, ...] | None = None
    while True:
        clauses = [where.removeprefix("WHERE ")] if where else []
        params: tuple[Any, ...] = ()
        if last is not None:
            clauses.append(f"({order}) > ({', '.join('?' * len(key))})")
            params = last
        sql = f"SELECT {select} FROM {table}"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        rows = [
            tuple(r) for r in store.conn.execute(f"{sql} ORDER BY {order} LIMIT {BATCH}", params)
        ]
        if not rows:
            return
        yield rows
        last = tuple(rows[-1][names.index(k)] for k in key)


def _insert(store: Store, table: str, names: list[str], rows: list[tuple[Any, ...]]) -> int:
    """Insert rows not there yet; returns how many were new."""
    if table == "failed_records" and "payload" in names:  # bytea on PostgreSQL: sql.py
        at = names.index("payload")
        rows = [_with_payload(row, at, store) for row in rows]
    cols = ", ".join(names)
    with store.transaction() as conn:
        if store.dialect.name != "postgresql":
            cur = conn.executemany(
                f"INSERT INTO {table} ({cols}) VALUES ({', '.join('?' * len(names))}) "
                "ON CONFLICT DO NOTHING",
                rows,
            )
            return max(int(cur.rowcount), 0)
        raw = store.conn.raw  # type: ignore[attr-defined]
        staging = f"copy_{table}"
        raw.execute(f"CREATE TEMP TABLE {staging} (LIKE {table}) ON COMMIT DROP")
        with raw.cursor().copy(f"COPY {staging} ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cur = raw.execute(
            f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {staging} ON CONFLICT DO NOTHING"
        )
        return max(int(cur.rowcount), 0)


def _with_payload(row: tuple[Any, ...], at: int, store: Store) -> tuple[Any, ...]:
    """`row` with its payload as the destination's column takes it, byte for byte."""
    text = payload_text(row[at])
    value = store.dialect.payload_param(text) if text is not None else None
    return (*row[:at], value, *row[at + 1 :])
