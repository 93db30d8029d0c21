"""Pre-aggregated counts of posts, so the dashboard and `stats` read thousands of rows,
not millions.

Every table holds a post count, a polarity sum and the count of posts with a polarity
(`scored`: unscored posts stay out of averages) per combination of its key columns;
the sum is in whole ten-thousandths (polarities are stored rounded to 4 decimals), so
adding and taking away posts for months leaves no floating-point drift:

- `rollup_totals`: per pipeline, source, label and feedback (headline figures, per
  source table, feedback split, and the counts that replace `COUNT(*) FROM posts`);
- `rollup_time`: per time bucket, pipeline and source; grains `minute`, `hour` and
  `day` of `created_at` (the charts) and `fetched_minute` of `fetched_at` (the rate);
- `rollup_segments`: per pipeline, segment key, segment value and label;
- `rollup_competitors`: per pipeline, competitor named and label;
- `rollup_aspects`: per pipeline, segment key/value ('' / '' for all posts), aspect and
  the aspect's own label;
- `rollup_ratings`: per pipeline, source, the label a post's rating gives and its text
  label (rated posts only: the scorer's agreement with customers).

They change in the same transaction as the posts, by `apply(conn, where, params, sign)`:
+1 adds the posts matching `where` (the writer: the rows it just inserted), -1 takes
them away (purge before deleting; rescore before updating, then +1 after). So a
rollup is exactly the aggregate of the posts table at every commit.

The SQL is plain (INSERT … SELECT … GROUP BY … ON CONFLICT DO UPDATE, CASE, substr)
and written once for both backends, except where the dialects differ (store/sql.py):
expanding a post's JSON columns (SQLite's json_each / json_extract, PostgreSQL's
jsonb_each_text / jsonb_each / jsonb_array_elements_text and `->>`) and the width of
the count columns (SQLite's INTEGER is 64-bit, PostgreSQL's is not: BIGINT there).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Protocol

from sentitui.processing.ratings import RATING_NEGATIVE, RATING_POSITIVE
from sentitui.store.backend import Connection
from sentitui.store.rows import SegmentRow, SentimentPoint, SourceTotals
from sentitui.store.sql import SQLITE, SqliteDialect

__all__ = [
    "GRAINS",
    "TABLES",
    "apply",
    "create",
    "rebuild",
]


class Executes(Protocol):
    """A store connection (either backend), or the migration's database (sqlite_utils'
    Database, postgres.SchemaDb)."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Any: ...


# Grain -> (the time column, how many characters of its ISO 8601 text make the bucket).
GRAINS: dict[str, tuple[str, int]] = {
    "minute": ("created_at", 16),
    "hour": ("created_at", 13),
    "day": ("created_at", 10),
    "fetched_minute": ("fetched_at", 16),
}
_GRAIN_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_LABEL = "COALESCE(posts.label, '')"
_E4 = "CAST(ROUND(COALESCE({}, 0) * 10000) AS INTEGER)"  # polarity in ten-thousandths
_FEEDBACK = "COALESCE(posts.feedback, '')"

TABLES: dict[str, str] = {
    "rollup_totals": (
        "pipeline TEXT NOT NULL, source TEXT NOT NULL, label TEXT NOT NULL, "
        "feedback TEXT NOT NULL, posts INTEGER NOT NULL, polarity_sum INTEGER NOT NULL, scored INTEGER NOT NULL, "
        "PRIMARY KEY (pipeline, source, label, feedback)"
    ),
    "rollup_time": (
        "grain TEXT NOT NULL, bucket TEXT NOT NULL, pipeline TEXT NOT NULL, "
        "source TEXT NOT NULL, posts INTEGER NOT NULL, polarity_sum INTEGER NOT NULL, scored INTEGER NOT NULL, "
        "PRIMARY KEY (grain, bucket, pipeline, source)"
    ),
    "rollup_segments": (
        "pipeline TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, label TEXT NOT NULL, "
        "posts INTEGER NOT NULL, polarity_sum INTEGER NOT NULL, scored INTEGER NOT NULL, "
        "PRIMARY KEY (pipeline, key, value, label)"
    ),
    "rollup_competitors": (
        "pipeline TEXT NOT NULL, competitor TEXT NOT NULL, label TEXT NOT NULL, "
        "posts INTEGER NOT NULL, polarity_sum INTEGER NOT NULL, scored INTEGER NOT NULL, "
        "PRIMARY KEY (pipeline, competitor, label)"
    ),
    "rollup_aspects": (
        "pipeline TEXT NOT NULL, segment_key TEXT NOT NULL, segment_value TEXT NOT NULL, "
        "aspect TEXT NOT NULL, label TEXT NOT NULL, posts INTEGER NOT NULL, "
        "polarity_sum INTEGER NOT NULL, scored INTEGER NOT NULL, "
        "PRIMARY KEY (pipeline, segment_key, segment_value, aspect, label)"
    ),
    "rollup_ratings": (
        "pipeline TEXT NOT NULL, source TEXT NOT NULL, rating_label TEXT NOT NULL, "
        "text_label TEXT NOT NULL, posts INTEGER NOT NULL, polarity_sum INTEGER NOT NULL, "
        "scored INTEGER NOT NULL, PRIMARY KEY (pipeline, source, rating_label, text_label)"
    ),
}
_KEYS = {
    "rollup_totals": ("pipeline", "source", "label", "feedback"),
    "rollup_time": ("grain", "bucket", "pipeline", "source"),
    "rollup_segments": ("pipeline", "key", "value", "label"),
    "rollup_competitors": ("pipeline", "competitor", "label"),
    "rollup_aspects": ("pipeline", "segment_key", "segment_value", "aspect", "label"),
    "rollup_ratings": ("pipeline", "source", "rating_label", "text_label"),
}
# processing/ratings.py `rating_label`, in SQL.
_RATING_LABEL = (
    f"CASE WHEN posts.rating >= {RATING_POSITIVE} THEN 'positive' "
    f"WHEN posts.rating <= {RATING_NEGATIVE} THEN 'negative' ELSE 'neutral' END"
)


def create(conn: Executes, dialect: SqliteDialect = SQLITE) -> None:
    """Create the rollup tables (the migration calls this, then `rebuild`)."""
    for table, columns in TABLES.items():
        columns = columns.replace(" INTEGER ", f" {dialect.rollup_integer} ")
        conn.execute(f"CREATE TABLE IF NOT EXISTS {table} ({columns})")


JSON_COLUMNS = ("segments", "competitors", "aspects")
# The pseudo segment key for posts.lang (the store's LANGUAGE_SEGMENT): its values come
# from the column, and a `language` key inside `segments` is left out in its favour.
LANGUAGE = "language"


def _selects(d: SqliteDialect) -> list[tuple[str, str, str | None]]:
    """(table, SELECT of key columns + count + polarity sum over the posts of `{posts}`
    (the table as a FROM item) matching `{where}`, the JSON column it expands or None),
    in dialect `d`."""
    aspect_polarity = d.json_number("a.value", "polarity")
    aspect_label = d.json_text("a.value", "label")
    count = f"? * COUNT(*), ? * SUM({_E4.format('posts.polarity')}), ? * COUNT(posts.polarity)"
    selects: list[tuple[str, str, str | None]] = [
        (
            "rollup_totals",
            f"SELECT posts.pipeline, posts.source, {_LABEL}, {_FEEDBACK}, {count} "
            "FROM {posts} WHERE {where} GROUP BY 1, 2, 3, 4",
            None,
        )
    ]
    for grain, (column, width) in GRAINS.items():
        selects.append(
            (
                "rollup_time",
                f"SELECT '{grain}', substr(posts.{column}, 1, {width}), posts.pipeline, "
                f"posts.source, {count} FROM {{posts}} "
                f"WHERE posts.{column} IS NOT NULL AND ({{where}}) GROUP BY 2, 3, 4",
                None,
            )
        )
    selects += [
        (
            "rollup_segments",
            f"SELECT posts.pipeline, s.key, s.value, {_LABEL}, {count} "
            f"FROM {{posts}}, {d.json_object_texts('posts.segments', 's')} "
            f"WHERE s.value IS NOT NULL AND s.key != '{LANGUAGE}' AND ({{where}}) "
            "GROUP BY 1, 2, 3, 4",
            "segments",
        ),
        (
            "rollup_segments",
            f"SELECT posts.pipeline, '{LANGUAGE}', posts.lang, {_LABEL}, {count} FROM {{posts}} "
            "WHERE posts.lang IS NOT NULL AND ({where}) GROUP BY 1, 3, 4",
            None,
        ),
        (
            "rollup_competitors",
            f"SELECT posts.pipeline, c.value, {_LABEL}, {count} "
            f"FROM {{posts}}, {d.json_array_values('posts.competitors', 'c')} "
            "WHERE c.value IS NOT NULL AND ({where}) GROUP BY 1, 2, 3",
            "competitors",
        ),
        (
            "rollup_aspects",
            "SELECT posts.pipeline, '', '', a.key, "
            f"COALESCE({aspect_label}, ''), "
            f"? * COUNT(*), ? * SUM({_E4.format(aspect_polarity)}), ? * COUNT({aspect_polarity}) "
            f"FROM {{posts}}, {d.json_object_rows('posts.aspects', 'a')} "
            "WHERE posts.aspects IS NOT NULL AND ({where}) GROUP BY 1, 4, 5",
            "aspects",
        ),
        (
            "rollup_aspects",
            "SELECT posts.pipeline, s.key, s.value, a.key, "
            f"COALESCE({aspect_label}, ''), "
            f"? * COUNT(*), ? * SUM({_E4.format(aspect_polarity)}), ? * COUNT({aspect_polarity}) "
            f"FROM {{posts}}, {d.json_object_rows('posts.aspects', 'a')}, "
            f"{d.json_object_texts('posts.segments', 's')} "
            f"WHERE posts.aspects IS NOT NULL AND s.value IS NOT NULL AND s.key != '{LANGUAGE}' "
            "AND ({where}) GROUP BY 1, 2, 3, 4, 5",
            "aspects",
        ),
        (
            "rollup_aspects",
            f"SELECT posts.pipeline, '{LANGUAGE}', posts.lang, a.key, "
            f"COALESCE({aspect_label}, ''), "
            f"? * COUNT(*), ? * SUM({_E4.format(aspect_polarity)}), ? * COUNT({aspect_polarity}) "
            f"FROM {{posts}}, {d.json_object_rows('posts.aspects', 'a')} "
            "WHERE posts.aspects IS NOT NULL AND posts.lang IS NOT NULL AND ({where}) "
            "GROUP BY 1, 3, 4, 5",
            "aspects",
        ),
        (
            "rollup_ratings",
            f"SELECT posts.pipeline, posts.source, {_RATING_LABEL}, posts.text_label, {count} "
            "FROM {posts} WHERE posts.rating IS NOT NULL "
            "AND posts.text_label IN ('positive', 'neutral', 'negative') AND ({where}) "
            "GROUP BY 1, 2, 3, 4",
            None,
        ),
    ]
    return selects


_SELECTS: dict[str, list[tuple[str, str, str | None]]] = {}


def apply(
    conn: Executes,
    where: str,
    params: Sequence[Any],
    sign: int,
    json_columns: Iterable[str] = JSON_COLUMNS,
    dialect: SqliteDialect = SQLITE,
    tables: Iterable[str] = TABLES,
    *,
    by_id: bool = False,
) -> None:
    """Add (sign=1) or take away (sign=-1) the posts matching `where` (a condition on
    the `posts` table, with `params`) in every rollup; run it in the caller's
    transaction, after inserting them or before deleting or changing them. The writer
    leaves out of `json_columns` those no post of its batch has (they add nothing).

    `by_id`: `where` bounds `posts.id` (the writer's new rows, a rescore batch), so the
    posts are read by id range (`dialect.posts_by_id`): SQLite would otherwise walk a
    whole index of posts in GROUP BY order, every page, to spare itself a small sort."""
    if sign not in (1, -1):
        raise ValueError(f"sign must be 1 or -1, not {sign}")
    expand, chosen = set(json_columns), set(tables)
    posts = dialect.posts_by_id if by_id else "posts"
    if dialect.name not in _SELECTS:
        _SELECTS[dialect.name] = _selects(dialect)
    for table, select, column in _SELECTS[dialect.name]:
        if table not in chosen or (column is not None and column not in expand):
            continue
        keys = ", ".join(_KEYS[table])
        conn.execute(
            f"INSERT INTO {table} ({keys}, posts, polarity_sum, scored) "
            + select.format(where=where, posts=posts)
            + f" ON CONFLICT ({keys}) DO UPDATE SET posts = {table}.posts + excluded.posts, "
            f"polarity_sum = {table}.polarity_sum + excluded.polarity_sum, "
            f"scored = {table}.scored + excluded.scored",
            (sign, sign, sign, *params),
        )
    if sign < 0:
        for table in chosen:
            conn.execute(f"DELETE FROM {table} WHERE posts <= 0")


def rebuild(
    conn: Executes, dialect: SqliteDialect = SQLITE, tables: Iterable[str] = TABLES
) -> None:
    """Recompute the rollups (all, or `tables`) from the posts table (after a migration
    or a repair)."""
    tables = tuple(tables)
    for table in tables:
        conn.execute(f"DELETE FROM {table}")
    apply(conn, "1 = 1", (), 1, dialect=dialect, tables=tables)


# ---- reads ------------------------------------------------------------------------------


def _rows(conn: Connection, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
    cur = conn.execute(sql, tuple(params))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _avg(total: float | None, count: int | None) -> float | None:
    """Average polarity from a sum in ten-thousandths, rounded to 4 decimals."""
    return round(total / count / 10000, 4) + 0.0 if count and total is not None else None


_LABEL_SUMS = (
    "SUM(CASE WHEN label = 'positive' THEN posts ELSE 0 END) AS positive, "
    "SUM(CASE WHEN label = 'neutral' THEN posts ELSE 0 END) AS neutral, "
    "SUM(CASE WHEN label = 'negative' THEN posts ELSE 0 END) AS negative, "
    "SUM(CASE WHEN label = 'unscored' THEN posts ELSE 0 END) AS unscored"
)


def _counts(row: dict[str, Any]) -> tuple[int, float | None, int, int, int, int]:
    """Posts, average polarity and posts per label of a row summed with _LABEL_SUMS."""
    return (
        row["posts"],
        _avg(row["total"], row["scored"]),
        row["positive"],
        row["neutral"],
        row["negative"],
        row["unscored"],
    )


def totals(conn: Connection) -> tuple[int, float | None, int, int, int, int]:
    """(posts, average polarity, positive, neutral, negative, unscored) over every post."""
    row = conn.execute(
        f"SELECT SUM(posts) AS n, SUM(polarity_sum), SUM(scored), {_LABEL_SUMS} FROM rollup_totals"
    ).fetchone()
    return row[0] or 0, _avg(row[1], row[2]), row[3] or 0, row[4] or 0, row[5] or 0, row[6] or 0


def count_posts(
    conn: Connection,
    pipeline: str | None = None,
    source: str | None = None,
    label: str | None = None,
    feedback: str | None = None,
) -> int:
    """How many posts match all the given columns (a maintained count, not COUNT(*))."""
    clauses, params = [], []
    for column, value in (
        ("pipeline", pipeline),
        ("source", source),
        ("label", label),
        ("feedback", feedback),
    ):
        if value:
            clauses.append(f"{column} = ?")
            params.append(value)
    where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
    return conn.execute(f"SELECT SUM(posts) FROM rollup_totals {where}", params).fetchone()[0] or 0


def totals_by_source(conn: Connection) -> list[SourceTotals]:
    rows = _rows(
        conn,
        f"SELECT pipeline, source, SUM(posts) AS posts, SUM(polarity_sum) AS total, SUM(scored) AS scored, {_LABEL_SUMS} "
        "FROM rollup_totals GROUP BY pipeline, source ORDER BY pipeline, source",
    )
    return [SourceTotals(row["pipeline"], row["source"], *_counts(row)) for row in rows]


def feedback_split(conn: Connection) -> dict[str, int]:
    return {
        r["feedback"]: r["n"]
        for r in _rows(
            conn,
            "SELECT feedback, SUM(posts) AS n FROM rollup_totals GROUP BY feedback "
            "ORDER BY n DESC, feedback",
        )
    }


def segment_keys(conn: Connection) -> list[str]:
    """The segment keys posts carry, then `language` when any post has one."""
    keys = [r[0] for r in conn.execute("SELECT DISTINCT key FROM rollup_segments ORDER BY key")]
    return [k for k in keys if k != LANGUAGE] + ([LANGUAGE] if LANGUAGE in keys else [])


def segment_breakdown(conn: Connection, key: str) -> list[SegmentRow]:
    rows = _rows(
        conn,
        f"SELECT value AS segment, SUM(posts) AS posts, SUM(polarity_sum) AS total, SUM(scored) AS scored, {_LABEL_SUMS} "
        "FROM rollup_segments WHERE key = ? GROUP BY value ORDER BY posts DESC, value DESC",
        (key,),
    )
    return [SegmentRow(row["segment"], *_counts(row)) for row in rows]


_BUCKET_FORMATS = {10: "%Y-%m-%d", 13: "%Y-%m-%dT%H", 16: "%Y-%m-%dT%H:%M"}


@lru_cache(maxsize=16_384)  # strptime is 15 us; a chart reads each bucket once per source
def _epoch(bucket: object) -> int | None:
    """A bucket key ("2026-11-20T10:07", "2026-11-20T10", "2026-11-20") -> epoch seconds;
    None for a key cut from a `created_at` that is no time (a row written by hand)."""
    try:
        moment = datetime.strptime(str(bucket), _BUCKET_FORMATS[len(str(bucket))])
        return int(moment.replace(tzinfo=UTC).timestamp())
    except (KeyError, ValueError, OverflowError, OSError):
        return None


def sentiment_over_time(
    conn: Connection, bucket_seconds: int, since: str | None = None
) -> list[SentimentPoint]:
    """Posts and average polarity per source per `bucket_seconds` of `created_at`, from
    the coarsest grain that divides the bucket. `since` counts whole grain buckets (a
    minute at most, for windows of an hour or a day)."""
    grain = next(
        (g for g in ("day", "hour", "minute") if bucket_seconds % _GRAIN_SECONDS[g] == 0),
        None,
    )
    if grain is None:
        raise ValueError(f"bucket_seconds must be a multiple of 60, not {bucket_seconds}")
    width = GRAINS[grain][1]
    params: list[Any] = [grain]
    where = "grain = ?"
    if since:
        where += " AND bucket >= ?"
        params.append(since[:width])
    merged: dict[tuple[str, int], list[int]] = {}
    for source, bucket, posts, total, scored in conn.execute(
        f"SELECT source, bucket, SUM(posts), SUM(polarity_sum), SUM(scored) FROM rollup_time "
        f"WHERE {where} "
        "GROUP BY source, bucket",
        params,
    ):
        epoch = _epoch(bucket)
        if epoch is None:
            continue
        start = epoch // bucket_seconds * bucket_seconds
        entry = merged.setdefault((source, start), [0, 0, 0])
        entry[0] += posts
        entry[1] += total
        entry[2] += scored
    out: list[SentimentPoint] = []
    for (source, start), (posts, total, scored) in merged.items():
        try:
            bucket = datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        except (ValueError, OverflowError, OSError):  # year 1 rounded down to year 0
            continue
        out.append(SentimentPoint(source, bucket, int(posts), _avg(total, scored)))
    out.sort(key=lambda r: (r.bucket or "", r.source))
    return out


def posts_since(conn: Connection, since: str) -> int:
    """Posts fetched in the minute of `since` or later (the console's rate)."""
    return (
        conn.execute(
            "SELECT SUM(posts) FROM rollup_time WHERE grain = 'fetched_minute' AND bucket >= ?",
            (since[:16],),
        ).fetchone()[0]
        or 0
    )


def competitor_rows(conn: Connection, pipeline: str | None) -> list[dict[str, Any]]:
    """CompetitorRow's fields but the share of voice (reports.py adds it)."""
    where, params = ("WHERE pipeline = ?", [pipeline]) if pipeline else ("", [])
    rows = _rows(
        conn,
        f"SELECT competitor, SUM(posts) AS mentions, SUM(polarity_sum) AS total, SUM(scored) AS scored, {_LABEL_SUMS} "
        f"FROM rollup_competitors {where} GROUP BY competitor ORDER BY mentions DESC, competitor",
        params,
    )
    for row in rows:
        row["avg_polarity"] = _avg(row.pop("total"), row.pop("scored"))
        del row["unscored"]  # a post is unscored, not one of its mentions
    return rows


def aspect_rows(
    conn: Connection, segment_key: str | None, pipeline: str | None
) -> list[dict[str, Any]]:
    """AspectRow's fields but the negative share (reports.py adds it)."""
    clauses, params = ["segment_key = ?"], [segment_key or ""]
    if pipeline:
        clauses.append("pipeline = ?")
        params.append(pipeline)
    rows = _rows(
        conn,
        "SELECT segment_value AS segment, aspect, SUM(posts) AS mentions, "
        f"SUM(polarity_sum) AS total, SUM(scored) AS scored, {_LABEL_SUMS} FROM rollup_aspects "
        f"WHERE {' AND '.join(clauses)} GROUP BY segment_value, aspect "
        "ORDER BY segment_value, negative DESC, mentions DESC, aspect",
        params,
    )
    for row in rows:
        row["avg_polarity"] = _avg(row.pop("total"), row.pop("scored"))
        del row["unscored"]  # aspects carry their own labels
        if not segment_key:
            row["segment"] = None
    return rows


def rating_confusion(conn: Connection) -> dict[tuple[str, str], int]:
    """Rated posts per (the rating's label, the text's label)."""
    return {
        (str(truth), str(guess)): int(posts)
        for truth, guess, posts in conn.execute(
            "SELECT rating_label, text_label, SUM(posts) FROM rollup_ratings GROUP BY 1, 2"
        )
    }
