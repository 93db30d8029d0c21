"""Interrupted backfills resume (issue 11): real `sentitui run --once` processes against
newest-first paged APIs, stopped at a page by a signal, a failing fetch or a page that
cannot be read. Later runs store every post exactly once and no run stays `running`.

The long versions (many kills, larger feeds) are marked `chaos`: `make chaos`.
Servers and process helpers: chaos_feeds.py.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from chaos_feeds import Chaos, ChaosServer, Feed

STYLES = ["mastodon", "x", "offset"]


@pytest.fixture
def chaos_server() -> Iterator[ChaosServer]:
    server = ChaosServer(Feed(total=0))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def chaos(tmp_path: Path, chaos_server: ChaosServer) -> Chaos:
    return Chaos(tmp_path, chaos_server, "mastodon")


@pytest.mark.parametrize(
    ("style", "sig"),
    [("mastodon", signal.SIGKILL), ("x", signal.SIGTERM), ("offset", signal.SIGINT)],
    ids=["mastodon-SIGKILL", "x-SIGTERM", "offset-SIGINT"],
)
def test_a_run_stopped_mid_backfill_is_resumed_and_leaves_no_process(chaos: Chaos, style, sig):
    chaos.style = style
    # Pages of 40, 100 and 50: enough of them that the run is far from its end.
    total = chaos.server.feed.total = {"mastodon": 1000, "x": 2500, "offset": 1250}[style]
    code = chaos.kill_after(3, sig)  # its workers are checked gone too
    assert code == (-signal.SIGKILL if sig == signal.SIGKILL else 130)
    assert len(chaos.family) >= 2  # a scorer worker and the resource tracker
    stored = len(chaos.stored_ids())
    assert 0 < stored < total
    [(status, error)] = chaos.runs()
    if sig == signal.SIGKILL:
        assert status == "running"  # until the next process starts
    else:
        assert status == "cancelled"
        assert "the next run resumes at page" in error

    code, summary = chaos.run()
    assert code == 0, summary
    assert summary["loaded"] == total - stored
    chaos.assert_complete()
    first = chaos.runs()[0]
    if sig == signal.SIGKILL:
        assert first[0] == "interrupted"
        assert "pid" in first[1]

    # Later posts arrive: polling from the promoted cursor finds exactly them.
    chaos.server.feed.total = total + 100
    code, summary = chaos.run()
    assert (code, summary["loaded"], summary["duplicates"]) == (0, 100, 0), summary
    chaos.assert_complete()


def test_fetch_failing_after_retries_fails_the_run_and_retry_keeps_the_gap(chaos: Chaos):
    chaos.retries = 0
    feed = chaos.server.feed
    feed.total = 400  # pages of 40: page 4 starts below id 281
    feed.faults["max_id=281"] = "error"
    code, summary = chaos.run()
    [run] = summary["runs"]
    assert (code, run["status"], run["loaded"]) == (1, "failed", 120)
    assert "the next run resumes at page 4" in run["error"]

    # Retrying the fetch failure loads that page; the rest of the gap is still known.
    del feed.faults["max_id=281"]
    retry = subprocess.run(
        [sys.executable, "-m", "sentitui.cli", "failed", "retry", "--all"]
        + ["--db", str(chaos.db), "--pipelines", str(chaos.write_pipeline())],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert retry.returncode == 0, retry.stderr
    code, summary = chaos.run()
    assert (code, summary["loaded"]) == (0, 240), summary
    chaos.assert_complete()


def test_an_unreadable_page_ends_the_run_partial_and_the_next_run_reads_on(chaos: Chaos):
    feed = chaos.server.feed
    feed.total = 200
    feed.faults["max_id=161"] = "cut"  # once: fetched again, it reads
    feed.faults["max_id=121"] = "garbage"
    code, summary = chaos.run()
    [run] = summary["runs"]
    assert (code, run["status"], run["loaded"], run["failed"]) == (1, "partial", 80, 1)
    assert "paging stopped at page 3 of /api/v1/timelines/tag/serum" in run["error"]
    with sqlite3.connect(chaos.db) as conn:
        [(stage, payload)] = conn.execute("SELECT stage, payload FROM failed_records").fetchall()
    assert (stage, payload) == ("parse", '{"oops": [1, 2')

    del feed.faults["max_id=121"]
    code, summary = chaos.run()
    assert (code, summary["loaded"]) == (0, 120), summary
    chaos.assert_complete()


def test_a_full_disk_exits_3_with_the_summary_and_counts_only_what_landed(chaos: Chaos):
    chaos.server.feed.total = 400
    chaos.run(limit_bytes=10_000_000)  # creates the database and its schema
    chaos.server.feed.total = 3000
    code, summary = chaos.run(limit_bytes=os.path.getsize(chaos.db) + 200_000)
    [run] = summary["runs"]
    assert (code, run["status"]) == (3, "failed"), summary
    assert "full" in run["error"] or "disk" in run["error"], run["error"]
    assert 400 + run["loaded"] == len(chaos.stored_ids()) < 3000

    code, summary = chaos.run()  # room again: the next process closes and resumes
    assert code == 0, summary
    chaos.assert_complete()


@pytest.mark.chaos
@pytest.mark.parametrize("style", STYLES)
def test_many_random_kills_then_everything_once(chaos: Chaos, style):
    """Kill runs again and again at random pages with random signals while the feed
    grows; the runs after that store every post exactly once."""
    rng = random.Random(f"chaos-{style}")
    chaos.style = style
    feed = chaos.server.feed
    feed.total = 20_000
    for _ in range(20):
        sig = rng.choice([signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
        chaos.kill_after(rng.randint(1, 40), sig, committed=rng.random() < 0.5, strict=False)
        with feed.lock:
            feed.total += rng.randint(0, 150)
            if rng.random() < 0.3:
                feed.faults[rng.choice(list(hot_keys(style, feed.total)))] = rng.choice(
                    ["error", "cut"]
                )
    feed.faults.clear()
    for _ in range(3):  # a backfill ends, then polling catches up with the arrivals
        code, summary = chaos.run()
        assert code == 0, json.dumps(summary)
    chaos.assert_complete()


def hot_keys(style: str, total: int) -> set[str]:
    """Fault keys of some pages a run may ask for next."""
    if style == "mastodon":
        return {f"max_id={total - 40 * k + 1}" for k in range(1, 30)}
    if style == "x":
        return {f"next_token=t{total - 100 * k + 1}" for k in range(1, 30)}
    return {f"offset={50 * k}" for k in range(1, 30)}
