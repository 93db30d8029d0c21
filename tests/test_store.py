"""The store: schema and migrations, WAL, batched page writes, FTS and the screens' queries,
on SQLite and on PostgreSQL (`db_url`)."""

from __future__ import annotations

import sqlite3
import threading

import psycopg
import pytest

from sentitui.models import FailedRecord, Post
from sentitui.store import SCHEMA_VERSION, PageWrite, Store, StoreError, fts_query
from sentitui.store.backend import DbUrl, db_target, redact
from sentitui.store.postgres import translate
from sentitui.store.rows import SentimentPoint


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


def test_schema_and_migrations_are_idempotent(db_url):
    Store(db_url).close()
    store = Store(db_url)  # opening again must not re-run migrations
    assert store.meta("schema_version") == str(SCHEMA_VERSION)
    for table in ("posts", "failed_records", "runs", "source_state", "commands", "events"):
        assert store.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 0
    insert = "INSERT INTO posts (pipeline, source, external_id, text) VALUES ('p','s','1', ?)"
    with store.transaction() as conn:
        conn.execute(insert, ("x",))
    unique = (sqlite3.IntegrityError, psycopg.errors.UniqueViolation)
    with pytest.raises(unique), store.transaction() as conn:
        conn.execute(insert, ("y",))  # external_id is unique per pipeline and source
    assert [r["text"] for r in store.rows("SELECT text FROM posts")] == ["x"]
    store.close()


def test_sqlite_file_is_in_wal_mode(tmp_path):
    path = tmp_path / "s.db"
    Store(path).close()
    store = Store(f"sqlite:///{path}")
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


def test_page_write_counts_duplicates_and_commits_cursor(db_url):
    store = Store(db_url)
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
    assert (run.loaded, run.duplicates, run.failed, run.status) == (2, 2, 1, "running")
    stats.status = "ok"
    store.finish_run(stats)
    assert store.runs()[0].status == "ok" and store.runs()[0].ended_at


def test_fulltext_search_and_screen_queries(db_url):
    store = Store(db_url)
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
    assert [p.external_id for p in store.search_posts("scent")] == ["2"]
    assert [p.external_id for p in store.search_posts("silk*")] == ["3", "1"]
    # Punctuation a user types must not break FTS syntax.
    assert [p.external_id for p in store.search_posts('"SilkPro" --')] == ["3"]
    assert store.search_posts("scent", label="positive") == []
    assert fts_query('a"b c*') == '"a""b" "c"*'

    totals = store.totals()
    assert (totals.posts, totals.negative, totals.share_negative) == (3, 1, 0.3333)
    assert store.feedback_split() == {"comparison": 1, "complaint": 1, "other": 1}
    assert store.segment_keys() == ["age_group"]
    by_age = {r.segment: r.posts for r in store.segment_breakdown("age_group")}
    assert by_age == {"18-24": 2, "25-34": 1}
    buckets = store.sentiment_over_time(3600)
    assert buckets == [SentimentPoint("s", "2026-11-20T10:00:00Z", 3, 0.2)]

    assert [c.competitor for c in store.competitor_summary()] == ["SilkPro"]
    assert store.count_search_posts("silk*") == 2


def test_failed_record_repeats_keep_one_row_and_change_status(db_url):
    store = Store(db_url)
    stats = store.start_run("p", "s", "cli")
    bad = FailedRecord("parse", "not JSON at line 1", "{oops", context={"url": "http://x/1"})
    store.write_pages([PageWrite(stats, [], [bad])])
    store.write_pages([PageWrite(stats, [], [bad])])  # the same bad record again
    [row] = store.failed_records()  # one row; meeting it again is not an attempt
    assert (row.attempts, row.status, row.payload_size) == (1, "open", 5)
    assert store.failed_record(row.id).payload == "{oops"
    assert store.failed_heads([row.id, 999]) == {row.id: ("p", "s")}
    assert store.count_failed(search="JSON at") == 1 and store.count_failed(search="50%") == 0
    store.mark_failed([row.id], "resolved")
    assert store.failed_record(row.id).status == "resolved"
    assert store.failed_record(row.id).attempts == 2  # the retry that resolved it
    assert store.failed_records() == []


def test_a_page_that_fails_to_commit_leaves_nothing_behind(db_url):
    store = Store(db_url)
    stats = store.start_run("p", "s", "cli")
    broken = post(2, "x")
    broken.text = None  # NOT NULL: the whole transaction must roll back
    page = PageWrite(stats, [post(1, "good")], [FailedRecord("clean", "e", "{}")], {"page": 2})
    with pytest.raises((sqlite3.IntegrityError, psycopg.errors.NotNullViolation)):
        store.write_pages([page, PageWrite(stats, [broken], [], {"page": 3})])
    assert (store.count_posts(), store.count_failed(), store.cursor("p", "s")) == (0, 0, {})
    assert store.runs()[0].loaded == 0
    stats.loaded = stats.duplicates = stats.failed = 0  # the writer's caller retries the page
    assert store.write_pages([page]) == [(1, 0)]
    assert (store.count_posts(), store.cursor("p", "s")) == (1, {"page": 2})


def test_database_urls_parse_and_hide_passwords(tmp_path):
    assert DbUrl.parse(f"sqlite:///{tmp_path}/a.db").path == tmp_path / "a.db"
    assert DbUrl.parse("sqlite:///rel.db").path.as_posix() == "rel.db"
    assert DbUrl.parse(tmp_path / "b.db").backend == "sqlite"
    assert db_target(f"sqlite:///{tmp_path}/c.db") == tmp_path / "c.db"
    assert db_target("postgresql://h/db") == "postgresql://h/db"
    url = DbUrl.parse("postgresql://app:s3cret@db.example:5432/senti")
    assert url.backend == "postgresql" and "s3cret" not in url.display
    assert redact("postgresql://h/db?password=s3cret&x=1") == "postgresql://h/db?password=***&x=1"
    with pytest.raises(StoreError, match="unknown database URL"):
        DbUrl.parse("mysql://u:pw@h/db")


def test_unreachable_server_is_a_store_error_without_the_password(pg_cluster):
    url = f"postgresql://sentitui:hunter2@127.0.0.1:{pg_cluster.port}/no_such_database"
    with pytest.raises(StoreError) as raised:
        Store(url)
    assert "no_such_database" in str(raised.value) and "hunter2" not in str(raised.value)


def test_placeholders_translate_outside_literals_only():
    sql = "SELECT '?%', \"a?\", ? FROM t WHERE x LIKE 'd:%' AND y = ?"
    assert translate(sql) == "SELECT '?%%', \"a?\", %s FROM t WHERE x LIKE 'd:%%' AND y = %s"


def test_a_nul_in_a_payload_does_not_fail_the_page(db_url):
    store = Store(db_url)
    stats = store.start_run("p", "s", "cli")
    bad = FailedRecord("parse", "binary junk", "a\x00b")
    assert store.write_pages([PageWrite(stats, [post(1, "fine\x00too")], [bad])]) == [(1, 0)]
    [row] = store.failed_records()
    assert store.failed_record(row.id).payload == "a\x00b"  # bytea on PostgreSQL


@pytest.mark.parametrize(
    "payload",
    [
        "\x00",
        'page {"id": 1}\x00\x00 cut',
        '{"text": "AquaSilk\\u0000 raw \x00 and escaped"}',
        "\\x00 \\\\ ' \" é 😀 \x00\x01\x7f",  # backslashes and quotes around a NUL
    ],
    ids=["nul", "nuls-inside", "json-with-nul", "escapes"],
)
def test_a_failed_records_payload_is_kept_byte_for_byte(db_url, payload):
    """PostgreSQL text cannot hold U+0000: the payload goes as bytea there, TEXT on
    SQLite, and comes back the same on both, its size counted in bytes."""
    store = Store(db_url)
    try:
        stats = store.start_run("p", "s", "cli")
        store.write_pages([PageWrite(stats, [], [FailedRecord("parse", "bad", payload)])])
        [row] = store.failed_records()
        assert store.failed_record(row.id).payload == payload
        assert row.payload_size == len(payload.encode("utf-8"))
    finally:
        store.close()


def test_nul_in_a_post_is_removed_by_the_cleaner_the_same_on_both_backends(db_url):
    """One rule, in the cleaner (processing/clean.py): NUL leaves every text field of
    a post, so what is stored does not depend on the backend."""
    from sentitui.processing.clean import clean_record

    fields = {
        "id": "n\x001",
        "text": "AquaSilk\x00 is\x00 lovely",
        "author": "bo\x00b",
        "url": "https://shop.example/r/1\x00",
        "lang": "e\x00n",
        "segments": {"ci\x00ty": "Ly\x00on"},
    }
    cleaned = clean_record(
        fields, pipeline="p", source="s", author_secret=b"k", fetched_at="2026-11-20T10:00:00Z"
    )
    store = Store(db_url)
    try:
        stats = store.start_run("p", "s", "cli")
        store.write_pages([PageWrite(stats, [cleaned], [])])
        [row] = store.rows("SELECT external_id, text, url, lang, segments FROM posts")
    finally:
        store.close()
    assert row == {
        "external_id": "n1",
        "text": "AquaSilk is lovely",
        "url": "https://shop.example/r/1",
        "lang": "en",
        "segments": '{"city": "Lyon"}',
    }
    assert "\x00" not in str(cleaned.author_hash)


def test_a_reader_tells_whether_the_schema_is_current(tmp_path):
    """What a read ahead checks before it reads (tui/queries.py read_ahead)."""
    empty = Store(tmp_path / "new.db", migrate=False)  # created, never migrated
    assert not empty.schema_is_current()
    empty.close()
    path = tmp_path / "old.db"
    store = Store(path)
    assert store.schema_is_current()
    with store.transaction():
        store.set_meta("schema_version", "3")  # as an older release left it
    reader = Store(path, migrate=False)
    assert not reader.schema_is_current()
    reader.close()
    store.close()


def test_a_new_file_opened_by_a_writer_and_a_reader_at_once_opens_for_both(tmp_path):
    """The console reads ahead while its engine creates the database (tui/app.py): both
    switch a new file to WAL at the same moment, and SQLite answers one of them "database
    is locked" at once, with no busy wait. About 1 round in 25 did before enter_wal."""

    def open_store(path, migrate: bool, start: threading.Barrier, errors: list) -> None:
        start.wait()
        try:
            Store(path, migrate=migrate).close()
        except StoreError as exc:
            errors.append(str(exc))

    errors: list[str] = []
    for round_ in range(100):
        path = tmp_path / f"new{round_}.db"
        start = threading.Barrier(2)
        both = [
            threading.Thread(target=open_store, args=(path, migrate, start, errors))
            for migrate in (True, False)
        ]
        for thread in both:
            thread.start()
        for thread in both:
            thread.join()
    assert errors == []
    assert Store(tmp_path / "new99.db", migrate=False).schema_is_current()
