"""Schedules: interval parsing, and a scheduled source running repeatedly on its own."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from aiohttp import web

from sentitui.engine.schedule import ScheduleError, parse_interval
from sentitui.models import RunFinished


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("5m", 300), ("1h", 3600), ("1d", 86400), ("0.5s", 0.5)]
)
def test_parse_interval(text, seconds):
    assert parse_interval(text) == seconds


@pytest.mark.parametrize("text", ["5 minutes", "", "m5", "0s"])
def test_bad_interval_is_named(text):
    with pytest.raises(ScheduleError, match="schedule"):
        parse_interval(text)


async def test_scheduled_source_runs_repeatedly_and_never_overlaps(
    serve, write_pipeline, make_engine, db_path
):
    app = web.Application()
    in_flight, most_in_flight = 0, 0

    async def posts(request: web.Request) -> web.Response:
        """A slow service: each answer takes 2.5 schedule periods, so ticks fall due
        while a run is still fetching; an overlapping run would be a second request."""
        nonlocal in_flight, most_in_flight
        in_flight += 1
        most_in_flight = max(most_in_flight, in_flight)
        try:
            await asyncio.sleep(0.5)
            n = len(server.requests)
            return web.json_response([{"id": n, "body": f"AquaSilk post {n}"}])
        finally:
            in_flight -= 1

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
    assert most_in_flight == 1 and len(server.requests) >= 3
    with sqlite3.connect(db_path) as conn:
        triggers = {row[0] for row in conn.execute("SELECT trigger FROM runs")}
        assert conn.execute("SELECT COUNT(*) FROM posts").fetchone()[0] >= 3
    assert triggers == {"schedule"}


# ---- cron, a fake clock, manual pulls first ---------------------------------------------

from datetime import datetime  # noqa: E402

from sentitui.engine.schedule import Clock, parse_schedule  # noqa: E402


@pytest.mark.parametrize("text", ["*/15 * * * *", "0 9 * * mon-fri", "* * * * * */10"])
def test_cron_expressions_parse(text):
    assert parse_schedule(text).cron == text


@pytest.mark.parametrize("text", ["61 * * * *", "every day", "* * *"])
def test_bad_schedule_is_named(text):
    with pytest.raises(ScheduleError, match=text.replace("*", r"\*")):
        parse_schedule(text)


def test_cron_next_time_is_in_local_time_and_jitter_stays_inside_the_slot():
    nine = datetime(2026, 11, 23, 9, 0, 0).timestamp()  # a Monday, local time
    schedule = parse_schedule("0 9 * * mon-fri")
    due = schedule.next_after(nine - 3600)
    assert nine <= due <= nine + 10
    friday_to_monday = parse_schedule("0 9 * * mon-fri").next_after(nine + 4 * 86400)
    assert datetime.fromtimestamp(friday_to_monday).weekday() == 0


class FakeClock(Clock):
    """Virtual time: sleeping jumps ahead at once; past `end` the sleeper parks for good."""

    def __init__(self, start: float, end: float) -> None:
        self.now, self.end = start, end
        self.finished = asyncio.Event()

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        if self.now + max(seconds, 0) > self.end:
            self.finished.set()
            await asyncio.Event().wait()
        self.now += max(seconds, 0)
        await asyncio.sleep(0)


def counting_app() -> web.Application:
    app = web.Application()
    served = iter(range(1, 1_000_000))

    async def posts(request: web.Request) -> web.Response:
        n = next(served)
        return web.json_response([{"id": n, "body": f"AquaSilk post {n}"}])

    app.router.add_get("/posts", posts)
    return app


def live_pipeline(write_pipeline, url: str, schedule: str, sources=("api",)):
    tables = "".join(
        f"""
        [[source]]
        name = "{name}"
        kind = "json_api"
        url = "{url}/posts"
        [source.fields]
        id = "id"
        text = "body"
    """
        for name in sources
    )
    return write_pipeline(
        f"""
        [pipeline]
        name = "live"
        schedule = "{schedule}"
    """
        + tables
    )


@pytest.mark.parametrize(("schedule", "expected"), [("*/5 * * * *", {12}), ("10m", {6, 7})])
async def test_schedule_fires_the_expected_number_of_runs_in_an_hour(
    serve, write_pipeline, make_engine, db_path, schedule, expected
):
    server = await serve(counting_app())
    pipeline = live_pipeline(write_pipeline, server.url, schedule)
    start = datetime(2026, 11, 23, 10, 0, 0).timestamp()
    clock = FakeClock(start, start + 3600 + 30)  # 10:00:00 -> 11:00:30 local
    async with make_engine(pipeline, clock=clock) as engine:
        engine.start_schedules(first_delay=0)
        await asyncio.wait_for(clock.finished.wait(), timeout=20)
        await engine.stop_schedules()
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute("SELECT trigger, status FROM runs").fetchall()
        assert conn.execute("SELECT COUNT(*) FROM posts").fetchone()[0] == len(rows)
    assert len(rows) in expected
    assert set(rows) == {("schedule", "ok")}


async def queued(engine, n: int) -> None:
    """Wait (bounded) until n runs wait for a slot."""
    for _ in range(500):
        if engine.runs_waiting >= n:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{n} runs never queued")


async def test_manual_pull_goes_before_queued_scheduled_runs(
    serve, write_pipeline, make_engine, db_path
):
    release = asyncio.Event()
    app = counting_app()

    async def slow(request: web.Request) -> web.Response:
        await release.wait()
        return web.json_response([{"id": "s", "body": "slow AquaSilk"}])

    app.router.add_get("/slow", slow)
    server = await serve(app)
    pipeline = live_pipeline(write_pipeline, server.url, "1h", sources=("slow", "routine", "asked"))
    pipeline.source("slow").options["url"] = f"{server.url}/slow"
    async with make_engine(pipeline, max_concurrent_runs=1) as engine:
        slow_run = asyncio.create_task(engine.run_source("live", "slow", "schedule"))
        while not server.requests:  # the only slot is taken
            await asyncio.sleep(0.01)
        routine = asyncio.create_task(engine.run_source("live", "routine", "schedule"))
        await queued(engine, 1)
        asked = asyncio.create_task(engine.run_source("live", "asked", "manual"))
        await queued(engine, 2)
        release.set()
        await asyncio.gather(slow_run, routine, asked)
    with sqlite3.connect(db_path) as conn:
        order = [r[0] for r in conn.execute("SELECT source FROM runs ORDER BY id")]
    assert order == ["slow", "asked", "routine"]
