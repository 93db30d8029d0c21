"""Issue 12 in the console: no stored value stops it (rule 1), the screen says what is
true (rule 2), an action lands on the record chosen (rule 3). Pilot drives a real app on
a real SQLite file; what is drawn is read from `export_screenshot`, what is said from
the Notify messages (`message_hook`)."""

from __future__ import annotations

import html
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
