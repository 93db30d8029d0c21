"""The store: schema and migrations, WAL, batched page writes, FTS and the screens' queries."""

from __future__ import annotations

import sqlite3

from sentitui.models import FailedRecord, Post
from sentitui.store import SCHEMA_VERSION, PageWrite, Store, fts_query


def post(n: int, text: str, **kw) -> Post:
    defaults = dict(
        pipeline="p",
        source="s",
        external_id=str(n),
        text=text,
        created_at=f"2026-11-20T10:{n:02d}:00Z",
        polarity=0.5,
        label="positive",
        segments={"age_group": "18-24" if n % 2 else "25-34"},
    )
    defaults.update(kw)
    return Post(**defaults)


def test_schema_wal_and_migrations_are_idempotent(tmp_path):
    path = tmp_path / "s.db"
    Store(path).close()
    store = Store(path)  # opening again must not re-run migrations
    assert store.meta("schema_version") == str(SCHEMA_VERSION)
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"posts", "failed_records", "runs", "source_state", "posts_fts", "meta"} <= tables
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO posts (pipeline, source, external_id, text) VALUES ('p','s','1','x')"
        )
        try:
            conn.execute(
                "INSERT INTO posts (pipeline, source, external_id, text) VALUES ('p','s','1','y')"
            )
            raise AssertionError("external_id must be unique per pipeline and source")
        except sqlite3.IntegrityError:
            pass


def test_page_write_counts_duplicates_and_commits_cursor(tmp_path):
    store = Store(tmp_path / "s.db")
    stats = store.start_run("p", "s", "cli")
    posts = [post(1, "Silky soft hair"), post(2, "Scent is too strong"), post(1, "Silky soft hair")]
    failure = FailedRecord("clean", "text is missing", '{"id": 3}')
    [(loaded, dups)] = store.write_pages([PageWrite(stats, posts, [failure], {"since": 2})])
    assert (loaded, dups) == (2, 1)
    [(loaded, dups)] = store.write_pages([PageWrite(stats, [post(2, "Scent is too strong")], [])])
    assert (loaded, dups) == (0, 1)
    assert store.cursor("p", "s") == {"since": 2}
    assert (stats.loaded, stats.duplicates, stats.failed) == (2, 2, 1)
    run = store.runs()[0]
    assert (run["loaded"], run["duplicates"], run["failed"], run["status"]) == (2, 2, 1, "running")
    stats.status = "ok"
    store.finish_run(stats)
    assert store.runs()[0]["status"] == "ok" and store.runs()[0]["ended_at"]


def test_fulltext_search_and_screen_queries(tmp_path):
    store = Store(tmp_path / "s.db")
    stats = store.start_run("p", "s", "cli")
    store.write_pages(
        [
            PageWrite(
                stats,
                [
                    post(1, "Silky soft hair after one wash"),
                    post(
                        2,
                        "The scent is too strong: itchy scalp",
                        polarity=-0.4,
                        label="negative",
                        feedback="complaint",
                    ),
                    post(
                        3,
                        'Better than "SilkPro" -- really',
                        feedback="comparison",
                        competitors=["SilkPro"],
                    ),
                ],
                [],
            )
        ]
    )
    assert [p["external_id"] for p in store.search_posts("scent")] == ["2"]
    assert [p["external_id"] for p in store.search_posts("silk*")] == ["3", "1"]
    # Punctuation a user types must not break FTS syntax.
    assert [p["external_id"] for p in store.search_posts('"SilkPro" --')] == ["3"]
    assert store.search_posts("scent", label="positive") == []
    assert fts_query('a"b c*') == '"a""b" "c"*'

    totals = store.totals()
    assert (totals["posts"], totals["negative"], totals["share_negative"]) == (3, 1, 0.3333)
    assert store.feedback_split() == {"comparison": 1, "complaint": 1, "other": 1}
    assert store.segment_keys() == ["age_group"]
    by_age = {r["segment"]: r["posts"] for r in store.segment_breakdown("age_group")}
    assert by_age == {"18-24": 2, "25-34": 1}
    buckets = store.sentiment_over_time(3600)
    assert buckets == [
        {"source": "s", "bucket": "2026-11-20T10:00:00Z", "posts": 3, "avg_polarity": 0.2}
    ]
