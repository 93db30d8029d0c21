"""The cleaner's date policy: a created_at outside the plausible range (before 1995, or
more than a day after the fetch) keeps the post, dated when it was fetched, with the
value as written in the segment `created_at_raw`; stored rows from before the policy
are repaired by a store migration."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

from sentitui.processing.clean import CleanError, clean_record
from sentitui.store import MIGRATIONS, Store, repair_implausible_created_at

FETCHED = "2026-11-20T10:00:00Z"


def cleaned(created_at: object) -> tuple[str | None, dict]:
    post = clean_record(
        {"id": "1", "text": "Love it", "created_at": created_at},
        pipeline="p",
        source="s",
        author_secret=b"k",
        fetched_at=FETCHED,
    )
    return post.created_at, post.segments


@pytest.mark.parametrize(
    "written",
    [
        "0001-01-01T00:00:00Z",  # .NET DateTime.MinValue, Go's zero time
        "0001-01-01T00:00:00+01:00",  # ... in a zone east of UTC: before year 1 in UTC
        "9999-12-31T23:59:59Z",  # "never" / DateTime.MaxValue
        "1970-01-01T00:00:00Z",  # epoch 0
        0,
        "1994-12-31T23:59:59Z",
        "2026-11-21T10:00:01Z",  # a day and a second after the fetch
    ],
)
def test_an_implausible_date_keeps_the_post_dated_when_fetched(written):
    created_at, segments = cleaned(written)
    assert created_at == FETCHED
    assert segments == {"created_at_raw": str(written)}


@pytest.mark.parametrize(
    "written, stored",
    [
        ("1995-01-01T00:00:00Z", "1995-01-01T00:00:00Z"),
        ("2026-11-21T10:00:00Z", "2026-11-21T10:00:00Z"),  # a day ahead: a clock or zone off
        ("2026-11-20T09:00:00-05:00", "2026-11-20T14:00:00Z"),
        (None, None),
    ],
)
def test_a_plausible_date_is_stored_as_given(written, stored):
    assert cleaned(written) == (stored, {})


def test_a_value_that_is_no_time_at_all_still_fails_the_record():
    with pytest.raises(CleanError, match="created_at 'soon' is not a time"):
        cleaned("soon")


def test_the_migration_repairs_rows_stored_before_the_policy(tmp_path: Path):
    """A database written by an earlier version holds the "no date" values as they came;
    opening it with this version dates them when fetched and keeps what was written."""
    path = tmp_path / "old.db"
    older = MIGRATIONS[: MIGRATIONS.index(repair_implausible_created_at)]
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        for migration in older:
            migration(sqlite_utils.Database(conn))
        conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(len(older)),))
        for external_id, created_at, segments in [
            ("zero", "0001-01-01T00:00:00Z", None),
            ("never", "9999-12-31T23:59:59Z", '{"hair": "curly"}'),
            ("junk", "not a date", None),
            ("fine", "2026-11-19T08:00:00Z", '{"hair": "wavy"}'),
        ]:
            conn.execute(
                "INSERT INTO posts (pipeline, source, external_id, text, created_at, "
                "fetched_at, segments) VALUES ('p', 's', ?, 'text', ?, ?, ?)",
                (external_id, created_at, FETCHED, segments),
            )

    Store(path).close()

    with sqlite3.connect(path) as conn:
        rows = {
            r[0]: (r[1], json.loads(r[2]) if r[2] else None)
            for r in conn.execute("SELECT external_id, created_at, segments FROM posts")
        }
    assert rows == {
        "zero": (FETCHED, {"created_at_raw": "0001-01-01T00:00:00Z"}),
        "never": (FETCHED, {"hair": "curly", "created_at_raw": "9999-12-31T23:59:59Z"}),
        "junk": (FETCHED, {"created_at_raw": "not a date"}),
        "fine": ("2026-11-19T08:00:00Z", {"hair": "wavy"}),
    }


def test_the_date_repair_in_postgresql_s_dialect(pg_url: str):
    """The same repair on PostgreSQL (store/sql.py: jsonb ||, ~ and interval '1 day' for
    SQLite's json_set, GLOB and strftime), run on rows as an earlier version held them."""
    store = Store(pg_url)
    with store.transaction() as conn:
        for external_id, created_at, segments in [
            ("zero", "0001-01-01T00:00:00Z", None),
            ("never", "9999-12-31T23:59:59Z", '{"hair": "curly"}'),
            ("junk", "not a date", None),
            ("tomorrow+", "2026-11-22T10:00:00Z", "{}"),
            ("fine", "2026-11-19T08:00:00Z", '{"hair": "wavy"}'),
        ]:
            conn.execute(
                "INSERT INTO posts (pipeline, source, external_id, text, created_at, "
                "fetched_at, segments) VALUES ('p', 's', ?, 'text', ?, ?, ?)",
                (external_id, created_at, FETCHED, segments),
            )
        repair_implausible_created_at(store.db)
    rows = {
        r["external_id"]: (r["created_at"], json.loads(r["segments"]) if r["segments"] else None)
        for r in store.rows("SELECT external_id, created_at, segments FROM posts")
    }
    store.close()
    assert rows == {
        "zero": (FETCHED, {"created_at_raw": "0001-01-01T00:00:00Z"}),
        "never": (FETCHED, {"hair": "curly", "created_at_raw": "9999-12-31T23:59:59Z"}),
        "junk": (FETCHED, {"created_at_raw": "not a date"}),
        "tomorrow+": (FETCHED, {"created_at_raw": "2026-11-22T10:00:00Z"}),
        "fine": ("2026-11-19T08:00:00Z", {"hair": "wavy"}),
    }


async def test_a_run_stores_no_date_posts_dated_when_fetched(
    tmp_path: Path, write_pipeline, make_engine, db_path
):
    (tmp_path / "posts.jsonl").write_text(
        "".join(
            json.dumps({"id": i, "text": "Love it", "at": at}) + "\n"
            for i, at in enumerate(["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"])
        ),
        encoding="utf-8",
    )
    pipeline = write_pipeline("""
    [pipeline]
    name = "p"
    [[source]]
    name = "s"
    kind = "file"
    path = "../posts.jsonl"
    [source.fields]
    id = "id"
    text = "text"
    created_at = "at"
    """)

    async with make_engine(pipeline) as engine:
        stats = await engine.run_source("p", "s")

    assert (stats.status, stats.loaded, stats.failed) == ("ok", 2, 0)
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute(
            "SELECT created_at = fetched_at, segments FROM posts ORDER BY external_id"
        ).fetchall()
    assert [(same, json.loads(segments)) for same, segments in rows] == [
        (1, {"created_at_raw": "0001-01-01T00:00:00Z"}),
        (1, {"created_at_raw": "9999-12-31T23:59:59Z"}),
    ]
