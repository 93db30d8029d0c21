"""Streaming sources against real local servers (SSE, WebSocket, chunked NDJSON) that
drop connections mid-event, stall, send garbage and replay from a cursor. Every
assertion reads the SQLite file; waits poll it with a generous bound."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from stream_servers import FakeSocial

from sentitui.engine.watch import Continuous

WAIT = 20.0  # generous: the machine is shared; the goal (under 2 s) is not timed here


async def until(check: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what} (last: {value!r})")
        await asyncio.sleep(0.05)


def rows(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    if not db.exists():
        return []
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError:  # not created yet
        return []
    finally:
        conn.close()


def ids(db: Path, source: str) -> list[str]:
    return [
        r[0] for r in rows(db, "SELECT external_id FROM posts WHERE source = ? ORDER BY id", source)
    ]


def cursor(db: Path, source: str) -> dict[str, Any]:
    found = rows(db, "SELECT cursor FROM source_state WHERE source = ?", source)
    return json.loads(found[0][0]) if found else {}


def pipeline_text(url: str, *sources: str) -> str:
    blocks = {
        "masto": f"""
            [[source]]
            name = "masto"
            kind = "mastodon"
            base_url = "{url}"
            hashtag = "aquasilk"
            stream = true
            stall_timeout = 1
            max_backoff = 0.2
            """,
        "jet": f"""
            [[source]]
            name = "jet"
            kind = "bluesky_jetstream"
            base_url = "{url.replace("http://", "ws://")}"
            keywords = ["aquasilk"]
            stall_timeout = 1
            max_backoff = 0.2
            """,
        "x": f"""
            [[source]]
            name = "x"
            kind = "x"
            base_url = "{url}"
            query = "aquasilk"
            token = "secret-token"
            stream = true
            stall_timeout = 1
            max_backoff = 0.2
            """,
    }
    return '[pipeline]\nname = "live"\n' + "".join(blocks[s] for s in sources)


@pytest.fixture
async def social(serve: Any) -> tuple[FakeSocial, str, Any]:
    fake = FakeSocial()
    server = await serve(fake.app())
    return fake, server.url, server


async def test_mastodon_stream_survives_drops_garbage_and_stalls(
    social: tuple[FakeSocial, str, Any], write_pipeline: Any, make_engine: Any, db_path: Path
) -> None:
    fake, url, server = social
    history = fake.publish("aquasilk from before the stream started")
    engine = make_engine(write_pipeline(pipeline_text(url, "masto")))
    async with engine:
        continuous = Continuous(engine, None)
        await continuous.start()
        try:
            await until(lambda: history.id in ids(db_path, "masto"), "the back-filled history")
            await until(lambda: fake.live("mastodon") == 1, "the SSE connection")

            live = fake.publish("aquasilk live: I love it")
            await until(lambda: live.id in ids(db_path, "masto"), "a live event in SQLite")
            state = engine.state("live", "masto")
            assert state.status == "streaming"
            await until(lambda: "events/s" in engine.state("live", "masto").detail, "the rate")

            fake.fault("mastodon", "drop")
            cut = fake.publish("aquasilk cut off mid-event")
            await until(lambda: cut.id in ids(db_path, "masto"), "the cut event, back-filled")
            assert fake.connections["mastodon"] >= 2

            fake.fault("mastodon", "garbage")
            await until(lambda: fake.live("mastodon") == 1, "the reconnection")
            after = fake.publish("aquasilk after the garbage")
            await until(lambda: after.id in ids(db_path, "masto"), "the event after garbage")
            failed = await until(
                lambda: rows(db_path, "SELECT stage, payload, error FROM failed_records"),
                "the garbage as a failed record",
            )
            assert failed[0][0] == "parse" and failed[0][1] == "{not json at all"

            fake.fault("mastodon", "stall")
            stalled = fake.publish("aquasilk sent into a stalled connection")
            await until(lambda: stalled.id in ids(db_path, "masto"), "the stalled event")
        finally:
            await continuous.stop()
            engine.stop_all("test over")
    stored = ids(db_path, "masto")
    assert sorted(stored) == sorted(p.id for p in fake.posts)  # each once, none lost
    assert cursor(db_path, "masto") == {"since": fake.posts[-1].id}


async def test_jetstream_filters_resumes_from_its_cursor_and_fails_garbage(
    social: tuple[FakeSocial, str, Any], write_pipeline: Any, make_engine: Any, db_path: Path
) -> None:
    fake, url, server = social
    engine = make_engine(write_pipeline(pipeline_text(url, "jet")))
    async with engine:
        continuous = Continuous(engine, None)
        await continuous.start()
        try:
            await until(lambda: fake.live("jetstream") == 1, "the WebSocket")
            first = fake.publish("new aquasilk bottle")
            await until(lambda: len(ids(db_path, "jet")) == 1, "a matching post in SQLite")
            await until(lambda: cursor(db_path, "jet") == {"time_us": first.time_us}, "cursor")

            fake.fault("jetstream", "drop")
            dropped = fake.publish("aquasilk lost when the socket died")
            await until(lambda: len(ids(db_path, "jet")) == 2, "the replayed post")
            assert fake.jetstream_cursors[-1] == str(first.time_us)
            assert dropped.time_us == cursor(db_path, "jet")["time_us"]

            fake.fault("jetstream", "garbage")
            await until(lambda: fake.live("jetstream") == 1, "the reconnection")
            fake.publish("AquaSilk after garbage")
            await until(lambda: len(ids(db_path, "jet")) == 3, "the post after garbage")
            failed = rows(db_path, "SELECT stage, payload FROM failed_records")
            assert failed == [("parse", "{garbage")]
        finally:
            await continuous.stop()
            engine.stop_all("test over")
    texts = [r[0] for r in rows(db_path, "SELECT text FROM posts")]
    assert not any("nothing to see" in t for t in texts)  # the filter ran our side
    assert ids(db_path, "jet") == [
        f"at://did:plc:abc/app.bsky.feed.post/r{p.n}" for p in fake.posts
    ]


async def test_x_filtered_stream_sets_its_rule_and_backfills_a_drop(
    social: tuple[FakeSocial, str, Any], write_pipeline: Any, make_engine: Any, db_path: Path
) -> None:
    fake, url, server = social
    fake.rules.append({"id": "99", "value": "old query", "tag": "sentitui:live/x"})
    fake.rules.append({"id": "98", "value": "someone else's", "tag": "other"})
    engine = make_engine(write_pipeline(pipeline_text(url, "x")))
    async with engine:
        continuous = Continuous(engine, None)
        await continuous.start()
        try:
            await until(lambda: fake.live("x") == 1, "the NDJSON stream")
            assert [(r["value"], r["tag"]) for r in fake.rules] == [
                ("someone else's", "other"),
                ("aquasilk", "sentitui:live/x"),
            ]
            first = fake.publish("aquasilk tweet")
            await until(lambda: first.id in ids(db_path, "x"), "a tweet in SQLite")
            fake.fault("x", "drop", "garbage")
            cut = fake.publish("aquasilk cut in half")
            await until(lambda: cut.id in ids(db_path, "x"), "the cut tweet, back-filled")
            await until(lambda: fake.live("x") == 1, "the reconnection")
            last = fake.publish("aquasilk after garbage")
            await until(lambda: last.id in ids(db_path, "x"), "the tweet after garbage")
            failed = rows(db_path, "SELECT payload FROM failed_records")
            assert failed == [("<html>oops</html>",)]
        finally:
            await continuous.stop()
            engine.stop_all("test over")
    assert sorted(ids(db_path, "x")) == sorted(p.id for p in fake.posts)
    # the token went with every request to the configured host, and nowhere else
    assert {r.headers.get("Authorization") for r in server.requests} == {"Bearer secret-token"}


async def test_pause_stops_the_stream_and_resume_backfills(
    social: tuple[FakeSocial, str, Any], write_pipeline: Any, make_engine: Any, db_path: Path
) -> None:
    fake, url, server = social
    engine = make_engine(write_pipeline(pipeline_text(url, "masto")))
    async with engine:
        continuous = Continuous(engine, None)
        await continuous.start()
        try:
            await until(lambda: fake.live("mastodon") == 1, "the SSE connection")
            engine.pause("live", "masto")
            await until(lambda: fake.live("mastodon") == 0, "the stream to close on pause")
            await until(
                lambda: (
                    rows(db_path, "SELECT status, error FROM runs") == [("cancelled", "paused")]
                ),
                "the stream run to end",
            )
            assert engine.state("live", "masto").status == "paused"
            while_paused = fake.publish("aquasilk posted while paused")
            engine.pause("live", "masto", False)
            await until(lambda: while_paused.id in ids(db_path, "masto"), "the back-fill")
            await until(lambda: fake.live("mastodon") == 1, "the stream again")
        finally:
            await continuous.stop()
            engine.stop_all("test over")


async def test_run_once_on_jetstream_catches_up_from_the_cursor(
    social: tuple[FakeSocial, str, Any], write_pipeline: Any, make_engine: Any, db_path: Path
) -> None:
    fake, url, server = social
    posts = [fake.publish(f"aquasilk number {i}") for i in range(3)]
    engine = make_engine(write_pipeline(pipeline_text(url, "jet")))
    async with engine:
        [stats] = await engine.run_pipelines()
    assert stats.status == "ok" and stats.loaded == 3
    assert cursor(db_path, "jet") == {"time_us": posts[-1].time_us}


# ---- a killed daemon ---------------------------------------------------------------------


async def test_killed_daemon_resumes_every_stream_from_its_cursor(
    social: tuple[FakeSocial, str, Any], tmp_path: Path
) -> None:
    fake, url, server = social
    folder = tmp_path / "pipelines"
    folder.mkdir()
    (folder / "live.toml").write_text(pipeline_text(url, "masto", "jet", "x"), encoding="utf-8")
    db = tmp_path / "live.db"

    async def daemon() -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "sentitui.cli",
            "run",
            "--watch",
            "--db",
            str(db),
            "--pipelines",
            str(folder),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            env={**os.environ, "SENTITUI_LOG": str(tmp_path / "daemon.log")},
        )

    sources = ("masto", "jet", "x")
    stop = asyncio.Event()

    async def keep_posting() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            fake.publish(f"aquasilk post {n}")
            await asyncio.sleep(0.05)

    proc = await daemon()
    try:
        await until(lambda: all(fake.live(p) for p in ("mastodon", "jetstream", "x")), "streams")
        poster = asyncio.create_task(keep_posting())
        await until(lambda: all(len(ids(db, s)) >= 10 for s in sources), "posts from each stream")
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        committed = cursor(db, "jet")["time_us"]
        await until(lambda: not any(fake.live(p) for p in ("jetstream",)), "the dead socket")
        connections = len(fake.jetstream_cursors)
        await asyncio.sleep(0.3)  # posts arrive while nothing listens
        proc = await daemon()
        await until(lambda: len(fake.jetstream_cursors) > connections, "the restart")
        assert fake.jetstream_cursors[connections] == str(committed)
        before = len(fake.posts)
        await until(lambda: all(len(ids(db, s)) > before for s in sources), "posts after it")
        stop.set()
        await poster
        total = len(fake.posts)
        for source in sources:
            await until(lambda s=source: len(ids(db, s)) == total, f"every post in {source}")
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 60) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    expected_ids = sorted(p.id for p in fake.posts)
    assert sorted(ids(db, "masto")) == expected_ids
    assert sorted(ids(db, "x")) == expected_ids
    assert len(set(ids(db, "jet"))) == len(ids(db, "jet")) == total


async def test_streams_take_no_run_slot(
    social: tuple[FakeSocial, str, Any], write_pipeline: Any, make_engine: Any, db_path: Path
) -> None:
    fake, url, server = social
    engine = make_engine(write_pipeline(pipeline_text(url, "masto", "jet")), max_concurrent_runs=1)
    async with engine:
        continuous = Continuous(engine, None)
        await continuous.start()
        try:
            await until(lambda: fake.live("mastodon") and fake.live("jetstream"), "both streams")
            post = fake.publish("aquasilk for both")
            await until(lambda: post.id in ids(db_path, "masto"), "the post via SSE")
            await until(lambda: len(ids(db_path, "jet")) == 1, "the post via the WebSocket")
        finally:
            await continuous.stop()
            engine.stop_all("test over")


async def test_a_stream_down_too_long_fails_its_run_and_fires_source_failing(
    tmp_path: Path, write_pipeline: Any, make_engine: Any, db_path: Path
) -> None:
    from aiohttp import web

    from sentitui.engine.alerts import AlertWatcher

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    text = pipeline_text(url, "jet").replace(
        "stall_timeout = 1", "stall_timeout = 1\nfail_after = 0.5"
    )
    text += '\n[[alert]]\nname = "jet-down"\nkind = "source_failing"\nsource = "jet"\nfor = "1s"\n'
    engine = make_engine(write_pipeline(text))
    fake = FakeSocial()
    runner = web.AppRunner(fake.app())
    async with engine:
        continuous = Continuous(engine, None)
        await continuous.start()
        try:
            failed = await until(
                lambda: rows(db_path, "SELECT error FROM runs WHERE status = 'failed'"),
                "a failed stream run",
            )
            assert "disconnected for over 0.5s" in failed[0][0]
            later = time.time() + 5  # the outage outlasts the rule's `for`
            [fired] = await AlertWatcher(engine).check_now(now=later)
            assert fired.state == "firing" and "failed run(s)" in fired.detail

            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()  # the service is back
            await until(lambda: fake.live("jetstream") == 1, "the stream again", timeout=400)
            fake.publish("aquasilk is back")
            await until(lambda: len(ids(db_path, "jet")) == 1, "a post after the outage")
            [resolved] = await AlertWatcher(engine).check_now()
            assert resolved.state == "resolved"
        finally:
            await continuous.stop()
            engine.stop_all("test over")
            await runner.cleanup()
