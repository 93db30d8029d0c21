"""SVG snapshots of every screen at 80x24 and 120x40, from a database built with
fixed timestamps (no clock on screen), so the pictures only change when the UI does.

Regenerate after a deliberate UI change with
`pytest tests/test_tui_snapshots.py --snapshot-update`, then look at the report.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import pytest

from sentitui.config import PipelineConfig, load_pipeline_file
from sentitui.models import FailedRecord, LogLine, Post
from sentitui.store import PageWrite, Store, rollups
from sentitui.tui.app import SentiApp

PIPELINE = """
[pipeline]
name = "launch"
competitors = ["SilkPro", "HairGlow"]
aspects = { scent = ["scent"], price = ["price"], packaging = ["bottle"], "hair feel" = ["soft"] }

[[source]]
name = "social"
kind = "file"
path = "data/social.jsonl"
[source.fields]
id = "id"
text = "text"

[[source]]
name = "reviews"
kind = "file"
path = "data/reviews.csv"
[source.fields]
id = "id"
text = "text"
"""

TEXTS = [
    ("AquaSilk made my hair so soft, love it!", "praise"),
    ("The scent is awful and my scalp itches.", "complaint"),
    ("Wish it came in a bigger bottle.", "suggestion"),
    ("Better than SilkPro for my curls.", "comparison"),
    ("Bought it today [bold red]FAKE[/] [/foo] [$error]x", "other"),
    ("Is the scent strong?", "question"),
]
AGES = ["18-24", "25-34", "35-44", "45-54"]
ASPECTS = ["scent", "price", "packaging", "hair feel"]
REGIONS = ["EU", "US", "APAC"]
BASE = 1795608000  # 2026-11-25T12:00:00Z
STAMP = "2026-11-22T09:30:00Z"


def iso(epoch: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def aspects_of(i: int, polarity: float) -> dict[str, dict[str, object]]:
    """Two aspects per post; price leans negative for the youngest group."""
    found = {}
    for aspect in (ASPECTS[i % 4], ASPECTS[(i + 1) % 4]):
        value = round(polarity - (0.5 if aspect == "price" and i % 4 == 0 else 0.0), 3)
        label = "positive" if value >= 0.05 else "negative" if value <= -0.05 else "neutral"
        found[aspect] = {"polarity": value, "label": label}
    return found


def make_posts(source: str, n: int, phase: float) -> list[Post]:
    posts = []
    for i in range(n):
        polarity = round(0.6 * math.sin(i / 3 + phase), 3)
        text, feedback = TEXTS[i % len(TEXTS)]
        label = "positive" if polarity >= 0.05 else "negative" if polarity <= -0.05 else "neutral"
        posts.append(
            Post(
                pipeline="launch",
                source=source,
                external_id=f"{source}-{i}",
                text=f"{text} #{i}",
                created_at=iso(BASE + i * 1800 + (0 if source == "social" else 900)),
                fetched_at=STAMP,
                polarity=polarity,
                subjectivity=0.5,
                label=label,
                text_label=label,
                feedback=feedback,
                competitors=(
                    ["SilkPro"] if feedback == "comparison" else ["HairGlow"] if i % 7 == 0 else []
                ),
                aspects=aspects_of(i, polarity),
                rating=0.8 if source == "reviews" else None,  # 4 of 5 stars, stored 0..1
                segments={"age_group": AGES[i % 4], "region": REGIONS[i % 3]},
            )
        )
    return posts


def build(folder: Path) -> PipelineConfig:
    """A database and pipeline file in `folder`, with nothing depending on the clock."""
    (folder / "pipelines").mkdir()
    path = folder / "pipelines" / "launch.toml"
    path.write_text(textwrap.dedent(PIPELINE), encoding="utf-8")
    store = Store(folder / "snap.db")
    failures = {
        "social": [
            FailedRecord(
                "clean",
                "record 'x1': text is missing or empty",
                '{"id": "x1", "text": "", "user": {"region": "[b]EU"}}',
            ),
            FailedRecord(
                "parse", "data/social.jsonl line 7: invalid JSON", '{"id": "x2", "text": "trunc'
            ),
        ],
        "reviews": [
            FailedRecord(
                "fetch",
                "HTTP 500 after 3 attempts",
                "<html><body><h1>Internal error</h1></body></html>",
            )
        ],
    }
    for source, n, phase in (("social", 40, 0.0), ("reviews", 24, 1.5)):
        stats = store.start_run("launch", source, "cli")
        stats.fetched = n + len(failures[source])
        store.write_pages([PageWrite(stats, make_posts(source, n, phase), failures[source])])
        stats.status = "ok"
        store.finish_run(stats)
    with store.transaction() as conn:
        conn.execute("UPDATE runs SET started_at = ?, ended_at = ?", (STAMP, STAMP))
        conn.execute("UPDATE failed_records SET created_at = ?, updated_at = ?", (STAMP, STAMP))
    store.close()
    return load_pipeline_file(path)


LOGS = [
    LogLine(
        level="INFO", message="run 1 started (cli)", pipeline="launch", source="social", at=BASE
    ),
    LogLine(
        level="WARNING",
        message="2 record(s) failed on data/social.jsonl: [bold]x[/]",
        pipeline="launch",
        source="social",
        at=BASE + 1,
    ),
    LogLine(
        level="INFO",
        message="page 1: 40 loaded, 0 duplicate, 2 failed",
        pipeline="launch",
        source="social",
        at=BASE + 2,
    ),
    LogLine(
        level="ERROR",
        message="fetch failed: HTTP 500 (http://127.0.0.1/reviews)",
        pipeline="launch",
        source="reviews",
        at=BASE + 3,
    ),
]


@pytest.fixture
def snapshot_app(tmp_path, monkeypatch):
    pipeline = build(tmp_path)
    monkeypatch.chdir(tmp_path)  # the header shows the db path as given: "snap.db"
    return SentiApp("snap.db", [pipeline], theme="textual-dark", score_workers=0)


async def settle(pilot) -> None:
    await pilot.app.screens_ready.wait()  # the other screens are composed behind the first
    for _ in range(3):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
@pytest.mark.parametrize(
    "key", ["1", "2", "3", "4", "5"], ids=["dashboard", "pipelines", "failed", "logs", "posts"]
)
def test_screen(key, size, snapshot_app, snap_compare):
    app = snapshot_app

    async def run_before(pilot) -> None:
        await settle(pilot)
        app.flush_events()  # drop the "console started" line: it names the time
        app.log_lines.clear()
        app.log_lines.extend(LOGS)
        await pilot.press(key)
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_failed_record_opened_with_enter(snapshot_app, snap_compare):
    """enter opens the record's detail over the whole screen at 80x24."""

    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)

    assert snap_compare(snapshot_app, terminal_size=(80, 24), run_before=run_before)


def test_dashboard_with_no_date_posts(snapshot_app, tmp_path, snap_compare):
    """Posts dated 0001-01-01 and 9999-12-31 ("no date" to some APIs) are counted under
    the chart, which spans the others; the console draws on."""
    import sqlite3

    with sqlite3.connect(tmp_path / "snap.db") as conn:
        for n, stamp in enumerate(("0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z")):
            conn.execute(
                "INSERT INTO posts (pipeline, source, external_id, text, created_at, "
                "fetched_at, polarity, subjectivity, label, feedback, competitors, segments) "
                "VALUES ('launch', 'social', ?, 'no date', ?, ?, 0.1, 0.5, 'positive', "
                "'other', '[]', '{}')",
                (f"nodate-{n}", stamp, STAMP),
            )
        rollups.rebuild(conn)  # written around the writer: its rollups are made again

    async def run_before(pilot) -> None:
        await settle(pilot)

    assert snap_compare(snapshot_app, terminal_size=(80, 24), run_before=run_before)
