"""`sentitui run --watch` as a real subprocess: hot reload, graceful SIGTERM, drop
folders across restarts, and a console attached through the commands table.
Assertions read the daemon's SQLite file and its rotating log."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from aiohttp import web
from textual_probe import Notifications, screen_text

from sentitui.config import load_pipelines
from sentitui.engine.remote import RemoteEngine
from sentitui.models import LogLine, RunFinished


class Daemon:
    """One `sentitui run --watch` process, its log next to the database."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        self.db = tmp_path / "live.db"
        self.log = tmp_path / "live.log"
        self.stderr = (tmp_path / "stderr.txt").open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sentitui.cli",
                "run",
                "--watch",
                "--db",
                str(self.db),
                "--pipelines",
                str(tmp_path / "pipelines"),
                *args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=self.stderr,
            cwd=tmp_path,
            env={**os.environ, "SENTITUI_LOG": ""},
        )

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8") if self.log.exists() else ""

    def stop(self, timeout: float = 30) -> int:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=timeout)
        self.stderr.close()
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.stderr.close()


@pytest.fixture
def daemons(tmp_path):
    started: list[Daemon] = []

    def start(*args: str) -> Daemon:
        daemon = Daemon(tmp_path, *args)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.kill()


def query(db: Path, sql: str, params=()) -> list[tuple]:
    """Rows from the daemon's database, read-only. A missing file, a missing table or a
    lock raises: an assertion on the answer can only pass on real rows. `until` polls
    through such errors while the daemon is still creating its database."""
    with sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True, timeout=10) as conn:
        return conn.execute(sql, params).fetchall()


def count(db: Path, sql: str, params=()) -> int:
    """The one value a one-row, one-column query answers (no row is an error)."""
    [[value]] = query(db, sql, params)
    return value


def polled(condition) -> bool:
    """The condition, or False while the database or its tables do not exist yet."""
    try:
        return condition()
    except sqlite3.OperationalError:
        return False


async def until(condition, what: str, daemon: Daemon | None = None, timeout: float = 20) -> None:
    """Poll another process's effects with a bounded deadline."""
    deadline = time.monotonic() + timeout
    while not polled(condition):
        if daemon is not None and daemon.proc.poll() is not None:
            raise AssertionError(
                f"daemon exited ({daemon.proc.returncode}) before {what}:\n"
                f"{daemon.log_text()[-3000:]}"
            )
        if time.monotonic() > deadline:
            log = daemon.log_text()[-3000:] if daemon else ""
            raise AssertionError(f"timed out waiting for {what}\n{log}")
        await asyncio.sleep(0.05)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def jsonl(path: Path, prefix: str, n: int = 3) -> None:
    write(
        path,
        "".join(
            json.dumps({"id": f"{prefix}{i}", "text": f"AquaSilk {prefix} review {i}"}) + "\n"
            for i in range(n)
        ),
    )


FILE_PIPELINE = """
    [pipeline]
    name = "{name}"
    schedule = "{schedule}"

    [[source]]
    name = "{source}"
    kind = "file"
    path = "{path}"
    [source.fields]
    id = "id"
    text = "text"
"""


async def test_daemon_reloads_edited_broken_and_deleted_files_then_stops_on_sigterm(
    tmp_path, daemons
):
    for prefix in ("one", "two", "three"):
        jsonl(tmp_path / "data" / f"{prefix}.jsonl", prefix)
    alpha = write(
        tmp_path / "pipelines" / "alpha.toml",
        FILE_PIPELINE.format(
            name="alpha", schedule="0.3s", source="feed", path="../data/one.jsonl"
        ),
    )
    beta = write(
        tmp_path / "pipelines" / "beta.toml",
        FILE_PIPELINE.format(
            name="beta", schedule="0.3s", source="other", path="../data/two.jsonl"
        ),
    )
    daemon = daemons()
    db = daemon.db

    def ids(pipeline: str) -> set[str]:
        return {
            r[0] for r in query(db, "SELECT external_id FROM posts WHERE pipeline = ?", (pipeline,))
        }

    def runs(pipeline: str) -> int:
        return count(db, "SELECT COUNT(*) FROM runs WHERE pipeline = ?", (pipeline,))

    await until(
        lambda: ids("alpha") == {"one0", "one1", "one2"} and ids("beta"), "first runs", daemon
    )

    # An edit: the source restarts with its new path, under the same name.
    write(
        alpha,
        FILE_PIPELINE.format(
            name="alpha", schedule="0.3s", source="feed", path="../data/three.jsonl"
        ),
    )
    await until(lambda: {"three0", "three1", "three2"} <= ids("alpha"), "edited path", daemon)

    # A broken edit: the log names file, line and key; the old settings keep running.
    write(
        alpha,
        FILE_PIPELINE.format(
            name="alpha", schedule="often", source="feed", path="../data/one.jsonl"
        ),
    )
    await until(
        lambda: f"{alpha}:4: [pipeline]: key 'schedule'" in daemon.log_text(),
        "config error in the log",
        daemon,
    )
    assert "the previous version keeps running" in daemon.log_text()
    after_error = runs("alpha")
    await until(lambda: runs("alpha") >= after_error + 2, "alpha still running", daemon)

    # A deleted file: its source stops; the others go on.
    beta.unlink()
    await until(lambda: "removed beta/other" in daemon.log_text(), "beta removed", daemon)
    beta_runs = runs("beta")
    alpha_runs = runs("alpha")
    await until(lambda: runs("alpha") >= alpha_runs + 3, "alpha runs on", daemon)
    assert runs("beta") == beta_runs
    assert query(db, "SELECT DISTINCT trigger FROM runs WHERE pipeline = 'alpha'") == [
        ("schedule",)
    ]

    assert daemon.stop() == 0
    assert count(db, "SELECT COUNT(*) FROM runs WHERE status = 'running'") == 0
    assert "daemon stopped" in daemon.log_text()


async def test_sigterm_finishes_the_page_in_hand_and_exits_0(tmp_path, serve, daemons):
    page_two_asked = asyncio.Event()
    release = asyncio.Event()
    app = web.Application()

    async def posts(request: web.Request) -> web.Response:
        page = int(request.query.get("cursor", 1))
        if page == 2:
            page_two_asked.set()
            await release.wait()
        return web.json_response(
            {
                "data": [{"id": f"p{page}-{i}", "body": f"AquaSilk page {page}"} for i in range(5)],
                "next": page + 1,
            }
        )

    app.router.add_get("/posts", posts)
    server = await serve(app)
    write(
        tmp_path / "pipelines" / "api.toml",
        f"""
        [pipeline]
        name = "api"
        schedule = "1h"

        [[source]]
        name = "endless"
        kind = "json_api"
        url = "{server.url}/posts"
        records = "data"
        pagination = {{ type = "cursor", cursor_path = "next", param = "cursor" }}
        [source.fields]
        id = "id"
        text = "body"
    """,
    )
    daemon = daemons()
    await asyncio.wait_for(page_two_asked.wait(), timeout=30)
    daemon.proc.send_signal(signal.SIGTERM)
    await until(lambda: "SIGTERM received" in daemon.log_text(), "signal noticed", daemon)
    release.set()  # the page in hand arrives after the signal: it is still committed
    code = await asyncio.to_thread(daemon.proc.wait, 30)
    assert code == 0
    rows = query(daemon.db, "SELECT status, loaded, error FROM runs")
    assert rows == [
        (
            "cancelled",
            10,
            "stopped: the daemon is shutting down; the next run resumes at page 3 of /posts",
        )
    ]
    assert count(daemon.db, "SELECT COUNT(*) FROM posts") == 10
    assert [dict(r.query).get("cursor") for r in server.requests] == [None, "2"]


async def test_dropped_csv_is_ingested_once_across_a_restart(tmp_path, daemons):
    write(
        tmp_path / "pipelines" / "drops.toml",
        """
        [pipeline]
        name = "drops"

        [[source]]
        name = "survey"
        kind = "file"
        path = "../drop/*.csv"
        watch = true
        [source.fields]
        id = "response_id"
        text = "answer"
    """,
    )
    drop = tmp_path / "drop"
    drop.mkdir()
    daemon = daemons()
    db = daemon.db

    def ids() -> list[str]:
        return sorted(r[0] for r in query(db, "SELECT external_id FROM posts"))

    await until(lambda: "watching" in daemon.log_text(), "drop folder watched", daemon)
    write(drop / "monday.csv", "response_id,answer\nm1,Love the scent\nm2,Too pricey\n")
    await until(lambda: ids() == ["m1", "m2"], "first drop", daemon)
    assert daemon.stop() == 0

    with (drop / "monday.csv").open("a") as handle:  # lands while nobody watches
        handle.write("m3,Hair feels soft\n")
    write(drop / "tuesday.csv", "response_id,answer\nt1,Better than SilkPro\n")
    daemon = daemons()
    await until(lambda: ids() == ["m1", "m2", "m3", "t1"], "catch-up after restart", daemon)
    with (drop / "tuesday.csv").open("a") as handle:
        handle.write("t2,Bottle leaks\n")
    await until(lambda: ids() == ["m1", "m2", "m3", "t1", "t2"], "appended line", daemon)
    assert daemon.stop() == 0
    assert count(db, "SELECT SUM(duplicates) FROM runs") == 0
    assert count(db, "SELECT SUM(fetched) FROM runs") == 5
    assert set(query(db, "SELECT trigger FROM runs")) == {("watch",)}


async def test_attached_console_sees_daemon_rows_and_its_pull_is_run_by_the_daemon(
    tmp_path, daemons
):
    jsonl(tmp_path / "data" / "reviews.jsonl", "r")
    with (tmp_path / "data" / "reviews.jsonl").open("a") as handle:
        handle.write("not json\n")
    write(
        tmp_path / "pipelines" / "shop.toml",
        """
        [pipeline]
        name = "shop"

        [[source]]
        name = "reviews"
        kind = "file"
        path = "../data/reviews.jsonl"
        [source.fields]
        id = "id"
        text = "text"

        [[source]]
        name = "drops"
        kind = "file"
        path = "../drop/*.jsonl"
        watch = true
        [source.fields]
        id = "id"
        text = "text"
    """,
    )
    (tmp_path / "drop").mkdir()
    daemon = daemons()
    await until(lambda: "watching" in daemon.log_text(), "daemon ready", daemon)
    remote = RemoteEngine(daemon.db, load_pipelines(tmp_path / "pipelines"), poll=0.1)
    events = []
    remote.subscribe(events.append)
    async with remote:
        await until(lambda: remote.daemon_alive, "heartbeat", daemon)
        # rows the daemon writes on its own (a drop) reach the attached side as events
        jsonl(tmp_path / "drop" / "new.jsonl", "d", n=2)
        await until(
            lambda: any(
                isinstance(e, RunFinished) and e.stats.source == "drops" and e.stats.loaded == 2
                for e in events
            ),
            "drop run seen",
            daemon,
        )
        await until(
            lambda: any(
                isinstance(e, LogLine) and e.source == "drops" and "run" in e.message
                for e in events
            ),
            "daemon's log",
            daemon,
        )

        # "pull now" from the attached side: carried out by the daemon
        assert not remote.is_running("shop", "reviews")
        stats = await asyncio.wait_for(remote.run_source("shop", "reviews"), timeout=30)
        assert (stats.status, stats.loaded, stats.failed) == ("ok", 3, 1)
        assert query(daemon.db, "SELECT trigger, status FROM runs WHERE source = 'reviews'") == [
            ("manual", "ok")
        ]
        assert query(daemon.db, "SELECT action, status FROM commands") == [("pull", "done")]

        failed_id = count(daemon.db, "SELECT id FROM failed_records")
        await asyncio.wait_for(remote.ignore_failed([failed_id]), timeout=30)
        assert query(daemon.db, "SELECT status FROM failed_records") == [("ignored",)]

        remote.pause("shop", "drops")
        await until(
            lambda: any(
                s == "paused"
                for s in [
                    st.get("status")
                    for st in (remote.daemon or {}).get("states", [])
                    if st["source"] == "drops"
                ]
            ),
            "daemon paused drops",
            daemon,
        )
        jsonl(tmp_path / "drop" / "later.jsonl", "late", n=1)
        await until(
            lambda: count(daemon.db, "SELECT COUNT(*) FROM commands WHERE status = 'done'") == 3,
            "pause done",
            daemon,
        )
    assert daemon.stop() == 0
    # paused: the new drop was not pulled
    assert count(daemon.db, "SELECT COUNT(*) FROM posts WHERE external_id LIKE 'late%'") == 0


async def test_attached_console_pulls_through_the_daemon_and_draws_its_rows(tmp_path, daemons):
    from textual.widgets import DataTable

    from sentitui.tui.app import SentiApp

    jsonl(tmp_path / "data" / "reviews.jsonl", "r", n=4)
    write(
        tmp_path / "pipelines" / "launch.toml",
        FILE_PIPELINE.format(
            name="launch", schedule="1h", source="reviews", path="../data/reviews.jsonl"
        ).replace('schedule = "1h"', ""),
    )
    daemon = daemons()
    await until(lambda: "started on" in daemon.log_text(), "daemon ready", daemon)
    pipelines = load_pipelines(tmp_path / "pipelines")
    remote = RemoteEngine(daemon.db, pipelines, poll=0.1)
    app = SentiApp(daemon.db, pipelines, engine=remote, theme="textual-dark")
    notes = Notifications()
    async with app.run_test(size=(120, 40), message_hook=notes) as pilot:
        await until(lambda: remote.daemon_alive, "heartbeat", daemon)
        await pilot.press("2")
        await pilot.pause()
        await pilot.press("p")  # pull now: a command the daemon carries out
        await pilot.pause()
        await app.workers.wait_for_complete()
        messages = notes.messages
        assert any("launch/reviews: ok — 4 loaded" in m for m in messages), messages
        table = app.screen.query_one("#pipelines-table", DataTable)

        def drawn() -> list[str]:
            return [str(cell) for cell in table.get_row("launch/reviews")]

        await until(lambda: drawn()[1:2] == ["idle"] and drawn()[4] == "4", "row drawn", daemon)
        assert "launch/reviews" in screen_text(app)
    assert query(daemon.db, "SELECT trigger, status, loaded FROM runs") == [("manual", "ok", 4)]
    assert query(daemon.db, "SELECT action, source, status FROM commands") == [
        ("pull", "reviews", "done")
    ]
    assert daemon.stop() == 0


def test_ctrl_c_to_the_process_group_stops_cleanly_without_a_traceback(tmp_path):
    """A terminal's Ctrl-C goes to the whole foreground process group: the scorer's
    worker processes get SIGINT too, even one still starting up."""
    jsonl(tmp_path / "data" / "one.jsonl", "one", n=50)
    write(
        tmp_path / "pipelines" / "alpha.toml",
        FILE_PIPELINE.format(
            name="alpha", schedule="0.3s", source="feed", path="../data/one.jsonl"
        ),
    )
    db = tmp_path / "live.db"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sentitui.cli",
            "run",
            "--watch",
            "--db",
            str(db),
            "--pipelines",
            str(tmp_path / "pipelines"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env={**os.environ, "SENTITUI_LOG": ""},
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 20
        while not polled(lambda: count(db, "SELECT COUNT(*) FROM runs") > 0):
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "no run started"
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    text = stderr.decode()
    assert proc.returncode == 0, text
    assert "Traceback" not in text
    assert "KeyboardInterrupt" not in text
    assert "daemon stopped" in text
    assert count(db, "SELECT COUNT(*) FROM runs WHERE status = 'running'") == 0
