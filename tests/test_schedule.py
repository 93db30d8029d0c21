"""Schedules: interval parsing, and a scheduled source running repeatedly on its own."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from aiohttp import web

from sentitui.engine.schedule import ScheduleError, parse_interval
from sentitui.models import RunFinished


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("5m", 300), ("1h", 3600), ("1d", 86400),
                                               ("0.5s", 0.5)])
def test_parse_interval(text, seconds):
    assert parse_interval(text) == seconds


@pytest.mark.parametrize("text", ["5 minutes", "", "m5", "0s"])
def test_bad_interval_is_named(text):
    with pytest.raises(ScheduleError, match="schedule"):
        parse_interval(text)


async def test_scheduled_source_runs_repeatedly_and_never_overlaps(serve, write_pipeline, make_engine, db_path):
    app = web.Application()

    async def posts(request: web.Request) -> web.Response:
        n = len(server.requests)
        return web.json_response([{"id": n, "body": f"AquaSilk post {n}"}])

    app.router.add_get("/posts", posts)
    server = await serve(app)
    pipeline = write_pipeline(f"""
        [pipeline]
        name = "live"
        schedule = "0.2s"

        [[source]]
        name = "api"
        kind = "json_api"
        url = "{server.url}/posts"
        [source.fields]
        id = "id"
        text = "body"
    """)
    finished: list[RunFinished] = []
    three = asyncio.Event()

    def on_event(event):
        if isinstance(event, RunFinished):
            finished.append(event)
            if len(finished) == 3:
                three.set()

    async with make_engine(pipeline) as engine:
        engine.subscribe(on_event)
        engine.start_schedules(first_delay=0)
        await asyncio.wait_for(three.wait(), timeout=10)
        assert engine.state("live", "api").next_run is not None
        await engine.stop_schedules()

    assert [e.stats.status for e in finished[:3]] == ["ok", "ok", "ok"]
    with sqlite3.connect(db_path) as conn:
        triggers = {row[0] for row in conn.execute("SELECT trigger FROM runs")}
        assert conn.execute("SELECT COUNT(*) FROM posts").fetchone()[0] >= 3
    assert triggers == {"schedule"}
