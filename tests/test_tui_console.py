"""The console driven with Textual's Pilot: real file sources in tmp_path, a real
SQLite file, the engine embedded; assertions on rows and on the text drawn."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, Log, Select, Static
from textual_probe import Notifications, screen_text

from sentitui.tui.app import LOG_LINES, SentiApp

SIZE = (120, 40)


def write_records(folder: Path, records: list[dict], name: str = "posts.jsonl") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    text = "\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n"
    (folder / name).write_text(text, encoding="utf-8")


def pipeline_toml(text_field: str = "body") -> str:
    return f"""
    [pipeline]
    name = "launch"
    competitors = ["SilkPro"]

    [[source]]
    name = "drops"
    kind = "file"
    path = "../data/*.jsonl"
    [source.fields]
    id = "id"
    text = "{text_field}"
    created_at = "ts"
    [source.fields.segments]
    region = "region"
    """


RECORDS = [
    {"id": n, "body": body, "ts": f"2026-11-20T10:{n:02d}:00Z", "region": region}
    for n, (body, region) in enumerate(
        [
            ("AquaSilk made my hair so soft, love it!", "EU"),
            ("The scent is awful and my scalp itches.", "US"),
            ("Better than SilkPro for my curls.", "EU"),
            ("Bought it today.", "APAC"),
        ],
        start=1,
    )
]


def count(db_path: Path, sql: str, params: tuple = ()) -> int:
    with sqlite3.connect(db_path) as conn:
        return conn.execute(sql, params).fetchone()[0]


async def until(pilot, check, what: str, rounds: int = 500) -> None:
    """Let the app run until `check()` holds; fail naming `what` if it never does."""
    for _ in range(rounds):
        if check():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"timed out waiting for {what}")


async def settle(pilot, rounds: int = 3) -> None:
    """Wait until the workers (pulls, queries) and the messages they post are done."""
    await pilot.app.screens_ready.wait()  # the other screens are composed behind the first
    for _ in range(rounds):
        await pilot.pause()
        pilot.app.flush_events()  # engine events now: a run's end starts its screen's query
        await pilot.app.workers.wait_for_complete()
    pilot.app.flush_events()
    await pilot.pause()


@pytest.fixture
def console(tmp_path, write_pipeline, make_engine, db_path):
    def make(records: list[dict] = RECORDS, text_field: str = "body") -> SentiApp:
        write_records(tmp_path / "data", records)
        pipeline = write_pipeline(pipeline_toml(text_field))
        return SentiApp(db_path, [pipeline], engine=make_engine(pipeline), theme="textual-dark")

    return make


async def test_manual_pull_loads_rows_and_the_dashboard_follows(console, db_path):
    app = console()
    notes = Notifications()
    async with app.run_test(size=SIZE, message_hook=notes) as pilot:
        await settle(pilot)
        figures = app.screen.query_one("#figures")
        assert str(figures.render()).startswith("0 posts")

        await pilot.press("2")
        await settle(pilot)
        assert "launch/drops" in screen_text(app)
        await pilot.press("p")
        await settle(pilot)

        assert count(db_path, "SELECT COUNT(*) FROM posts") == 4
        assert (
            count(db_path, "SELECT COUNT(*) FROM runs WHERE trigger = 'manual' AND status = 'ok'")
            == 1
        )
        table = app.screen.query_one("#pipelines-table", DataTable)
        row = [str(c) for c in table.get_row("launch/drops")]
        assert row[1] == "idle" and row[4] == "4"  # status, loaded
        messages = notes.messages
        assert any("launch/drops: ok — 4 loaded, 0 duplicates, 0 failed" in m for m in messages)

        await pilot.press("1")
        await settle(pilot)
        text = screen_text(app)
        assert str(figures.render()).startswith("4 posts")
        assert "drops" in text and "Segment: region" in text
        assert "EU" in text and "APAC" in text


async def test_failed_record_is_opened_retried_and_leaves_the_open_list(console, db_path):
    app = console(RECORDS[:2], text_field="text")  # wrong mapping: every record fails at clean
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2", "p")
        await settle(pilot)
        assert count(db_path, "SELECT COUNT(*) FROM failed_records WHERE status = 'open'") == 2

        await pilot.press("3")
        await settle(pilot)
        table = app.screen.query_one("#failed-table", DataTable)
        assert table.row_count == 2
        first = table.ordered_rows[0].key.value
        assert first == "2"  # newest first, and the cursor starts on it
        detail = screen_text(app)
        assert "record 2: text is missing or empty" in detail and "stage clean" in detail
        assert '"body": "The scent is awful and my' in detail  # the payload, pretty-printed

        app.engine.pipeline("launch").source("drops").options["fields"]["text"] = "body"
        await pilot.press("r")
        await settle(pilot)

        assert [row.key.value for row in table.ordered_rows] == ["1"]
        with sqlite3.connect(db_path) as conn:
            status = conn.execute(
                "SELECT status FROM failed_records WHERE id = ?", (int(first),)
            ).fetchone()[0]
        assert status == "resolved"
        assert count(db_path, "SELECT COUNT(*) FROM posts") == 1
        assert "1-1 of 1" in screen_text(app)

        select = app.screen.query_one("#failed-status", Select)
        select.value = "resolved"
        await settle(pilot)
        assert [row.key.value for row in table.ordered_rows] == [first]


async def test_log_filters_by_level_source_and_text(console):
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await settle(pilot)
        engine = app.engine
        engine.log("INFO", "page 1: 10 loaded", "launch", "drops")
        engine.log("WARNING", "2 record(s) failed on page 2", "launch", "drops")
        engine.log("ERROR", "fetch failed: HTTP 500", "launch", "other")
        engine.log("DEBUG", "noise nobody wants")
        await settle(pilot)
        log = app.screen.query_one("#log", Log)

        def shown() -> str:
            return "\n".join(log.lines)

        assert "page 1: 10 loaded" in shown() and "HTTP 500" in shown()
        assert "noise nobody wants" not in shown()  # INFO+ by default

        app.screen.query_one("#log-level", Select).value = "WARNING"
        await settle(pilot)
        assert "page 1" not in shown()
        assert "2 record(s) failed" in shown() and "HTTP 500" in shown()

        app.screen.query_one("#log-source", Select).value = "drops"
        await settle(pilot)
        assert "2 record(s) failed" in shown() and "HTTP 500" not in shown()

        app.screen.query_one("#log-source", Select).clear()
        await pilot.press("slash", *"http")
        await settle(pilot)
        assert app.screen.query_one("#log-search", Input).value == "http"
        assert [line for line in log.lines if line.strip()]
        assert all("HTTP 500" in line for line in log.lines if line.strip())

        # Paused: new lines wait; following again shows them.
        await pilot.press("enter")  # leave the search box
        await pilot.press("f")
        engine.log("ERROR", "HTTP 503 while paused", "launch", "other")
        await settle(pilot)
        assert "HTTP 503" not in shown()
        assert "1 new" in str(app.screen.query_one("#log-status", Static).render())
        await pilot.press("f")
        await settle(pilot)
        assert "HTTP 503 while paused" in shown()


HOSTILE = "[bold red]FAKE ALERT[/] [/foo] [$error]x[/] \\[escaped] \x1b[2J\x1b]0;pwned\x07 end"


async def test_hostile_text_renders_literally_everywhere(console, db_path):
    records = [
        {"id": 1, "body": HOSTILE, "ts": "2026-11-20T10:00:00Z", "region": "[/foo]"},
        {
            "id": 2,
            "body": "",
            "ts": "2026-11-20T10:00:00Z",
            "region": "[b]x",
            "note": "\x1b]52;c;aGk=\x07clipboard \x1b[31mred",
        },
    ]
    app = console(records)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2", "p")
        await settle(pilot)
        assert count(db_path, "SELECT COUNT(*) FROM posts") == 1
        literal = "[bold red]FAKE ALERT[/] [/foo] [$error]x[/] \\[escaped]"

        await pilot.press("5")
        await settle(pilot)
        text = screen_text(app)
        assert "[bold red]FAKE ALERT[/]" in text
        assert literal in str(app.screen.query_one("#post-detail-text", Static).render())
        assert "\x1b" not in text and "pwned" not in text  # escape sequences go as a whole

        await pilot.press("1")
        await settle(pilot)
        assert "[/foo]" in screen_text(app)  # a segment value

        await pilot.press("3")
        await settle(pilot)
        text = screen_text(app)
        assert '"region": "[b]x"' in text  # the raw payload, as received …
        # JSON keeps control characters as \u escapes: visible, harmless text.
        assert '"note": "\\u001b]52;c;aGk=\\u0007clipboard' in text and "\x1b" not in text

        await pilot.press("4")
        await settle(pilot)
        text = screen_text(app)
        assert "1 record(s) failed" in text  # the logs name the failed record …
        assert "\x1b" not in text and "pwned" not in text  # … and draw no escape sequence


def test_engine_and_cli_never_import_textual():
    code = (
        "import sys; import sentitui.cli, sentitui.engine.engine, sentitui.engine.runner, "
        "sentitui.engine.writer, sentitui.net.http, sentitui.sources, sentitui.store, "
        "sentitui.config, sentitui.models, sentitui.processing.clean, "
        "sentitui.processing.score, sentitui.processing.classify; "
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.')); "
        "assert not bad, bad"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


async def test_preview_shows_raw_beside_posts_and_writes_nothing(console, db_path):
    app = console([*RECORDS[:3], {"id": 9, "body": "", "ts": "2026-11-20T10:00:00Z"}])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2", "v")
        await settle(pilot)
        text = screen_text(app)
        assert "Preview launch/drops" in text
        assert "4 raw records → 3 posts, 1 would fail" in text
        assert "would fail at clean: record 9: text is missing or empty" in text
        assert '"body": "Better than SilkPro for my curls.",' in text  # raw, beside …
        assert re.search(r"│ Better than SilkPro for my curls\. +│", text)  # … the post,
        assert re.search(r"positive \+0\.\d\d · subjectivity 0\.\d\d · comparison", text)  # scored
        await pilot.press("escape")
        await settle(pilot)
        assert "Preview launch/drops" not in screen_text(app)
    assert count(db_path, "SELECT COUNT(*) FROM posts") == 0
    assert count(db_path, "SELECT COUNT(*) FROM failed_records") == 0


async def test_schedules_start_and_the_next_run_counts_down(tmp_path, write_pipeline, make_engine):
    import asyncio

    from sentitui.models import RunFinished

    write_records(tmp_path / "data", RECORDS)
    pipeline = write_pipeline(
        pipeline_toml().replace('competitors = ["SilkPro"]', 'schedule = "1h"')
    )
    app = SentiApp(
        tmp_path / "test.db",
        [pipeline],
        engine=make_engine(pipeline),
        schedules=True,
        theme="textual-dark",
    )
    finished = asyncio.Event()
    app.engine.subscribe(lambda event: isinstance(event, RunFinished) and finished.set())
    async with app.run_test(size=SIZE) as pilot:
        await asyncio.wait_for(finished.wait(), 10)  # the first scheduled run, within ~1 s
        await pilot.press("2")
        await settle(pilot)
        table = app.screen.query_one("#pipelines-table", DataTable)
        next_cell = str(table.get_row("launch/drops")[7])
        assert re.fullmatch(r"in (\d\dm\d\ds|1h0\dm)", next_cell), next_cell  # ~1 h, jittered
        assert "schedules on" in screen_text(app)


async def test_ignore_and_payload_to_file(console, db_path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    records = [
        {"id": 1, "body": "", "ts": "2026-11-20T10:00:00Z"},
        {"id": 2, "body": "", "ts": "2026-11-20T10:00:00Z", "note": "<b>[red]x</b>"},
    ]
    app = console(records)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2", "p", "3")
        await settle(pilot)
        table = app.screen.query_one("#failed-table", DataTable)
        assert [row.key.value for row in table.ordered_rows] == ["2", "1"]
        await pilot.press("c")
        await settle(pilot)
        saved = json.loads((tmp_path / "failed-2.json").read_text(encoding="utf-8"))
        assert saved == records[1]  # the payload whole, as received
        await pilot.press("i")
        await settle(pilot)
        assert [row.key.value for row in table.ordered_rows] == ["1"]
    assert count(db_path, "SELECT COUNT(*) FROM failed_records WHERE status = 'ignored'") == 1


async def test_command_palette_offers_a_pull_of_each_source(console, db_path):
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"pull launch/drops")
        await settle(pilot)
        assert "Pull launch/drops" in screen_text(app)
        assert "Preview launch/drops" not in screen_text(app)  # filtered by what was typed
        await pilot.press("enter")
        await settle(pilot)
        assert count(db_path, "SELECT COUNT(*) FROM posts") == 4
        assert count(db_path, "SELECT COUNT(*) FROM runs WHERE trigger = 'manual'") == 1


INSIGHT_PIPELINE = """
[pipeline]
name = "launch"
competitors = ["SilkPro", "HairGlow"]
aspects = { price = ["price", "expensive"], scent = ["scent", "smell"] }

[[source]]
name = "drops"
kind = "file"
path = "../data/*.jsonl"
[source.fields]
id = "id"
text = "body"
[source.fields.segments]
age_group = "age"
"""

INSIGHT_RECORDS = [
    {"id": n, "body": body, "age": age}
    for n, (body, age) in enumerate(
        [
            ("The price is awful, a terrible rip-off.", "18-24"),
            ("Way too expensive and the price is a horrible joke.", "18-24"),
            ("I love the scent, wonderful smell.", "18-24"),
            ("The scent is awful and stale.", "35-44"),
            ("Great price, I love it.", "35-44"),
            ("Better than SilkPro, my hair loves it.", "35-44"),
            ("SilkPro was awful, this is great.", "18-24"),
            ("HairGlow smells nicer honestly.", "35-44"),
        ],
        start=1,
    )
]


async def test_dashboard_competitor_and_aspect_panels_from_real_rows(
    tmp_path, write_pipeline, make_engine, db_path
):
    write_records(tmp_path / "data", INSIGHT_RECORDS)
    pipeline = write_pipeline(INSIGHT_PIPELINE)
    app = SentiApp(db_path, [pipeline], engine=make_engine(pipeline), theme="textual-dark")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "no competitor named yet" in screen_text(app)
        assert "no aspect mentioned yet" in screen_text(app)
        await pilot.press("2", "p")
        await settle(pilot)
        assert count(db_path, "SELECT COUNT(*) FROM posts") == 8
        await pilot.press("1")
        await settle(pilot)
        text = screen_text(app)
        # Share of voice: SilkPro in 2 posts of 8, HairGlow in 1; then average polarity.
        assert re.search(r"SilkPro +█+ +25% [+-]\d\.\d\d", text), text
        assert re.search(r"HairGlow +█+ +12% [+-]\d\.\d\d", text), text
        assert "Aspects by age_group (s)" in text
        assert "price is the top complaint among 18-24" in text
        assert "scent is the top complaint among 35-44" in text
        assert re.search(r"price +3 +-\d\.\d\d +-\d\.\d\d", text), (
            text
        )  # 18-24 first: most mentions


async def test_source_filters_follow_hot_reload_and_keep_the_choice(console, write_pipeline):
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")  # the Logs screen exists before the reload
        await settle(pilot)
        await pilot.press("5")
        await settle(pilot)
        select = app.screen.query_one("#posts-source", Select)
        select.value = "drops"
        await settle(pilot)

        grown = write_pipeline(
            pipeline_toml()
            + """
        [[source]]
        name = "newshop"
        kind = "file"
        path = "../data/*.csv"
        [source.fields]
        id = "id"
        text = "body"
        """
        )
        await app.engine.reload([grown])
        await settle(pilot)
        assert select.value == "drops" and app.screen.filters.source == "drops"
        select.focus()
        await pilot.press("enter")  # open the list
        await pilot.pause()
        assert "newshop" in screen_text(app)
        await pilot.press("escape")

        await pilot.press("4")  # a screen that was not on top catches up when shown
        await settle(pilot)
        app.screen.query_one("#log-source", Select).value = "newshop"  # a legal value now
        await settle(pilot)
        assert app.screen.source == "newshop"


async def test_recent_runs_keep_the_newest_run_in_view(console):
    app = console(RECORDS)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("2")
        await settle(pilot)
        for _ in range(8):
            await pilot.press("p")
            await settle(pilot)
        runs = app.screen.query_one("#runs-table", DataTable)
        assert runs.row_count == 8
        assert runs.cursor_row == 0 and runs.scroll_y == 0
        assert "   8  launch/drops  manual" in screen_text(app)


LONG = (
    "page http://127.0.0.1:34579/shop/aquasilk/reviews?page=3: no item matched "
    "'article.review' (the page is 'Down for maintenance', 2,114 bytes) — check the selector"
)


async def test_log_lines_wrap_to_the_width_and_rewrap_on_resize(console):
    app = console()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4")
        await settle(pilot)
        app.engine.log("WARNING", LONG, "launch", "drops")
        await settle(pilot)
        log = app.screen.query_one("#log", Log)

        def check(width: int) -> None:
            lines = [line for line in log.lines if line.strip()]
            assert all(len(line) <= width for line in lines), lines
            shown = "".join("".join(lines).split())  # lines may break inside the URL
            assert "".join(("launch/drops: " + LONG).split()) in shown  # all of it, in the box

        check(80 - 2 - 2)  # the box's border and the scrollbar
        narrow = log.line_count
        await pilot.resize_terminal(120, 40)
        await settle(pilot)
        check(120 - 2 - 2)
        assert log.line_count < narrow  # wrapped again, to the new width
        await pilot.resize_terminal(60, 20)
        await settle(pilot)
        check(60 - 2 - 2)


async def test_escape_leaves_a_search_box_so_the_keys_work_again(console):
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5")
        await settle(pilot)
        await pilot.press("slash", *"soft")
        await settle(pilot)
        search = app.screen.query_one("#posts-search", Input)
        assert app.screen.focused is search and search.value == "soft"
        await pilot.press("escape")
        assert app.screen.focused is app.screen.query_one("#posts-table", DataTable)
        await pilot.press("4")  # a screen key again, not a "4" typed into the search
        await settle(pilot)
        assert app.current_mode == "logs" and search.value == "soft"
        await pilot.press("slash", "escape", "3")
        await settle(pilot)
        assert app.current_mode == "failed"


async def test_failed_search_takes_percent_and_underscore_literally(console):
    app = console(RECORDS[:2], text_field="text")  # every record fails at clean
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2", "p", "3")
        await settle(pilot)
        table = app.screen.query_one("#failed-table", DataTable)
        assert table.row_count == 2
        for query, rows in (("%", 0), ("_", 0), ("text_is", 0), ("text is", 2), ("record 2", 1)):
            search = app.screen.query_one("#failed-search", Input)
            search.value = query
            await settle(pilot)
            assert table.row_count == rows, query


async def test_a_cancelled_pull_ends_with_a_notification_of_how_it_ended(
    serve, write_pipeline, make_engine, db_path
):
    from aiohttp import web

    slow_asked = asyncio.Event()

    async def slow(request):
        slow_asked.set()
        await asyncio.sleep(3)  # a slow service: the pull is still fetching when cancelled
        return web.json_response([])

    async def fast(request):
        return web.json_response([{"id": 1, "text": "hi"}])

    routes = web.Application()
    routes.router.add_get("/slow", slow)
    routes.router.add_get("/fast", fast)
    server = await serve(routes)
    sources = "".join(
        f"""
    [[source]]
    name = "{name}"
    kind = "json_api"
    url = "{server.url}/{name}"
    records = ""
    [source.fields]
    id = "id"
    text = "text"
    """
        for name in ("slow", "fast")
    )
    pipeline = write_pipeline('[pipeline]\nname = "p"\n' + sources)
    app = SentiApp(db_path, [pipeline], engine=make_engine(pipeline), theme="textual-dark")

    notes = Notifications()

    def said() -> list[str]:
        return notes.messages

    async with app.run_test(size=SIZE, message_hook=notes) as pilot:
        await pilot.press("2", "p")  # the cursor is on p/slow
        await asyncio.wait_for(slow_asked.wait(), timeout=10)
        await pilot.press("x")
        await settle(pilot)
        assert "cancelling p/slow" in said()
        assert any(m.startswith("p/slow: cancelled — 0 loaded") for m in said()), said()

        app.clear_notifications()
        slow_asked.clear()
        notes.clear()
        await pilot.press("a")  # pull all, then cancel one of them
        await asyncio.wait_for(slow_asked.wait(), timeout=10)
        await pilot.press("x")
        await settle(pilot)
        assert any(m.startswith("p/slow: cancelled") for m in said()), said()
        assert any(m.startswith("p/fast: ok — 1 loaded") for m in said()), said()


async def test_pipeline_detail_says_what_a_source_reads_and_whether_it_runs(
    tmp_path, write_pipeline, make_engine, db_path
):
    from sentitui.models import RunFinished

    write_records(tmp_path / "data", RECORDS)
    scheduled = pipeline_toml().replace('competitors = ["SilkPro"]', 'schedule = "1h"')
    pipeline = write_pipeline(
        scheduled
        + """
    [[source]]
    name = "shop"
    kind = "scrape"
    start_urls = ["http://127.0.0.1:9/reviews", "http://127.0.0.1:9/more"]
    item = "article"
    [source.fields]
    text = "p"

    [[source]]
    name = "later"
    kind = "file"
    path = "../data/*.jsonl"
    schedule = "5m"
    enabled = false
    [source.fields]
    id = "id"
    text = "body"
    """
    )
    app = SentiApp(
        db_path, [pipeline], engine=make_engine(pipeline), schedules=True, theme="textual-dark"
    )
    finished = asyncio.Event()
    app.engine.subscribe(
        lambda event: (
            isinstance(event, RunFinished) and event.stats.source == "drops" and finished.set()
        )
    )
    async with app.run_test(size=SIZE) as pilot:
        await asyncio.wait_for(finished.wait(), 10)  # the first scheduled run
        await pilot.press("2")
        await settle(pilot)
        table = app.screen.query_one("#pipelines-table", DataTable)
        detail = app.screen.query_one("#pipeline-detail-text", Static)
        assert str(table.get_row("launch/drops")[7]).startswith("in ")
        await pilot.press("space")  # pause launch/drops
        await settle(pilot)
        assert str(table.get_row("launch/drops")[7]) == "—"  # no countdown to a skipped run
        assert "paused: scheduled runs are skipped" in str(detail.render())
        await pilot.press("down")
        await settle(pilot)
        assert "scrape  http://127.0.0.1:9/reviews (+1 more)" in str(detail.render())
        await pilot.press("down")
        await settle(pilot)
        assert "schedule: 5m  ·  disabled: runs only when pulled" in str(detail.render())


async def test_preview_says_why_it_is_empty_and_names_a_missing_secret(
    tmp_path, write_pipeline, make_engine, db_path, monkeypatch
):
    monkeypatch.delenv("QA_UNSET_TOKEN", raising=False)
    write_records(tmp_path / "data", RECORDS)
    drops = write_pipeline(pipeline_toml().replace('kind = "file"', 'kind = "file"\nwatch = true'))
    app = SentiApp(db_path, [drops], engine=make_engine(drops), theme="textual-dark")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2", "p")  # the run leaves a cursor at the end of the file
        await settle(pilot)
        await pilot.press("v")
        await settle(pilot)
        text = " ".join(screen_text(app).split())
        assert "0 raw records → 0 posts" in text
        assert "Nothing new: a preview starts where the next run would" in text
        await pilot.press("escape")

        secret = write_pipeline(
            """
        [pipeline]
        name = "api"
        [[source]]
        name = "locked"
        kind = "json_api"
        url = "http://127.0.0.1:9/api"
        headers = { Authorization = "Bearer ${QA_UNSET_TOKEN}" }
        enabled = false
        retries = 6
        backoff = 5
        [source.fields]
        id = "id"
        text = "text"
        """,
            name="api",
        )
        await app.engine.reload([*app.engine.pipelines.values(), secret])
        await settle(pilot)
        await pilot.press("down", "v")
        await asyncio.wait_for(settle(pilot), 5)  # not after six retries 5 s apart
        text = " ".join(screen_text(app).split())
        assert "Preview api/locked" in text
        assert "preview failed: environment variable(s) QA_UNSET_TOKEN not set" in text


async def test_every_pipelines_key_shows_in_the_footer_at_80_columns(console):
    app = console()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("2")
        await settle(pilot)
        footer = screen_text(app).splitlines()[-1]
        for key in (
            "p Pull",
            "P Pull pipeline",
            "a Pull all",
            "space Pause",
            "x Cancel",
            "v Preview",
            "^p palette",
        ):
            assert key in footer, footer
        await pilot.press("question_mark")
        await settle(pilot)
        text = str(app.screen.query_one(Static).render())  # the help keeps the long names
        assert re.search(r"p +Pull now", text) and re.search(r"space +Pause/resume", text)


async def test_the_log_follows_the_newest_line_after_redraws(console):
    app = console()
    async with app.run_test(size=(80, 24)) as pilot:
        for n in range(60):
            app.engine.log("INFO", f"line {n} " + "word " * (n % 25), "launch", "drops")
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        log = app.screen.query_one("#log", Log)
        assert log.max_scroll_y > 0 and log.scroll_y == log.max_scroll_y
        for level in ("WARNING", "INFO"):  # a filter redraws the whole log
            app.screen.query_one("#log-level", Select).value = level
            await settle(pilot)
        app.engine.log("INFO", "the newest line", "launch", "drops")
        await settle(pilot)
        assert log.scroll_y == log.max_scroll_y
        assert "the newest line" in screen_text(app)


async def test_the_log_shows_lines_logged_while_another_screen_was_shown(console):
    app = console()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("4", "1")  # the Logs screen is drawn, then left
        await settle(pilot)
        app.engine.log("INFO", "logged while away", "launch", "drops")
        await settle(pilot)  # the update goes to the dashboard, the screen on top
        await pilot.press("4")
        await settle(pilot)
        assert "logged while away" in screen_text(app)
        log = app.screen.query_one("#log", Log)
        await pilot.press("1", "4")  # nothing new: the view stays as it was
        await settle(pilot)
        assert sum("logged while away" in line for line in log.lines) == 1

        # More lines than are kept, while away: the last one drawn is no longer kept,
        # so the view is drawn again from what is.
        await pilot.press("1")
        await settle(pilot)
        for n in range(LOG_LINES + 10):
            app.engine.log("INFO", f"flood {n}", "launch", "drops")
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        shown = [line for line in log.lines if "flood" in line]
        assert len(shown) == LOG_LINES
        assert shown[0].endswith("flood 10") and shown[-1].endswith(f"flood {LOG_LINES + 9}")
        assert not any("logged while away" in line for line in log.lines)


async def test_payload_to_file_writes_the_record_under_the_cursor_or_says_why_not(
    console, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    records = [
        {"id": 1, "body": "", "ts": "2026-11-20T10:00:00Z", "n": "one"},
        {"id": 2, "body": "", "ts": "2026-11-20T10:00:00Z", "n": "two"},
    ]
    app = console(records)

    notes = Notifications()

    def said() -> list[str]:
        return notes.messages

    async with app.run_test(size=SIZE, message_hook=notes) as pilot:
        await pilot.press("2", "p", "3")
        await settle(pilot)
        await pilot.press("down", "c")  # before the detail pane has loaded record 1
        await settle(pilot)
        assert json.loads((tmp_path / "failed-1.json").read_text(encoding="utf-8"))["n"] == "one"
        assert not (tmp_path / "failed-2.json").exists()

        (tmp_path / "failed-2.json").mkdir()  # something in the way
        await pilot.press("up", "c")
        await settle(pilot)
        assert any(m.startswith("payload of #2 not written: ") for m in said()), said()

        app.screen.query_one("#failed-status", Select).value = "ignored"  # an empty list
        await settle(pilot)
        app.clear_notifications()
        notes.clear()
        await pilot.press("c", "r", "i")
        await settle(pilot)
        assert said() == ["no failed record selected"] * 3


async def test_markup_in_pipeline_and_source_names_is_drawn_as_written(
    tmp_path, write_pipeline, make_engine, db_path
):
    write_records(tmp_path / "data", RECORDS)
    pipeline = write_pipeline("""
    [pipeline]
    name = "p[/]q"
    [[source]]
    name = "[red]x[/red] [/]"
    kind = "file"
    path = "../data/*.jsonl"
    [source.fields]
    id = "id"
    text = "body"
    """)
    app = SentiApp(db_path, [pipeline], engine=make_engine(pipeline), theme="textual-dark")
    # Tall enough for the palette to list every command: each is drawn when in view.
    async with app.run_test(size=(120, 100)) as pilot:  # the source Selects used to stop it
        await pilot.press("2", "p")
        await settle(pilot)
        assert "p[/]q/[red]x[/red] [/]" in screen_text(app)
        await pilot.press("5")
        await settle(pilot)
        select = app.screen.query_one("#posts-source", Select)
        select.focus()
        await pilot.press("enter")  # the list of sources
        await settle(pilot)
        assert "[red]x[/red] [/]" in screen_text(app)
        await pilot.press("escape")
        select.value = "[red]x[/red] [/]"
        app.screen.query_one("#posts-table").focus()
        await settle(pilot)
        assert "[red]x[/red] [/]" in screen_text(app).splitlines()[2]  # the filter bar
        from textual.command import CommandPalette

        # The whole list (where the order of providers varies), then a match.
        for query, shown in (("", "Pull p[/]q/[red]x[/red] [/]"), ("pull p", "Pull p[/]q/[red]x")):
            await pilot.press("ctrl+p")
            await until(pilot, lambda: CommandPalette.is_open(app), "the palette to open")
            await pilot.press(*query)
            await settle(pilot)
            await until(pilot, lambda: shown in screen_text(app), f"{shown!r} in the palette")  # noqa: B023
            await pilot.press("escape")
            await until(pilot, lambda: not CommandPalette.is_open(app), "the palette to close")


async def test_both_pipelines_tables_show_rows_at_80x24_with_twelve_sources(
    tmp_path, write_pipeline, make_engine, db_path
):
    write_records(tmp_path / "data", RECORDS)
    sources = "".join(
        f"""
    [[source]]
    name = "s{n:02d}"
    kind = "file"
    path = "../data/*.jsonl"
    [source.fields]
    id = "id"
    text = "body"
    """
        for n in range(1, 13)
    )
    pipeline = write_pipeline('[pipeline]\nname = "launch"\n' + sources)
    app = SentiApp(db_path, [pipeline], engine=make_engine(pipeline), theme="textual-dark")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("2", "a")  # pull all: twelve runs
        await settle(pilot)
        await settle(pilot)
        lines = screen_text(app).splitlines()
        source_rows = [line for line in lines if re.match(r" launch/s\d\d ", line)]
        run_rows = [line for line in lines if re.match(r" +\d+  launch/s\d\d +manual", line)]
        assert len(source_rows) >= 4, "\n".join(lines)
        assert len(run_rows) >= 3, "\n".join(lines)
        # The sources table scrolls to its last row; Recent runs keeps its rows.
        for _ in range(11):
            await pilot.press("down")
        await pilot.pause()
        text = screen_text(app)
        assert " launch/s12 " in text
        assert (
            len(
                [
                    line
                    for line in text.splitlines()
                    if re.match(r" +\d+  launch/s\d\d +manual", line)
                ]
            )
            >= 3
        )


async def test_cancel_before_the_daemon_claims_the_pull_says_so(tmp_path, write_pipeline, db_path):
    import os
    import time

    from sentitui.engine import commands
    from sentitui.engine.remote import RemoteEngine
    from sentitui.store import Store

    store = Store(db_path)
    # A daemon that is alive (this process's pid, a fresh heartbeat) but never claims.
    commands.publish(store, {"pid": os.getpid(), "heartbeat": time.time(), "stopped": False})
    store.close()
    pipeline = write_pipeline(pipeline_toml())
    remote = RemoteEngine(db_path, [pipeline], poll=0.1, daemon_timeout=60)
    app = SentiApp(db_path, [pipeline], engine=remote, theme="textual-dark")
    notes = Notifications()
    async with app.run_test(size=SIZE, message_hook=notes) as pilot:
        await pilot.press("2", "x")
        await pilot.pause()
        assert notes.messages == ["launch/drops is not running"]
        app.clear_notifications()
        notes.clear()
        await pilot.press("p")

        def requested() -> bool:
            with sqlite3.connect(db_path) as conn:
                return conn.execute("SELECT action, status FROM commands").fetchall() == [
                    ("pull", "pending")
                ]

        await until(pilot, requested, "the pull command in the database")
        await pilot.press("x")
        await pilot.pause()
        messages = notes.messages
        assert messages == [
            "launch/drops: pull requested, but the daemon has not started "
            "it yet — press x again in a moment"
        ], messages


@pytest.mark.parametrize("width", [50, 60, 80, 120])
async def test_the_palette_key_sits_at_the_right_edge_and_no_key_is_cut(console, width):
    """The palette key always shows at the right edge; keys that do not fit are left
    out whole, never shown in part beside it."""
    app = console(RECORDS)
    async with app.run_test(size=(width, 24)) as pilot:
        await pilot.press("2")
        await settle(pilot)
        bar = screen_text(app).splitlines()[-1]
        assert len(bar) <= width and bar.rstrip().endswith("^p palette"), bar
        shown = " ".join(bar.rstrip()[: -len("^p palette")].split())
        everything = (
            "p Pull P Pull pipeline a Pull all space Pause x Cancel v Preview ? Help q Quit"
        )
        assert everything.startswith(shown), bar  # a prefix of the keys …
        assert everything[len(shown) :][:1] in ("", " "), bar  # … made of whole ones


async def test_a_theme_change_restyles_every_screen_shown_before_or_after_it(console):
    """The console re-parses its CSS only when the theme's variables changed (Textual
    did it on every first visit of a screen): a screen styled before the change, shown
    again after it, and one shown the first time since, all take the new colours."""
    app = console()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for key in "234561":  # every screen shown once in the dark theme
            await pilot.press(key)
        dark = app.screen.styles.background
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert app.current_theme.name == "textual-light"
        light = app.screen.styles.background
        assert light != dark
        for key in "234561":
            await pilot.press(key)
            await pilot.pause()
            table = app.screen.query(DataTable)
            assert app.screen.styles.background == light, key
            assert all(t.styles.background != dark for t in table), key
