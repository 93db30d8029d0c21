"""Ctrl-C during `sentitui run --once`, as an operator presses it: a real process,
a real local server, a real SQLite file."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys
import textwrap

from aiohttp import web


async def test_ctrl_c_commits_the_page_in_hand_and_ends_the_run_cancelled(serve, tmp_path):
    reached, release = asyncio.Event(), asyncio.Event()

    async def page(request: web.Request) -> web.Response:
        number = int(request.query.get("cursor", 0))
        if number == 2:  # the page in flight when Ctrl-C comes
            reached.set()
            await release.wait()
        records = [{"id": number * 10 + i, "text": f"Soft hair {number}.{i}"} for i in range(10)]
        return web.json_response({"data": records, "next": number + 1})

    app = web.Application()
    app.router.add_get("/posts", page)
    server = await serve(app)
    pipelines = tmp_path / "pipelines"
    pipelines.mkdir()
    (pipelines / "p.toml").write_text(
        textwrap.dedent(f"""
        [pipeline]
        name = "p"
        [[source]]
        name = "api"
        kind = "json_api"
        url = "{server.url}/posts"
        records = "data"
        pagination = {{ type = "cursor", cursor_path = "next", param = "cursor" }}
        fields = {{ id = "id", text = "text" }}
    """),
        encoding="utf-8",
    )
    db = tmp_path / "t.db"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sentitui.cli",
        "run",
        "--once",
        "--json",
        "--db",
        str(db),
        "--pipelines",
        str(pipelines),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        await asyncio.wait_for(reached.wait(), 20)
        process.send_signal(signal.SIGINT)

        async def stopping() -> None:
            while (line := await process.stderr.readline()) and b"after the page" not in line:
                pass

        await asyncio.wait_for(stopping(), 20)
        release.set()
        stdout, _ = await asyncio.wait_for(process.communicate(), 20)
    finally:
        release.set()
        if process.returncode is None:
            process.kill()

    assert process.returncode == 130
    summary = json.loads(stdout)
    assert summary["loaded"] == 30
    [run] = summary["runs"]
    assert (run["status"], run["fetched"], run["loaded"]) == ("cancelled", 30, 30)
    assert run["error"] == (
        "interrupted: stopped after the page in hand; the next run resumes at page 4 of /posts"
    )
    assert [q.get("cursor") for q in server.queries("/posts")] == [None, "1", "2"]
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT status, fetched, loaded FROM runs").fetchall() == [
            ("cancelled", 30, 30)
        ]
        assert conn.execute("SELECT COUNT(*) FROM posts").fetchone()[0] == 30
