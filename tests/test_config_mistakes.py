"""Rule 4: a configuration mistake is an error, not a quiet success. A missing file,
an empty pipelines folder, a `records` key no response has and contradictory flags
each fail with a message that names what to fix; every path in a pipeline file is
read relative to that file's folder, whatever the working directory."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from aiohttp import web
from test_cli import sentitui

FILE_PIPELINE = """
    [pipeline]
    name = "p"
    {pipeline_extra}

    [[source]]
    name = "reviews"
    kind = "file"
    path = "{path}"
    {source_extra}
    [source.fields]
    id = "id"
    text = "text"
"""


def write_pipeline(
    folder: Path, path: str, pipeline_extra: str = "", source_extra: str = ""
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    file = folder / "p.toml"
    file.write_text(
        textwrap.dedent(
            FILE_PIPELINE.format(
                path=path, pipeline_extra=pipeline_extra, source_extra=source_extra
            )
        ),
        encoding="utf-8",
    )
    return file


def posts(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [r[0] for r in conn.execute("SELECT external_id FROM posts ORDER BY external_id")]


def test_a_path_without_wildcards_that_names_no_file_fails_validate_and_run(tmp_path):
    write_pipeline(tmp_path / "pipelines", "does-not-exist.jsonl")
    missing = tmp_path / "pipelines" / "does-not-exist.jsonl"

    checked = sentitui("validate", "--pipelines", "pipelines", cwd=tmp_path)
    assert checked.returncode == 2, checked.stdout
    assert f"p.toml source 'reviews': key 'path': no file {missing}" in checked.stderr

    ran = sentitui(
        "run", "--once", "--json", "--pipelines", "pipelines", "--db", "t.db", cwd=tmp_path
    )
    assert ran.returncode == 1, ran.stdout + ran.stderr
    [summary] = json.loads(ran.stdout)["runs"]
    assert summary["status"] == "failed"
    assert f"source 'reviews': key 'path': no file {missing}" in summary["error"]


def test_an_empty_pipelines_folder_is_an_error(tmp_path):
    (tmp_path / "empty").mkdir()
    for command in (["validate"], ["run", "--once", "--db", "t.db"]):
        result = sentitui(*command, "--pipelines", "empty", cwd=tmp_path)
        assert result.returncode == 2
        assert "no pipeline files (*.toml) in empty" in result.stderr
    assert not (tmp_path / "t.db").exists()


def test_once_and_watch_together_are_a_usage_error(tmp_path):
    (tmp_path / "data.jsonl").write_text('{"id": 1, "text": "Love it"}\n', encoding="utf-8")
    write_pipeline(tmp_path / "pipelines", "../data.jsonl")
    result = sentitui(
        "run", "--once", "--watch", "--pipelines", "pipelines", "--db", "t.db", cwd=tmp_path
    )
    assert result.returncode == 2
    assert "--once and --watch exclude each other" in result.stderr


async def test_a_records_key_no_response_has_fails_the_run_naming_source_and_key(
    serve, write_pipeline, make_engine, db_path
):
    app = web.Application()

    async def listing(request: web.Request) -> web.Response:
        return web.json_response({"data": [{"id": 1, "text": "Love it"}], "next": None})

    app.router.add_get("/reviews", listing)
    server = await serve(app)
    pipeline = write_pipeline(f"""
    [pipeline]
    name = "p"

    [[source]]
    name = "api"
    kind = "json_api"
    url = "{server.url}/reviews"
    records = "items"
    [source.fields]
    id = "id"
    text = "text"
    """)

    async with make_engine(pipeline) as engine:
        stats = await engine.run_source("p", "api")

    assert stats.status == "failed"
    assert stats.error is not None
    assert stats.error.startswith("source 'api': key 'records': records path 'items' not found")
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM failed_records").fetchone() == (0,)
        assert conn.execute("SELECT status FROM runs").fetchall() == [("failed",)]


def test_relative_paths_are_read_from_the_pipeline_files_folder_not_the_working_directory(
    tmp_path,
):
    (tmp_path / "project" / "data").mkdir(parents=True)
    (tmp_path / "project" / "data" / "r.jsonl").write_text(
        '{"id": "a", "text": "Love it"}\n', encoding="utf-8"
    )
    write_pipeline(tmp_path / "project" / "pipelines", "../data/r.jsonl")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    result = sentitui(
        "run", "--once", "--pipelines", "../project/pipelines", "--db", "t.db", cwd=elsewhere
    )
    assert result.returncode == 0, result.stderr
    assert posts(elsewhere / "t.db") == ["a"]


async def test_a_drop_folder_under_a_relative_pipelines_folder_is_watched(tmp_path):
    """`--pipelines pipelines` (relative) with `path = "drops/*.jsonl"`: a file dropped
    after start loads at once, not on the next schedule tick an hour away."""
    drops = tmp_path / "pipelines" / "drops"
    drops.mkdir(parents=True)
    write_pipeline(
        tmp_path / "pipelines",
        "drops/*.jsonl",
        pipeline_extra='schedule = "1h"',
        source_extra="watch = true",
    )
    db, log = tmp_path / "live.db", tmp_path / "live.log"
    daemon = subprocess.Popen(
        [sys.executable, "-m", "sentitui.cli", "run", "--watch"]
        + ["--pipelines", "pipelines", "--db", "live.db"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        watching = f"watching {drops} for drops"
        await until(lambda: log.exists() and watching in log.read_text(encoding="utf-8"), daemon)
        (drops / "new.jsonl").write_text('{"id": "d1", "text": "Love it"}\n', encoding="utf-8")
        await until(lambda: db.exists() and posts(db) == ["d1"], daemon)
    finally:
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=30) == 0


async def until(condition, daemon: subprocess.Popen, timeout: float = 30) -> None:
    """Wait for another process's effect: polled, with a deadline that fails the test."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return
        except sqlite3.OperationalError:  # the daemon has not created the tables yet
            pass
        assert daemon.poll() is None, f"the daemon exited with {daemon.returncode}"
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


def test_run_once_with_every_source_disabled_says_so(tmp_path):
    (tmp_path / "data.jsonl").write_text('{"id": 1, "text": "Love it"}\n', encoding="utf-8")
    write_pipeline(tmp_path / "pipelines", "../data.jsonl", source_extra="enabled = false")
    args = ["--pipelines", "pipelines", "--db", "t.db"]

    quiet = sentitui("run", "--once", *args, cwd=tmp_path)
    assert quiet.returncode == 2
    assert "no enabled source in p: set enabled = true on one" in quiet.stderr

    by_hand = sentitui("run", "--once", "--source", "reviews", *args, cwd=tmp_path)
    assert by_hand.returncode == 0, by_hand.stderr
    assert posts(tmp_path / "t.db") == ["1"]
