"""Issue 12 in the console: no stored value stops it (rule 1), the screen says what is
true (rule 2), an action lands on the record chosen (rule 3). Pilot drives a real app on
a real SQLite file; what is drawn is read from `export_screenshot`, what is said from
the Notify messages (`message_hook`)."""

from __future__ import annotations

import html
import json
import re
import sqlite3
from pathlib import Path

import pytest
from textual.notifications import Notify
from textual.widgets import DataTable

from sentitui.store import Store
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


def screen_lines(app: SentiApp) -> list[str]:
    """The screen as lines of plain text, read from Textual's own SVG export."""
    svg = app.export_screenshot()
    rows: dict[float, list[tuple[float, str]]] = {}
    for x, y, text in re.findall(
        r'<text class="[^"]*" x="([\d.]+)" y="([\d.]+)"[^>]*>(.*?)</text>', svg, re.S
    ):
        rows.setdefault(float(y), []).append((float(x), html.unescape(text)))
    lines = ["".join(t for _, t in sorted(parts)) for _, parts in sorted(rows.items())]
    return [line for line in lines if line.strip()]


def screen_text(app: SentiApp) -> str:
    return "\n".join(screen_lines(app)).replace("\xa0", " ")


async def settle(pilot, rounds: int = 3) -> None:
    """Until the workers (queries, actions) and the messages they post are done."""
    for _ in range(rounds):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    pilot.app.flush_events()
    await pilot.pause()


class Said:
    """Every notification the app shows, by message_hook."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def __call__(self, message: object) -> None:
        if isinstance(message, Notify):
            self.messages.append(str(message.notification.message))

    def __contains__(self, text: str) -> bool:
        return any(text in m for m in self.messages)


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
        conn.execute(
            f"INSERT INTO posts ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
            tuple(row.values()),
        )


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
    said = Said()
    async with app.run_test(size=SIZE, message_hook=said) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "3 posts" in text
        assert "1 post(s) dated before 1995 or in the future not shown" in text
        assert re.search(r"10:00 +12:05", text)  # the axis spans the plausible posts only
        for key in "2345":
            await pilot.press(key)
            await settle(pilot)
        assert stamp[5:10] + " " + stamp[11:16] in screen_text(app)  # the Posts row
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
    said = Said()
    async with app.run_test(size=SIZE, message_hook=said) as pilot:
        await settle(pilot)
        # The segment panel's query meets the malformed JSON: that panel says so,
        # the others draw.
        text = screen_text(app)
        assert "cannot read:" in text and "OperationalError" in text
        assert "3 posts" in text
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
        assert app.screen.maximized is app.screen.query_one("#failed-detail")
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
