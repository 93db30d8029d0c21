"""Issue 12 in the console: no stored value stops it (rule 1), the screen says what is
true (rule 2), an action lands on the record chosen (rule 3). Pilot drives a real app on
a real SQLite file; what is drawn and said is read through tests/textual_probe.py."""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from textual.widgets import DataTable
from textual_probe import Notifications, screen_text

from sentitui.store import Store, rollups
from sentitui.tui.app import SentiApp

SIZE = (120, 40)
PIPELINE = """
[pipeline]
name = "launch"

[[source]]
name = "drops"
kind = "file"
path = "../data/*.jsonl"
[source.fields]
id = "id"
text = "body"
created_at = "ts"
"""


async def settle(pilot, rounds: int = 3) -> None:
    """Until the workers (queries, actions) and the messages they post are done."""
    await pilot.app.screens_ready.wait()  # the other screens are composed behind the first
    for _ in range(rounds):
        await pilot.pause()
        pilot.app.flush_events()  # engine events now: a run's end starts its screen's query
        await pilot.app.workers.wait_for_complete()
    pilot.app.flush_events()
    await pilot.pause()


def mentioned(notes: Notifications, text: str) -> bool:
    """Whether any notification so far says `text`."""
    return any(text in m for m in notes.messages)


def insert_post(db_path: Path, n: int, **values: object) -> None:
    row = {
        "pipeline": "launch",
        "source": "drops",
        "external_id": f"p{n}",
        "text": f"post number {n}",
        "created_at": "2026-11-20T10:00:00Z",
        "fetched_at": "2026-11-20T10:05:00Z",
        "polarity": 0.5,
        "subjectivity": 0.5,
        "label": "positive",
        "feedback": "praise",
        "competitors": "[]",
        "segments": '{"region": "EU"}',
        **values,
    }
    with sqlite3.connect(db_path) as conn:
        cur = conn.execute(
            f"INSERT INTO posts ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
            tuple(row.values()),
        )
        # Written around the writer, so do what the writer does besides: index its text
        # and add it to the rollups the dashboard reads (a value that is not JSON adds
        # nothing to a breakdown).
        conn.execute(
            "INSERT INTO posts_fts (rowid, text) VALUES (?, ?)", (cur.lastrowid, row["text"])
        )
        rollups.apply(conn, "posts.id = ?", (cur.lastrowid,), 1)


@pytest.fixture
def app_on(tmp_path, write_pipeline, make_engine, db_path):
    """An app with the embedded engine on `db_path`, its database already created."""

    def make() -> SentiApp:
        Store(db_path).close()
        (tmp_path / "data").mkdir(exist_ok=True)
        pipeline = write_pipeline(PIPELINE)
        return SentiApp(db_path, [pipeline], engine=make_engine(pipeline), theme="textual-dark")

    return make


# ---- rule 1: no value in the database can stop the console ------------------------------


@pytest.mark.parametrize("stamp", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"])
async def test_a_no_date_post_is_drawn_around_not_crashed_on(app_on, db_path, stamp):
    app = app_on()
    insert_post(db_path, 1)
    insert_post(db_path, 2, created_at="2026-11-20T12:00:00Z")
    insert_post(db_path, 3, created_at=stamp)
    said = Notifications()
    async with app.run_test(size=SIZE, message_hook=said) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "3 posts" in text
        assert "1 post(s) dated before 1995 or in the future not shown" in text
        assert re.search(r"10:00 +12:05", text)  # the axis spans the plausible posts only
        for key in "2345":
            await pilot.press(key)
            await settle(pilot)
        assert f" {stamp[:10]} " in screen_text(app)  # the Posts row names the odd year
        assert app.is_running and app.return_code is None
    assert not [m for m in said.messages if "could not" in m]


async def test_values_of_the_wrong_type_draw_placeholders(app_on, db_path):
    app = app_on()
    insert_post(db_path, 1, polarity="very good", subjectivity=1e308 * 10, rating="five")
    insert_post(db_path, 2, segments="{not json", competitors='{"a": 1}', created_at=42)
    insert_post(db_path, 3, text="x" * 2_000_000, label=None, feedback=7)
    with sqlite3.connect(db_path) as conn:
        conn.execute(
            "INSERT INTO failed_records (run_id, pipeline, source, stage, error, payload, "
            "created_at, updated_at, attempts, status) VALUES "
            "(1, 'launch', 'drops', 3, ?, ?, 7, 'x', 'many', 'open')",
            ("e" * 500_000, "[" * 200_000),
        )
    said = Notifications()
    async with app.run_test(size=SIZE, message_hook=said) as pilot:
        await settle(pilot)
        # The malformed JSON of post 2 counts in the totals and adds nothing to the
        # segment breakdown, which draws the other two.
        text = screen_text(app)
        assert "3 posts" in text and "cannot read:" not in text
        assert re.search(r"EU\s.*2", text), text
        await pilot.press("5")
        await settle(pilot)
        table = app.screen.query_one("#posts-table", DataTable)
        seen = []
        for row in range(table.row_count):
            table.move_cursor(row=row)
            await settle(pilot)
            seen.append(screen_text(app))
        shown = "\n".join(seen)
        assert "(not a JSON object)" in shown and "(not a JSON list)" in shown  # post 2
        assert "polarity ?  subjectivity inf" in shown and "rating ?" in shown  # post 1
        assert "x" * 40 in shown  # post 3: two million x, cut for the pane
        await pilot.press("3")
        await settle(pilot)
        assert "first 7  ·  last x" in screen_text(app)
        await pilot.press("4")
        await settle(pilot)
        assert app.is_running
    assert not [m for m in said.messages if "could not draw" in m]


async def test_an_error_that_ends_the_console_exits_1_and_says_where_its_traceback_is(
    app_on, db_path
):
    app = app_on()

    def broken() -> None:
        raise RuntimeError("a bug nobody caught")

    with pytest.raises(RuntimeError, match="a bug nobody caught"):  # as run_test re-raises
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            app.call_later(broken)  # as an unforeseen error in any handler would
    assert app.return_code == 1
    report = app.crash_report
    assert report is not None and report.parent == db_path.parent
    written = report.read_text(encoding="utf-8")
    assert "RuntimeError: a bug nobody caught" in written and "Traceback" in written


# ---- rule 3: an action lands on the record the user chose ------------------------------

BAD_MAPPING = PIPELINE.replace('text = "body"', 'text = "text"')  # every record fails at clean


def write_bad_records(folder: Path, n: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    lines = [
        json.dumps({"id": i, "body": f"record {i} " + "long " * 400, "ts": "2026-11-20T10:00:00Z"})
        for i in range(1, n + 1)
    ]
    (folder / "posts.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def failing_app(tmp_path, write_pipeline, make_engine, db_path):
    write_bad_records(tmp_path / "data", 4)
    pipeline = write_pipeline(BAD_MAPPING)
    return SentiApp(db_path, [pipeline], engine=make_engine(pipeline), theme="textual-dark")


def statuses(db_path: Path) -> dict[int, str]:
    with sqlite3.connect(db_path) as conn:
        return dict(conn.execute("SELECT id, status FROM failed_records"))


def cursor_id(app: SentiApp) -> str | None:
    table = app.screen.query_one("#failed-table", DataTable)
    return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value


async def test_ignore_and_resolve_leave_the_cursor_beside_the_record_acted_on(failing_app, db_path):
    app = failing_app
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2", "p")
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        table = app.screen.query_one("#failed-table", DataTable)
        assert [row.key.value for row in table.ordered_rows] == ["4", "3", "2", "1"]
        table.move_cursor(row=1)
        await pilot.press("i")
        await settle(pilot)
        assert cursor_id(app) == "2"  # the next one down, not the newest
        await pilot.press("i")
        await settle(pilot)
        assert cursor_id(app) == "1"
        assert statuses(db_path) == {1: "open", 2: "ignored", 3: "ignored", 4: "open"}

        app.engine.pipeline("launch").source("drops").options["fields"]["text"] = "body"
        await pilot.press("g", "r")  # the first row, #4, now loads
        await settle(pilot)
        assert statuses(db_path)[4] == "resolved"
        assert cursor_id(app) == "1"  # the only open record left


async def test_enter_opens_the_detail_and_g_G_home_end_go_to_the_ends(failing_app):
    app = failing_app
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("2", "p")
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        await pilot.press("G")
        assert cursor_id(app) == "1"
        await pilot.press("g")
        assert cursor_id(app) == "4"
        await pilot.press("end")
        assert cursor_id(app) == "1"
        await pilot.press("home", "down")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        pane = app.screen.query_one("#failed-detail")
        assert app.screen.maximized is pane
        assert pane.size.height > 20  # full screen, not the 9 rows it has under the table
        text = screen_text(app)
        assert "#3 launch/drops" in text and "Tries" not in text  # the detail, full screen
        await pilot.press("escape")
        assert app.screen.maximized is None
        assert app.focused is app.screen.query_one("#failed-table")

        await pilot.press("5")
        await settle(pilot)
        await pilot.press("G")
        posts = app.screen.query_one("#posts-table", DataTable)
        assert posts.cursor_row == posts.row_count - 1 or posts.row_count == 0


def drop_again(folder: Path) -> None:
    """The same records in a new file of the same name: the next pull reads them again."""
    (folder / "posts.jsonl").unlink()
    write_bad_records(folder, 4)


async def test_tries_count_attempts_and_the_detail_follows_its_row(failing_app, db_path, tmp_path):
    app = failing_app
    async with app.run_test(size=(170, 40)) as pilot:  # the pane's first line unwrapped
        await pilot.press("2", "p")
        await settle(pilot)
        drop_again(tmp_path / "data")
        await pilot.press("p")  # the same bad records again: met again, not tried again
        await settle(pilot)
        with sqlite3.connect(db_path) as conn:
            assert conn.execute("SELECT failed FROM runs WHERE id = 2").fetchone() == (4,)
            assert {a for (a,) in conn.execute("SELECT attempts FROM failed_records")} == {1}
        await pilot.press("3")
        await settle(pilot)
        table = app.screen.query_one("#failed-table", DataTable)
        assert str(table.get_row("4")[3]) == "1"
        assert "1 attempt(s)  ·  run 2" in screen_text(app)

        await pilot.press("r")  # still failing: a real attempt
        await settle(pilot)
        assert str(table.get_row("4")[3]) == "2"
        assert "2 attempt(s)" in screen_text(app)

        drop_again(tmp_path / "data")
        await pilot.press("2", "p", "3")  # met again while the pane shows it
        await settle(pilot)
        assert "2 attempt(s)  ·  run 4" in screen_text(app)

        pane = app.screen.query_one("#failed-detail")
        pane.scroll_end(animate=False, immediate=True)
        await pilot.pause()
        assert pane.scroll_y > 0
        await pilot.press("down")
        await settle(pilot)
        assert "#3 launch/drops" in screen_text(app)
        assert pane.scroll_y == 0  # a new record starts at its top


# ---- rule 2: the screen never says something that is not true --------------------------

TWO_SOURCES = (
    PIPELINE
    + """
[[source]]
name = "reviews"
kind = "file"
path = "../data/*.csv"
[source.fields]
id = "id"
text = "body"
"""
)


def header(app: SentiApp) -> str:
    return screen_text(app).splitlines()[0]


async def test_one_engine_status_on_every_screen(tmp_path, write_pipeline, make_engine, db_path):
    (tmp_path / "data").mkdir()
    pipeline = write_pipeline(TWO_SOURCES)
    app = SentiApp(db_path, [pipeline], engine=make_engine(pipeline), theme="textual-dark")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for key in "12345":  # every screen mounted, each with its header drawn
            await pilot.press(key)
            await settle(pilot)
        assert "engine idle" in header(app)
        await pilot.press("2", "space", "down", "space")
        await settle(pilot)
        assert "engine: 2 paused" in header(app)
        for key in "1345":
            await pilot.press(key)
            await settle(pilot)
            assert "engine: 2 paused" in header(app), key


async def test_paused_logs_stay_still_and_count_what_they_do_not_show(app_on):
    app = app_on()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await settle(pilot)
        await pilot.press("f")
        log = app.screen.query_one("#log")
        drawn = log.line_count
        for n in range(3):
            app.engine.log("INFO", f"line {n} while paused")
        await settle(pilot)
        assert "paused · 3 new" in screen_text(app)
        app.data_version += 1  # the engine wrote rows: what the once-a-second refresh sees
        app.screen.reload()  # ... and what it, or coming back to the screen, calls
        await settle(pilot)
        assert "paused · 3 new" in screen_text(app)
        assert log.line_count == drawn  # the view did not move

        await pilot.press("1")
        app.engine.log("WARNING", "while on another screen")
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        assert "paused · 4 new" in screen_text(app) and log.line_count == drawn

        await pilot.press("f")
        await settle(pilot)
        text = screen_text(app)
        assert "following" in text and "while on another screen" in text


def test_stacked_bars_are_counts_scaled_to_the_largest_row():
    from sentitui.tui.widgets.charts import LABEL_COLOURS, BarRow, render_bars

    def parts(pos: int, neu: int, neg: int) -> list[tuple[float, str]]:
        return [
            (pos, LABEL_COLOURS["positive"]),
            (neu, LABEL_COLOURS["neutral"]),
            (neg, LABEL_COLOURS["negative"]),
        ]

    rows = [BarRow("coily", parts(40, 10, 5), "55"), BarRow("wavy", parts(20, 60, 37), "117")]
    text = render_bars(rows, 60, scale=117).plain.splitlines()
    coily, wavy = (line.count("█") for line in text)
    assert wavy == 60 - 5 - 3 - 2  # the full bar: the width less label, figure, gaps
    assert coily == round(55 / 117 * wavy)


async def test_panels_grow_when_their_data_needs_more_lines_and_repaint_in_place():
    """A panel lays the screen out again only when its line count changes; either way
    the screen shows the new data (a missed layout would cut the new lines off)."""
    from rich.text import Text
    from textual.app import App, ComposeResult

    from sentitui.store.rows import AspectRow
    from sentitui.tui.widgets.charts import AspectGrid, AspectTable, BarRow, Bars, Figures

    class Panels(App[None]):
        CSS = "Figures, Bars, AspectGrid { height: auto; }"

        def compose(self) -> ComposeResult:
            yield Figures()
            yield Bars()
            yield AspectGrid()

    def bars(*names: str) -> list[BarRow]:
        return [BarRow(name, [(1.0, "red")], "1") for name in names]

    def aspects(*names: str) -> AspectTable:
        rows = {a: AspectRow(None, a, 3, 1, 1, 1, 0.1, 0.3) for a in names}
        return AspectTable([Text(f"{names[-1]} is the top complaint")], list(names), rows, [], {})

    app = Panels()
    async with app.run_test(size=(40, 24)) as pilot:
        figures, panel, grid = (
            app.query_one(Figures),
            app.query_one(Bars),
            app.query_one(AspectGrid),
        )
        figures.show(Text("12 posts"))
        panel.show(bars("coily"))
        grid.show(aspects("scent"))
        await pilot.pause()
        heights = (figures.size.height, panel.size.height, grid.size.height)

        figures.show(Text("13 posts"))  # the same number of lines: repainted in place
        panel.show(bars("wavy"))
        grid.show(aspects("price"))
        await pilot.pause()
        assert (figures.size.height, panel.size.height, grid.size.height) == heights
        text = screen_text(app)
        assert "13 posts" in text and "wavy" in text and "price" in text
        assert "12 posts" not in text and "coily" not in text and "scent" not in text

        figures.show(Text("word " * 20))  # 100 characters wrap onto 3 lines of 40
        panel.show(bars("coily", "wavy", "straight"))
        grid.show(aspects("scent", "price", "lather"))
        await pilot.pause()
        assert figures.size.height == 3
        assert panel.size.height == 3
        assert grid.size.height == heights[2] + 2
        text = screen_text(app)
        assert "straight" in text and "lather" in text


async def test_a_panel_repaints_from_the_lines_it_kept_until_data_size_or_theme_change():
    """Every return to the dashboard repaints its panels: they draw their text again
    only when their data, their size or the theme changed, and show the change."""
    from rich.text import Text
    from textual.app import App, ComposeResult

    from sentitui.tui.widgets.charts import BarRow, Bars

    class Counted(Bars):
        draws = 0

        def draw(self, width: int, height: int) -> Text:
            Counted.draws += 1
            return super().draw(width, height)

    class Panel(App[None]):
        def compose(self) -> ComposeResult:
            yield Counted()

    app = Panel()
    async with app.run_test(size=(40, 10)) as pilot:
        panel = app.query_one(Counted)
        panel.show([BarRow("coily", [(1.0, "red")], "1")])
        await pilot.pause()
        drawn = Counted.draws
        assert "coily" in screen_text(app)

        panel.refresh()  # a repaint: the screen shown again, another widget's refresh
        await pilot.pause()
        assert Counted.draws == drawn and "coily" in screen_text(app)

        panel.show([BarRow("wavy", [(1.0, "red")], "1")])
        await pilot.pause()
        assert Counted.draws == drawn + 1
        assert "wavy" in screen_text(app) and "coily" not in screen_text(app)
        full = screen_text(app).count("█")

        drawn = Counted.draws
        await pilot.resize_terminal(60, 10)
        await pilot.pause()
        assert Counted.draws > drawn and screen_text(app).count("█") == full + 20

        drawn, dark = Counted.draws, panel.rich_style
        app.theme = "textual-light"
        await pilot.pause()
        assert panel.rich_style != dark  # the panel's colours come from the theme
        assert Counted.draws > drawn and "wavy" in screen_text(app)


async def test_a_static_updated_in_place_still_grows_when_its_text_needs_more_room():
    """update_static skips the layout when the text takes as many lines: a count as
    wide as its text still widens for a longer one, a pane still grows for more lines,
    and the screen shows each new text whole."""
    from rich.text import Text
    from textual.app import App, ComposeResult
    from textual.containers import Horizontal
    from textual.widgets import Static

    from sentitui.tui.widgets.repaint import update_static

    class Panes(App[None]):
        CSS = "#count { width: auto; } #bar { height: 1; } #pane { height: auto; }"

        def compose(self) -> ComposeResult:
            with Horizontal(id="bar"):
                yield Static(id="count")
                yield Static("|end", id="end")
            yield Static(id="pane")

    app = Panes()
    async with app.run_test(size=(40, 12)) as pilot:
        count, pane = app.query_one("#count", Static), app.query_one("#pane", Static)
        update_static(count, Text("1-9 of 9"))
        update_static(pane, Text("one line"))
        await pilot.pause()
        assert "1-9 of 9|end" in screen_text(app) and pane.size.height == 1

        update_static(count, Text("1-9 of 8"))  # same room: in place
        update_static(pane, Text("another line"))
        await pilot.pause()
        text = screen_text(app)
        assert "1-9 of 8|end" in text and "another line" in text and "one line" not in text

        wide = Text("1-100 of 1,000,000")  # wider: the bar is laid out again
        update_static(count, wide)
        await pilot.pause()
        assert "1-100 of 1,000,000|end" in screen_text(app)

        update_static(pane, Text("first\nsecond\nthird"))  # more lines: the pane grows
        await pilot.pause()
        assert pane.size.height == 3 and "third" in screen_text(app)

        update_static(count, wide.copy())  # the same text: nothing to do
        await pilot.pause()
        assert "1-100 of 1,000,000|end" in screen_text(app)


async def test_rows_arriving_on_top_leave_the_cursor_row_where_it_was_on_the_screen():
    """A live table (Posts) gets new rows on top while the user reads further down: the
    row under the cursor stays the same and stays on the same screen line."""
    from textual.app import App, ComposeResult

    from sentitui.tui.widgets.table import RowTable, selected_key, sync_table

    def rows(first: int, last: int) -> list[tuple[str, list[str]]]:
        return [(f"p{n}", [f"post {n}"]) for n in range(last, first - 1, -1)]

    class Live(App[None]):
        def compose(self) -> ComposeResult:
            yield RowTable(cursor_type="row")

    app = Live()
    async with app.run_test(size=(30, 12)) as pilot:
        table = app.query_one(RowTable)
        table.add_column("post", key="post")
        sync_table(table, rows(1, 100))
        await pilot.pause()
        table.move_cursor(row=40, animate=False)  # scrolled: row 40 on the last line
        await pilot.pause()
        table.move_cursor(row=37, animate=False)  # up a few rows, within the view
        await pilot.pause()
        before = screen_text(app).splitlines()
        line = next(n for n, text in enumerate(before) if "post 63" in text)
        assert selected_key(table) == "p63" and table.scroll_offset.y > 0

        sync_table(table, rows(6, 105))  # 5 new posts on top, the 5 oldest gone
        await pilot.pause()
        assert selected_key(table) == "p63" and table.cursor_row == 42
        text = screen_text(app).splitlines()
        assert "post 63" in text[line], text


async def test_dashboard_labels_its_rate_window_legend_and_the_rate_decays(app_on, db_path):
    from datetime import UTC, datetime

    app = app_on()
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for n in range(10):
        insert_post(db_path, n, fetched_at=now, label="positive" if n % 2 else "negative")
    labels = ["positive"] * 5 + ["neutral"] * 4 + ["negative"]
    for source, count in (("coily", 55), ("wavy", 117)):
        for n in range(count):
            insert_post(db_path, 1000 + n, source=source, label=labels[n % 10])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "2 per min (last 5 min)" in text
        assert "█ pos █ neu █ neg" in text  # what the bars' colours mean
        coily = re.search(r"│ *coily +(█+) +55 *│", text)
        wavy = re.search(r"│ *wavy +(█+) +117 *│", text)
        assert coily and wavy
        assert len(coily[1]) == round(55 / 117 * len(wavy[1]))  # length means a count
        with sqlite3.connect(db_path) as conn:  # ten minutes later, nothing new came
            conn.execute("UPDATE posts SET fetched_at = '2020-01-01T00:00:00Z'")
            rollups.rebuild(conn)  # written around the writer, as above
        app.screen.reload_rate()  # what its timer calls, with no engine event at all
        await settle(pilot)
        assert "0 per min (last 5 min)" in screen_text(app)


PUBLISHED = {
    "pipelines": [
        {
            "name": "launch",
            "path": "pipelines/launch.toml",
            "schedule": None,
            "sources": [{"name": "drops", "kind": "file", "schedule": None, "enabled": True}],
        }
    ],
    "states": [
        {
            "pipeline": "launch",
            "source": "drops",
            "status": "idle",
            "detail": "",
            "paused": False,
            "next_run": None,
        }
    ],
}


def publish(db_path: Path, **snapshot: object) -> None:
    """What a `run --watch` daemon publishes each heartbeat (here: this process)."""
    from sentitui.engine import commands

    store = Store(db_path)
    try:
        host = socket.gethostname()
        data = {"pid": os.getpid(), "host": host, "heartbeat": time.time(), "stopped": False}
        data.update(PUBLISHED)
        commands.publish(store, {**data, **snapshot})
    finally:
        store.close()


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


async def test_an_attached_console_says_whether_its_daemon_lives(db_path):
    from sentitui.engine.remote import RemoteEngine

    publish(db_path, stopped=True, heartbeat=time.time() - 300)
    engine = RemoteEngine(db_path, [])
    app = SentiApp(db_path, engine.read_published(), engine=engine, theme="textual-dark")
    said = Notifications()
    async with app.run_test(size=SIZE, message_hook=said) as pilot:
        await settle(pilot)
        assert "attached · no daemon running (last beat 5m ago)" in header(app)
        await pilot.press("2", "p")
        await settle(pilot)
        assert mentioned(said, "no daemon running (last beat 5m ago): nothing sent")
        with sqlite3.connect(db_path) as conn:
            assert conn.execute("SELECT COUNT(*) FROM commands").fetchone() == (0,)

        publish(db_path)  # a daemon starts
        await engine.poll_once()
        app.watch_daemon()  # what its timer runs, four times a second
        await settle(pilot)
        assert f"attached · daemon {os.getpid()} beat 0s ago · engine idle" in header(app)
        assert mentioned(said, f"daemon {os.getpid()} is back")

        publish(db_path, pid=dead_pid())  # killed (SIGKILL): no stopped flag, fresh beat
        await engine.poll_once()
        app.watch_daemon()
        await settle(pilot)
        assert "attached · no daemon running (last beat 0s ago)" in header(app)
        assert said.messages[-1] == "no daemon running (last beat 0s ago)"


@pytest.mark.parametrize("alive", [True, False], ids=["daemon", "no-daemon"])
def test_plain_tui_attaches_to_a_live_daemon_instead_of_a_second_engine(
    tmp_path, db_path, write_pipeline, monkeypatch, alive
):
    from click.testing import CliRunner

    from sentitui.cli import main
    from sentitui.engine.remote import RemoteEngine

    write_pipeline(PIPELINE)
    publish(db_path, **({} if alive else {"stopped": True}))
    opened: dict[str, object] = {}

    def run_console(**kwargs: object) -> int:
        opened.update(kwargs)
        return 0

    monkeypatch.setattr("sentitui.tui.app.run_console", run_console)
    result = CliRunner().invoke(
        main, ["tui", "--db", str(db_path), "--pipelines", str(tmp_path / "pipelines")]
    )
    assert result.exit_code == 0, result.output
    if alive:
        assert isinstance(opened["engine"], RemoteEngine)
        assert f"daemon {os.getpid()} alive" in str(opened["notice"])
        assert "attached to it instead of starting a second engine" in str(opened["notice"])
    else:
        assert "engine" not in opened and opened["pipelines_dir"]


def test_a_countdown_from_a_daemon_snapshot_never_raises():
    from sentitui.tui.screens.pipelines import countdown

    assert countdown(float("inf"), 0) == "—" and countdown("soon", 0) == "—"  # type: ignore[arg-type]
    assert countdown(float("nan"), 0) == "—" and countdown(90, 0) == "in 1m30s"


async def test_attached_console_follows_a_real_daemon_killed_and_started_again(
    tmp_path, write_pipeline, db_path
):
    """A real `run --watch` process: killed with SIGKILL (it cannot say it stopped), the
    console says so at its next look, not 10 s later; started again, it is back."""
    import asyncio

    from sentitui.engine.heartbeat import read_daemon_life
    from sentitui.engine.remote import RemoteEngine

    (tmp_path / "data").mkdir()
    write_pipeline(PIPELINE)

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "sentitui.cli", "run", "--watch", "--db", str(db_path)]
            + ["--pipelines", str(tmp_path / "pipelines")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "SENTITUI_LOG": str(tmp_path / "daemon.log")},
        )

    async def first_beat(daemon: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + 60  # a bound on the wait for its first heartbeat
        while (life := read_daemon_life(db_path)).pid != daemon.pid or not life.alive:
            assert daemon.poll() is None, "the daemon exited before its first heartbeat"
            assert time.monotonic() < deadline, "no heartbeat from the daemon"
            await asyncio.sleep(0.05)

    daemon = start()
    try:
        await first_beat(daemon)
        engine = RemoteEngine(db_path, [])
        app = SentiApp(db_path, engine.read_published(), engine=engine, theme="textual-dark")
        said = Notifications()
        async with app.run_test(size=SIZE, message_hook=said) as pilot:
            await settle(pilot)
            assert f"attached · daemon {daemon.pid} beat" in header(app)

            daemon.kill()
            daemon.wait()
            await engine.poll_once()
            app.watch_daemon()
            await settle(pilot)
            assert "attached · no daemon running (last beat" in header(app)
            assert any(m.startswith("no daemon running") for m in said.messages)

            daemon = start()
            await first_beat(daemon)
            await engine.poll_once()
            app.watch_daemon()
            await settle(pilot)
            assert f"attached · daemon {daemon.pid} beat" in header(app)
            assert mentioned(said, f"daemon {daemon.pid} is back")
    finally:
        daemon.kill()
        daemon.wait()


async def test_a_panel_that_cannot_draw_costs_its_update_not_the_console(
    app_on, db_path, monkeypatch
):
    from sentitui.tui.screens import posts

    def unforeseen(*_: object) -> str:
        raise ValueError("a value no formatter foresaw \x1b[2J")

    app = app_on()
    insert_post(db_path, 1)
    said = Notifications()
    async with app.run_test(size=SIZE, message_hook=said) as pilot:
        monkeypatch.setattr(posts, "capped", unforeseen)  # the detail pane's helper
        await pilot.press("5")
        await settle(pilot)
        app.screen.reload()  # it may have been drawn behind the dashboard before the patch
        await settle(pilot)
        assert "cannot draw this post: ValueError" in screen_text(app)

        monkeypatch.setattr(posts, "short_time", unforeseen)  # the table's too
        app.screen.reload()
        await settle(pilot)
        assert mentioned(said, "could not draw posts: ValueError: a value no formatter foresaw")
        assert not any("\x1b" in m for m in said.messages)  # nor drives the terminal
        await pilot.press("1")
        await settle(pilot)
        assert app.is_running and "1 posts" in screen_text(app)


async def test_a_failed_read_ahead_is_read_again_by_the_dashboard(app_on, db_path, monkeypatch):
    """The app reads the dashboard's first answer ahead, before the engine's start has
    created or migrated the database; when that read fails, the dashboard reads again
    and draws, with no error shown."""
    import threading

    from sentitui.tui import queries

    real = queries.with_store
    ahead_failed = threading.Event()

    def first_read_fails(path: object, fn: object) -> object:
        if threading.current_thread().name.startswith("sentitui-read-ahead"):
            ahead_failed.set()
            raise sqlite3.OperationalError("no such table: rollup_totals")
        return real(path, fn)  # type: ignore[arg-type]

    monkeypatch.setattr(queries, "with_store", first_read_fails)
    app = app_on()
    insert_post(db_path, 1)
    said = Notifications()
    async with app.run_test(size=SIZE, message_hook=said) as pilot:
        await settle(pilot)
        assert ahead_failed.is_set()
        assert "1 posts" in screen_text(app)
        assert not mentioned(said, "could not read")


async def test_a_window_key_is_answered_before_its_data_arrives(app_on, db_path, monkeypatch):
    """`w` names the new window at once; the chart's buckets follow with the query. A
    window shown before comes back at once with its last chart, read again behind."""
    import threading

    from sentitui.tui.screens import dashboard

    release = threading.Event()
    real = dashboard.load_dashboard

    def held_back(*args: object, **kwargs: object) -> dashboard.DashboardData:
        release.wait(timeout=30)  # the query is slow (a busy database)
        return real(*args, **kwargs)

    app = app_on()
    insert_post(db_path, 1)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "Polarity over time · all" in screen_text(app)
        monkeypatch.setattr(dashboard, "load_dashboard", held_back)
        await pilot.press("w")
        await pilot.pause()
        assert "Polarity over time · day · reading…" in screen_text(app)
        release.set()
        await settle(pilot)
        text = screen_text(app)
        assert "Polarity over time · day ·" in text and "reading…" not in text

        release.clear()
        await pilot.press("w", "w", "w")  # hour (never read), all, then day again
        await pilot.pause()
        text = screen_text(app)
        day_chart = re.compile(r"Polarity over time · day · \w+ buckets \(w\)")
        assert day_chart.search(text) and "reading…" not in text
        release.set()
        await settle(pilot)
        assert day_chart.search(screen_text(app))
