"""The rollup tables: after writes (with duplicates), rescore and purge, every figure
the dashboard and `stats` read from them equals the same figure computed over all posts."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sentitui.config import PipelineConfig
from sentitui.maintenance import purge, rescore
from sentitui.models import Post
from sentitui.processing.ratings import rating_label
from sentitui.processing.score import Scorer
from sentitui.store import MIGRATIONS, PageWrite, Store
from sentitui.store.reports import agreement_of

TEXTS = [
    "Silky soft hair, love the scent",
    "The scent is too strong and the price is awful",
    "Better than SilkPro, cheaper too",
    "Is it safe for curly hair?",
    "Meh. HairGlow lasts longer",
]


def post(n: int, **kw: Any) -> Post:
    label = ("positive", "negative", "neutral")[n % 3]
    fields: dict[str, Any] = dict(
        pipeline="p" if n % 4 else "q",
        source=("api", "feed")[n % 2],
        external_id=str(n),
        text=TEXTS[n % len(TEXTS)],
        created_at=f"2026-{1 + n % 3:02d}-{1 + n % 27:02d}T{n % 24:02d}:{n % 60:02d}:07Z",
        fetched_at="2026-11-20T10:00:00Z",
        polarity={"positive": 0.5, "negative": -0.25, "neutral": 0.0}[label] + n / 1000,
        label=label,
        feedback=("praise", "complaint", "comparison", "question")[n % 4],
        competitors=["SilkPro"] if n % 5 == 2 else (["HairGlow", "SilkPro"] if n % 5 == 4 else []),
        segments={"age": ("18-24", "25-34")[n % 2], "hair": "curly"} if n % 3 else {},
        aspects={"scent": {"polarity": -0.3, "label": "negative"}} if n % 5 in (0, 1) else {},
    )
    if n % 11 == 0:
        fields["created_at"] = None
    if n % 17 == 0:  # a post the scorer could not read: out of every average
        fields.update(polarity=None, label="unscored")
    if n % 6 == 1:  # the language pseudo segment comes from posts.lang
        fields["lang"] = ("en", "fr")[n % 4 == 1]
    if n % 7 in (0, 3, 5):  # a customer's rating (0..1) beside the text's label
        fields.update(rating=(0.2, 0.6, 1.0)[n % 3], text_label=fields["label"])
    fields.update(kw)
    return Post(**fields)


def by_scan(db: Path) -> dict[str, Any]:
    """The figures straight from the posts table (what the queries did before rollups)."""
    conn = sqlite3.connect(db)
    one = conn.execute
    figures: dict[str, Any] = {
        "totals": one(
            "SELECT COUNT(*), ROUND(AVG(polarity), 4), SUM(label = 'positive'), "
            "SUM(label = 'neutral'), SUM(label = 'negative') FROM posts"
        ).fetchone(),
        "by_source": one(
            "SELECT pipeline, source, COUNT(*), ROUND(AVG(polarity), 4) FROM posts "
            "GROUP BY 1, 2 ORDER BY 1, 2"
        ).fetchall(),
        "feedback": dict(one("SELECT feedback, COUNT(*) FROM posts GROUP BY 1").fetchall()),
        "segments": sorted(
            one(
                "SELECT json_extract(segments, '$.age'), COUNT(*), ROUND(AVG(polarity), 4), "
                "SUM(label = 'negative') FROM posts WHERE json_extract(segments, '$.age') "
                "IS NOT NULL GROUP BY 1"
            ).fetchall()
        ),
        "competitors": sorted(
            one(
                "SELECT c.value, COUNT(*), ROUND(AVG(polarity), 4) FROM posts, "
                "json_each(posts.competitors) AS c GROUP BY 1"
            ).fetchall()
        ),
        "aspects": sorted(
            one(
                "SELECT json_extract(segments, '$.age'), a.key, COUNT(*), "
                "SUM(json_extract(a.value, '$.label') = 'negative') FROM posts, "
                "json_each(posts.aspects) AS a WHERE json_extract(segments, '$.age') "
                "IS NOT NULL GROUP BY 1, 2"
            ).fetchall()
        ),
        "daily": sorted(
            one(
                "SELECT source, substr(created_at, 1, 10) || 'T00:00:00Z', COUNT(*), "
                "ROUND(AVG(polarity), 4) FROM posts WHERE created_at IS NOT NULL GROUP BY 1, 2"
            ).fetchall()
        ),
        "languages": sorted(
            one(
                "SELECT lang, COUNT(*), ROUND(AVG(polarity), 4), SUM(label = 'unscored') "
                "FROM posts WHERE lang IS NOT NULL GROUP BY 1"
            ).fetchall()
        ),
        "negative_feed": one(
            "SELECT COUNT(*) FROM posts WHERE label = 'negative' AND source = 'feed'"
        ).fetchone()[0],
    }
    pairs = [
        (rating_label(rating), text_label)
        for rating, text_label in one(
            "SELECT rating, text_label FROM posts WHERE rating IS NOT NULL "
            "AND text_label IN ('positive', 'neutral', 'negative')"
        )
    ]
    figures["agreement"] = agreement_of(Counter(pairs))
    assert figures["agreement"].rated > 0
    conn.close()
    return figures


def by_rollups(store: Store) -> dict[str, Any]:
    t = store.totals()
    return {
        "totals": (t.posts, t.avg_polarity, t.positive, t.neutral, t.negative),
        "by_source": [
            (r.pipeline, r.source, r.posts, r.avg_polarity) for r in store.totals_by_source()
        ],
        "feedback": store.feedback_split(),
        "segments": sorted(
            (r.segment, r.posts, r.avg_polarity, r.negative) for r in store.segment_breakdown("age")
        ),
        "competitors": sorted(
            (r.competitor, r.mentions, r.avg_polarity) for r in store.competitor_summary()
        ),
        "aspects": sorted(
            (r.segment, r.aspect, r.mentions, r.negative) for r in store.aspect_summary("age")
        ),
        "daily": sorted(
            (r.source, r.bucket, r.posts, r.avg_polarity) for r in store.sentiment_over_time(86400)
        ),
        "languages": sorted(
            (r.segment, r.posts, r.avg_polarity, r.unscored)
            for r in store.segment_breakdown("language")
        ),
        "negative_feed": store.count_search_posts(label="negative", source="feed"),
        "agreement": store.rating_agreement(),
    }


def same(left: Any, right: Any) -> bool:
    """Equal, with averages allowed to round differently in the 4th decimal (a float
    AVG over rows against an exact sum of ten-thousandths)."""
    if isinstance(left, float) or isinstance(right, float):
        return left is not None and right is not None and abs(left - right) <= 1.01e-4
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(same(left[k], right[k]) for k in left)
    if isinstance(left, list | tuple) and isinstance(right, list | tuple):
        return len(left) == len(right) and all(same(a, b) for a, b in zip(left, right, strict=True))
    return bool(left == right)


def _write_rescore_purge(stores: list[Store], tmp_path: Path, check: Any) -> None:
    """The same writes (with duplicates), rescore and purge on each store, `check()`
    after each step."""
    for store in stores:
        stats = store.start_run("p", "api", "cli")
        pages = [
            PageWrite(stats, [post(n) for n in range(k, k + 40)], []) for k in range(0, 200, 40)
        ]
        store.write_pages(pages[:3])
        # Duplicates (the same ids again, other values) must not count twice.
        store.write_pages([PageWrite(stats, [post(n, polarity=0.9) for n in range(30, 90)], [])])
        store.write_pages(pages[3:])
        assert store.totals().posts == 200
        assert store.segment_keys() == ["age", "hair", "language"]
    check()

    config = PipelineConfig(
        name="p",
        path=tmp_path / "p.toml",
        competitors=["SilkPro", "HairGlow"],
        aspects={"scent": ["scent"], "price": ["price"]},
        retention_days=90,
    )

    async def rescore_p(store: Store) -> None:
        async with Scorer(workers=0) as scorer:
            await rescore(store, [config], scorer, batch_size=17)

    for store in stores:
        asyncio.run(rescore_p(store))
    check()

    # Retention 90 days before 2026-04-15 drops posts created before mid-January.
    from datetime import UTC, datetime

    for store in stores:
        result = purge(store, [config], now=datetime(2026, 4, 15, tzinfo=UTC))
        assert result.posts["p"] > 0
    check()


def test_rollups_match_a_full_scan_after_writes_rescore_and_purge(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    store = Store(db)
    _write_rescore_purge([store], tmp_path, lambda: _assert_same(by_rollups(store), by_scan(db)))
    store.close()


def test_postgresql_rollups_equal_the_sqlite_full_scan(tmp_path: Path, pg_url: str) -> None:
    """The rollup SQL in PostgreSQL's dialect (jsonb_each_text, jsonb_each,
    jsonb_array_elements_text, ->>) gives every figure SQLite's scan gives."""
    db = tmp_path / "r.db"
    sqlite_store, pg_store = Store(db), Store(pg_url)
    _write_rescore_purge(
        [sqlite_store, pg_store], tmp_path, lambda: _assert_same(by_rollups(pg_store), by_scan(db))
    )
    sqlite_store.close()
    pg_store.close()


def _assert_same(left: Any, right: Any) -> None:
    assert same(left, right), (left, right)


def test_migration_fills_rollups_from_posts_already_stored(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    store = Store(db)
    store.write_pages(
        [PageWrite(store.start_run("p", "api", "cli"), [post(n) for n in range(50)], [])]
    )
    store.conn.execute("DELETE FROM rollup_totals")  # as if written before the rollups existed
    # Back to the version before the rollups; the migrations after them (the fleet's
    # tables) are undone too, so they run again cleanly.
    rollups_at = [m.__name__ for m in MIGRATIONS].index("_migrate_rollups")
    store.set_meta("schema_version", str(rollups_at))
    store.conn.commit()
    for table in ("daemons", "leases"):
        store.conn.execute(f"DROP TABLE {table}")
    store.conn.execute("ALTER TABLE runs DROP COLUMN daemon_id")
    store.conn.execute("ALTER TABLE commands DROP COLUMN daemon_id")
    store.conn.execute("DROP INDEX posts_rated")
    for table in (
        "rollup_totals",
        "rollup_time",
        "rollup_segments",
        "rollup_competitors",
        "rollup_aspects",
        "alerts",
    ):
        store.conn.execute(f"DROP TABLE {table}")
    store.conn.commit()
    store.close()
    reopened = Store(db)  # runs the rollup migration again
    assert same(by_rollups(reopened), by_scan(db))
    assert json.dumps(asdict(reopened.totals()))  # plain values
    reopened.close()


def test_postgresql_rollups_stay_exact_with_concurrent_writers(pg_url: str) -> None:
    """Daemons of a fleet commit posts at the same time; each writer's rollups add
    exactly the rows it inserted (not another's committed meanwhile, which READ
    COMMITTED shows to its later statements), so the counts equal the posts table."""
    import threading

    def write(worker: int) -> None:
        store = Store(pg_url)
        stats = store.start_run("p", f"w{worker}", "cli")
        for batch in range(15):
            start = worker * 10_000 + batch * 20
            store.write_pages(
                [
                    PageWrite(
                        stats, [post(n, source=f"w{worker}") for n in range(start, start + 20)], []
                    )
                ]
            )
        store.close()

    threads = [threading.Thread(target=write, args=(w,)) for w in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store = Store(pg_url)
    assert store.totals().posts == 3 * 15 * 20
    per_source: dict[str, int] = {}
    for row in store.totals_by_source():
        per_source[row.source] = per_source.get(row.source, 0) + row.posts
    assert per_source == {"w0": 300, "w1": 300, "w2": 300}
    by_time = store.rows("SELECT SUM(posts) AS n FROM rollup_time WHERE grain = 'fetched_minute'")
    assert by_time[0]["n"] == 900
    store.close()


def test_a_page_and_a_rescore_batch_update_rollups_by_id_range(tmp_path: Path) -> None:
    """The rollup statements of a written page and of a rescore batch read only those
    posts (a rowid range), not a whole index of every post: that made each page's
    rollups cost more the bigger the database."""
    store = Store(tmp_path / "r.db")
    stats = store.start_run("p", "api", "cli")
    store.write_pages([PageWrite(stats, [post(n) for n in range(300)], [])])
    statements: list[str] = []
    store.conn.set_trace_callback(statements.append)  # the SQL with its values inlined
    store.write_pages([PageWrite(stats, [post(n) for n in range(300, 340)], [])])

    async def rescore_p() -> None:
        config = PipelineConfig(name="p", path=tmp_path / "p.toml", aspects={"scent": ["scent"]})
        async with Scorer(workers=0) as scorer:
            await rescore(store, [config], scorer, batch_size=50)

    asyncio.run(rescore_p())
    store.conn.set_trace_callback(None)
    rollup_inserts = [sql for sql in statements if sql.startswith("INSERT INTO rollup_")]
    assert len(rollup_inserts) > 12  # the page's, and both sides of each rescore batch
    for sql in rollup_inserts:
        plan = [row[3] for row in store.conn.execute("EXPLAIN QUERY PLAN " + sql)]
        reads = [step for step in plan if " posts " in f"{step} "]
        assert reads and all("INTEGER PRIMARY KEY (rowid>" in step for step in reads), (sql, plan)
    store.close()
