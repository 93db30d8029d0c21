"""Hot reload in one process: a real watched folder, a real engine, rows in SQLite."""

from __future__ import annotations

import asyncio
import sqlite3
import textwrap

from aiohttp import web
from textual_probe import Notifications

from sentitui.engine.watch import Continuous, locate
from sentitui.models import ConfigInvalid, ConfigReloaded

PIPELINE = """
[pipeline]
name = "live"
schedule = "{schedule}"

[[source]]
name = "{name}"
kind = "json_api"
url = "{url}/posts"
params = {{ tag = "{tag}" }}
[source.fields]
id = "id"
text = "body"
"""


def api() -> web.Application:
    app = web.Application()
    served = iter(range(1, 1_000_000))

    async def posts(request: web.Request) -> web.Response:
        n = next(served)
        return web.json_response([{"id": n, "body": f"{request.query.get('tag')} post {n}"}])

    app.router.add_get("/posts", posts)
    return app


async def until(condition, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


def tags(db_path) -> set[tuple[str, str]]:
    with sqlite3.connect(db_path) as conn:
        return {(s, t.split()[0]) for s, t in conn.execute("SELECT source, text FROM posts")}


async def test_edit_add_break_and_delete_take_effect_in_a_running_engine(
    tmp_path, serve, write_pipeline, make_engine, db_path
):
    server = await serve(api())
    folder = tmp_path / "pipelines"
    pipeline = write_pipeline(
        PIPELINE.format(schedule="0.2s", name="api", url=server.url, tag="old"), name="live"
    )
    path = pipeline.path
    events = []
    async with make_engine(pipeline) as engine:
        engine.subscribe(events.append)
        continuous = Continuous(engine, folder, first_delay=0)
        await continuous.start()
        try:
            await until(lambda: ("api", "old") in tags(db_path))
            # an edit: the source restarts with its new settings
            path.write_text(PIPELINE.format(schedule="0.2s", name="api", url=server.url, tag="new"))
            await until(lambda: ("api", "new") in tags(db_path), timeout=5)
            # a broken edit: the old pipeline keeps running; the error names file, line, key
            path.write_text(PIPELINE.format(schedule="soon", name="api", url=server.url, tag="bad"))
            await until(lambda: any(isinstance(e, ConfigInvalid) for e in events), timeout=5)
            invalid = next(e for e in events if isinstance(e, ConfigInvalid))
            assert invalid.problems == [
                f"{path}:4: [pipeline]: key 'schedule': schedule 'soon' is neither an interval "
                "like '30s', '5m', '1h' or '1d' nor a cron expression like '*/15 * * * *'"
            ]
            assert engine.pipeline("live").source("api").options["params"] == {"tag": "new"}
            before = len(tags(db_path))
            # a new file: its source appears and runs
            (folder / "more.toml").write_text(
                PIPELINE.format(schedule="0.2s", name="extra", url=server.url, tag="more").replace(
                    '"live"', '"more"'
                )
            )
            await until(lambda: ("extra", "more") in tags(db_path), timeout=5)
            # a deleted file: its sources stop
            path.unlink()
            await until(lambda: "live" not in engine.pipelines, timeout=5)
            await until(lambda: not engine.is_running("live", "api"), timeout=5)

            def runs(pipeline: str) -> int:
                with sqlite3.connect(db_path) as conn:
                    query = "SELECT COUNT(*) FROM runs WHERE pipeline = ?"
                    return conn.execute(query, (pipeline,)).fetchone()[0]

            live_runs, more_runs = runs("live"), runs("more")
            # the other pipeline's schedule (same period) is the clock: three of its
            # runs later, the removed source has not run again
            await until(lambda: runs("more") >= more_runs + 3, timeout=10)
            assert runs("live") == live_runs
        finally:
            await continuous.stop()
    assert ("api", "bad") not in tags(db_path) and before > 0
    reloads = [e for e in events if isinstance(e, ConfigReloaded)]
    assert ("live", "api") in {k for e in reloads for k in e.changed}
    assert ("more", "extra") in {k for e in reloads for k in e.added}
    assert ("live", "api") in {k for e in reloads for k in e.removed}


def test_locate_points_at_the_line_of_the_key(tmp_path):
    path = tmp_path / "p.toml"
    text = textwrap.dedent("""\
        [pipeline]
        name = "p"

        [[source]]
        name = "a"
        kind = "json_api"

        [[source]]
        name = "b"
        kind = "json_api"
        colour = "red"
        [source.fields]
        id = "id"
    """)
    assert (
        locate(f"{path} source 'b': unknown key 'colour' (known keys: …)", path, text)
        == f"{path}:11: source 'b': unknown key 'colour' (known keys: …)"
    )
    assert (
        locate(f"{path} source 'b': key 'fields.text' is required", path, text)
        == f"{path}:12: source 'b': key 'fields.text' is required"
    )
    assert (
        locate(f"{path}: invalid TOML: Expected '=' (at line 3, column 1)", path, text)
        == f"{path}:3: invalid TOML: Expected '=' (at line 3, column 1)"
    )


async def test_console_shows_a_new_source_and_a_broken_file_without_restarting(
    tmp_path, write_pipeline, make_engine, db_path
):
    from textual.widgets import DataTable

    from sentitui.tui.app import SentiApp

    data = tmp_path / "data.jsonl"
    data.write_text('{"id": 1, "text": "AquaSilk is lovely"}\n', encoding="utf-8")
    source = """
        [[source]]
        name = "{name}"
        kind = "file"
        path = "../data.jsonl"
        [source.fields]
        id = "id"
        text = "text"
    """
    head = '[pipeline]\nname = "launch"\n'
    pipeline = write_pipeline(head + source.format(name="first"), name="launch")
    app = SentiApp(
        db_path,
        [pipeline],
        engine=make_engine(pipeline),
        theme="textual-dark",
        pipelines_dir=pipeline.path.parent,
    )
    notes = Notifications()
    async with app.run_test(size=(120, 40), message_hook=notes) as pilot:
        await pilot.press("2")
        await pilot.pause()
        table = app.screen.query_one("#pipelines-table", DataTable)

        def rows() -> set[str]:
            return {str(row.key.value) for row in table.ordered_rows}

        assert rows() == {"launch/first"}
        pipeline.path.write_text(head + source.format(name="first") + source.format(name="second"))
        await until(lambda: rows() == {"launch/first", "launch/second"}, timeout=5)
        pipeline.path.write_text(head + source.format(name="first") + "\n[[source]]\nname = 3\n")
        await until(
            lambda: any(n.title == "pipeline file not reloaded" for n in notes),
            timeout=5,
        )
        problems = next(n.message for n in notes if n.title)
        assert f"{pipeline.path}:13: source '#2': key 'name' must be a string" in problems
        assert rows() == {"launch/first", "launch/second"}  # the last good version stays


async def test_changed_source_keeps_its_cursor(serve, write_pipeline, make_engine):
    app = web.Application()

    async def posts(request: web.Request) -> web.Response:
        floor = int(request.query.get("since_id", 0))
        return web.json_response(
            [{"id": n, "body": f"AquaSilk {n}"} for n in (1, 2, 3) if n > floor]
        )

    app.router.add_get("/posts", posts)
    server = await serve(app)
    text = """
        [pipeline]
        name = "live"

        [[source]]
        name = "api"
        kind = "json_api"
        url = "{url}/posts"
        max_pages = {pages}
        incremental = {{ param = "since_id", field = "id" }}
        [source.fields]
        id = "id"
        text = "body"
    """
    pipeline = write_pipeline(text.format(url=server.url, pages=5))
    async with make_engine(pipeline) as engine:
        assert (await engine.run_source("live", "api")).loaded == 3
        event = await engine.reload([write_pipeline(text.format(url=server.url, pages=9))])
        assert event.changed == [("live", "api")]
        assert engine.pipeline("live").source("api").max_pages == 9
        stats = await engine.run_source("live", "api")
    assert (stats.fetched, stats.loaded) == (0, 0)
    assert server.queries()[-1] == {"since_id": "3"}


async def test_watch_changes_yields_a_write_and_its_thread_ends_with_the_loop(tmp_path):
    """The watching thread hands each batch to the loop, and leaving the loop stops it."""
    import threading

    from sentitui.engine.watch import watch_changes

    stop = threading.Event()
    changes = watch_changes(tmp_path, stop=stop)
    first = asyncio.ensure_future(anext(changes))
    await asyncio.sleep(0.3)  # the OS watch is set up on the thread; no event says when
    (tmp_path / "drop.jsonl").write_text("{}\n")
    batch = await asyncio.wait_for(first, 10)
    assert any(path.endswith("drop.jsonl") for _, path in batch)
    assert [t for t in threading.enumerate() if t.name == "sentitui-watch"]
    await changes.aclose()
    assert stop.is_set()
    await until(lambda: not [t for t in threading.enumerate() if t.name == "sentitui-watch"])


async def test_watch_changes_raises_what_stopped_the_watch(tmp_path):
    import threading

    from sentitui.engine.watch import watch_changes

    missing = tmp_path / "gone"
    try:
        async for _ in watch_changes(missing, stop=threading.Event()):
            raise AssertionError("a folder that does not exist yielded changes")
    except FileNotFoundError as exc:
        assert "gone" in str(exc)
    else:
        raise AssertionError("watching a missing folder ended without an error")


def test_continuous_mode_starts_without_anyio(tmp_path):
    """watchfiles' awatch imports anyio's asyncio backend on the event loop: 40-80 ms
    of a console's first frame. The watchers run watchfiles' blocking watch instead."""
    import subprocess
    import sys

    script = textwrap.dedent(
        f"""
        import asyncio, sys
        from pathlib import Path
        from sentitui.engine.engine import Engine
        from sentitui.engine.watch import Continuous

        async def main():
            engine = Engine({str(tmp_path / "db.sqlite")!r}, [])
            await engine.start()
            continuous = Continuous(engine, Path({str(tmp_path)!r}))
            await continuous.start()
            await asyncio.sleep(0.2)
            await continuous.stop()
            await engine.close()
            print("anyio backend imported:", "anyio._backends._asyncio" in sys.modules)

        asyncio.run(main())
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "anyio backend imported: False" in done.stdout
