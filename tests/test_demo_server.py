"""The demo server replays sample_data/ over real HTTP; the generated live pipeline
runs against it through the real engine into a real SQLite file. A ManualClock
decides what has arrived and a FaultPlan which request fails how."""

from __future__ import annotations

import json
import sqlite3
import urllib.request
from pathlib import Path

import pytest

from sentitui.config import load_pipelines
from sentitui.demo.feeds import ManualClock, ReviewFeed, SocialFeed
from sentitui.demo.launch import DEMO_MARK, prepare_database, render_pipeline
from sentitui.demo.server import DemoServer, DemoThread, FaultPlan, FaultRule
from sentitui.store import Store

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"
TRUNCATED_ID = "117648693597162191"  # posts.jsonl line 37: not valid JSON
EMPTY_ID = "117649389537201879"  # line 58: empty content


def rows(db_path: Path, sql: str, params: tuple = ()) -> list[tuple]:
    with sqlite3.connect(db_path) as conn:
        return conn.execute(sql, params).fetchall()


@pytest.fixture
async def demo(tmp_path):
    """Start a demo server with a manual clock; returns (server, clock, pipelines)."""
    started: list[DemoServer] = []

    async def start(faults: FaultPlan) -> tuple[DemoServer, ManualClock, list]:
        clock = ManualClock()
        server = DemoServer(clock=clock, faults=faults)
        url = await server.start()
        started.append(server)
        pipelines = load_pipelines(render_pipeline(url, tmp_path / "pipelines"))
        return server, clock, pipelines

    yield start
    for server in started:
        await server.stop()


async def test_backlog_loads_and_each_fault_ends_as_a_failed_record(demo, make_engine, db_path):
    # Page 1 fine, then a 429 (retried), then a page cut mid-JSON (fetched once more);
    # later three 500s in a row, which outlast the live pipeline's `retries = 2`.
    faults = FaultPlan(
        at={"social": {2: "429", 3: "truncated", 7: "500", 8: "500", 9: "500"}}, retry_after=0
    )
    server, clock, pipelines = await demo(faults)

    async with make_engine(*pipelines) as engine:
        first = await engine.run_source("live", "social", "cli")
        second = await engine.run_source("live", "social", "cli")
        clock.advance(server.social.every * 4)
        arrived = server.social.released - 60
        down = await engine.run_source("live", "social", "cli")
        fetch_failure = rows(db_path, "SELECT id FROM failed_records WHERE stage = 'fetch'")[0][0]
        retried = await engine.retry_failed([fetch_failure])

    assert server.served_faults == [
        ("social", 2, "429"),
        ("social", 3, "truncated"),
        ("social", 7, "500"),
        ("social", 8, "500"),
        ("social", 9, "500"),
    ]
    # The page cut mid-JSON is asked for once more and reads: the whole backlog loads.
    assert (first.status, first.loaded, first.failed) == ("ok", 58, 2)
    assert (second.status, second.fetched, second.loaded) == ("ok", 0, 0)
    assert (down.status, down.loaded) == ("failed", 0) and "HTTP 500" in down.error
    # Retrying the fetch failure asks its URL again and loads what arrived meanwhile.
    assert retried.resolved == [fetch_failure]
    social = rows(db_path, "SELECT COUNT(*), COUNT(DISTINCT external_id) FROM posts")
    assert social == [(58 + arrived, 58 + arrived)]  # 60 backlog - 2 malformed, none twice

    failed = rows(db_path, "SELECT stage, error, payload, status FROM failed_records ORDER BY id")
    assert [f[0] for f in failed] == ["parse", "clean", "fetch"]
    stage, error, payload, _ = failed[0]
    assert "cannot map record" in error and TRUNCATED_ID in payload  # posts.jsonl line 37
    stage, error, payload, _ = failed[1]
    assert EMPTY_ID in error and "text is missing or empty" in error
    assert json.loads(payload)["id"] == EMPTY_ID
    stage, error, payload, status = failed[2]
    assert (
        "HTTP 500" in error and payload.startswith("Internal Server Error") and status == "resolved"
    )
    segments = rows(db_path, "SELECT segments FROM posts LIMIT 1")[0][0]
    assert set(json.loads(segments)) == {"age_group", "region", "hair_type"}


async def test_review_pages_are_crawled_and_a_maintenance_page_is_a_parse_failure(
    demo, make_engine, db_path
):
    # Requests 1-3 are the three pages of the first crawl; 5 is page 2 on the second.
    server, clock, pipelines = await demo(FaultPlan(at={"reviews": {5: "html"}}))

    async with make_engine(*pipelines) as engine:
        first = await engine.run_source("live", "reviews", "cli")
        second = await engine.run_source("live", "reviews", "cli")
        unchanged, requests = server.not_modified, len(server.seen)
        clock.advance(server.reviews.every * 3)  # three new reviews: R10026-R10028
        third = await engine.run_source("live", "reviews", "cli")

    assert (first.status, first.loaded, first.failed) == ("ok", 25, 0)
    assert (second.loaded, second.failed) == (0, 1)
    # Page 1 answered 304; page 2 was the maintenance page, whose lack of links ends the crawl.
    assert (unchanged, requests) == (1, 5)
    assert (third.loaded, third.duplicates, third.failed) == (3, 15, 0)  # pages 2 and 3 re-read
    stage, error, payload = rows(db_path, "SELECT stage, error, payload FROM failed_records")[0]
    assert stage == "parse" and "page=2" in error
    assert payload.startswith("<!DOCTYPE html>") and "maintenance" in payload
    review = rows(
        db_path,
        "SELECT text, rating, author_hash, segments FROM posts WHERE external_id = 'R10001'",
    )[0]
    assert review[0].startswith("The pump spits out a tiny squirt") and review[1] == 0.4  # 2 of 5
    assert review[2] and "Max" not in review[2]
    assert json.loads(review[3]) == {"age_group": "25-34", "region": "UK", "hair_type": "coily"}
    assert rows(db_path, "SELECT COUNT(*) FROM posts WHERE external_id = 'R10028'") == [(1,)]


async def test_later_runs_load_only_new_arrivals(demo, make_engine, db_path):
    server, clock, pipelines = await demo(FaultPlan())

    async with make_engine(*pipelines) as engine:
        first = await engine.run_source("live", "social", "cli")
        quiet = await engine.run_source("live", "social", "cli")
        newest_loaded = rows(db_path, "SELECT MAX(CAST(external_id AS INTEGER)) FROM posts")[0][0]
        before = server.social.released
        clock.advance(server.social.every * 10)
        arrived = server.social.released - before
        later = await engine.run_source("live", "social", "cli")

    assert (first.loaded, first.failed) == (58, 2)
    assert (quiet.fetched, quiet.loaded) == (0, 0)
    assert 10 <= arrived <= 30  # ten ticks of 1..3 posts
    assert (later.fetched, later.loaded, later.duplicates, later.failed) == (arrived, arrived, 0, 0)
    # Every run after the first asked only for posts above the largest id loaded.
    since = [query.get("since_id") for feed, query in server.seen if "cursor" not in query]
    assert since == [None, str(newest_loaded), str(newest_loaded)]
    newest = rows(
        db_path,
        "SELECT created_at FROM posts WHERE source = 'social' "
        "ORDER BY CAST(external_id AS INTEGER) DESC LIMIT 1",
    )[0][0]
    assert newest.startswith("2026-11-20T08:00:")  # stamped by the demo clock, not the file


def test_feeds_are_deterministic_and_never_run_dry():
    clock = ManualClock()
    one, two = SocialFeed(seed=7, clock=clock), SocialFeed(seed=7, clock=clock)
    clock.advance(60)
    assert one.released == two.released > 60
    assert [i.record for i in one.items] == [i.record for i in two.items]

    one.release(400)  # past the end of the 300 sample lines: synthesised posts
    made = [i for i in one.items[300:]]
    keys = [i.key for i in made]
    assert keys == sorted(keys) and len(set(keys)) == len(keys) and keys[0] > 117670645811954503
    broken = [
        i.record
        for i in made
        if i.record["content"] == "" or i.record["created_at"] == "not-a-date"
    ]
    assert len(broken) == len(made) // 25
    assert all(
        set(i.record["account"]) == {"acct", "location", "age_group", "hair_type"} for i in made
    )

    reviews = ReviewFeed(clock=clock)
    reviews.release(200)
    ids = [i.record["review_id"] for i in reviews.items]
    assert ids[:2] == ["R10001", "R10002"] and ids[-1] == "R10225" and len(set(ids)) == 225


def test_fault_rules_repeat_and_pinned_requests_win():
    plan = FaultPlan(
        at={"social": {5: "html"}}, rules=[FaultRule("social", "500", every=10, start=3, length=2)]
    )
    hits = {n: plan.fault("social", n) for n in range(1, 25) if plan.fault("social", n)}
    assert hits == {3: "500", 4: "500", 5: "html", 13: "500", 14: "500", 23: "500", 24: "500"}
    assert plan.fault("reviews", 3) is None


def test_demo_thread_serves_and_stops():
    thread = DemoThread(DemoServer(faults=FaultPlan()))
    url = thread.start()
    try:
        with urllib.request.urlopen(url + "/status", timeout=5) as response:
            status = json.loads(response.read())
        with urllib.request.urlopen(
            url + "/api/v1/timelines/tag/aquasilk?limit=5", timeout=5
        ) as response:
            page = json.loads(response.read())
            link = response.headers["Link"]
    finally:
        thread.stop()
    assert status["released"] == {"social": 60, "reviews": 25}
    assert len(page) == 5 and 'rel="next"' in link and "cursor=5" in link
    with pytest.raises(OSError):
        urllib.request.urlopen(url + "/status", timeout=2)


def test_a_port_in_use_is_reported_not_hung():
    first = DemoThread(DemoServer(faults=FaultPlan()))
    url = first.start()
    try:
        with pytest.raises(OSError):
            DemoThread(DemoServer(faults=FaultPlan()), port=int(url.rsplit(":", 1)[1])).start()
    finally:
        first.stop()


def test_only_a_demo_database_is_reset(tmp_path):
    demo_db = tmp_path / "demo.db"
    assert prepare_database(demo_db) is True
    Store(demo_db).conn.execute("CREATE TABLE leftover (x)")
    assert prepare_database(demo_db) is True
    assert rows(demo_db, "SELECT name FROM sqlite_master WHERE name = 'leftover'") == []

    mine = tmp_path / "mine.db"
    store = Store(mine)
    with store.transaction():
        store.conn.execute("CREATE TABLE keep_me (x)")
    store.close()
    assert prepare_database(mine) is False
    assert rows(mine, "SELECT name FROM sqlite_master WHERE name = 'keep_me'") == [("keep_me",)]
    assert rows(mine, "SELECT value FROM meta WHERE key = ?", (DEMO_MARK,)) == []
