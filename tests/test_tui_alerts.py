"""The console shows firing alerts in its header on every screen, and the Alerts
screen (key 6) lists them with the posts that triggered them."""

from __future__ import annotations

from pathlib import Path

from test_tui_console import RECORDS, SIZE, settle, write_records
from textual_probe import screen_text

from sentitui.engine.alerts import AlertWatcher
from sentitui.tui.app import SentiApp

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

[[alert]]
name = "sour-[red]mood"
kind = "negative_share"
window = "3650d"  # the records are from 2026-11-20
above = 20
min_posts = 2
notify = ["bell"]
"""


async def test_a_firing_alert_shows_in_the_header_and_on_the_alerts_screen(
    tmp_path: Path, write_pipeline, make_engine, db_path: Path
) -> None:
    write_records(tmp_path / "data", RECORDS)
    pipeline = write_pipeline(PIPELINE)
    app = SentiApp(db_path, [pipeline], engine=make_engine(pipeline), theme="textual-dark")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await app.engine.run_source("launch", "drops", "manual")
        assert "alert(s) firing" not in screen_text(app)
        [fired] = await AlertWatcher(app.engine).check_now()  # as the daemon's check would
        assert fired.state == "firing"
        await settle(pilot)
        header = screen_text(app).splitlines()[0]
        assert "1 alert(s) firing: launch/sour-[red]mood" in header  # a name is not markup

        await pilot.press("6")
        await settle(pilot)
        text = screen_text(app)
        assert "firing" in text and "launch/sour-[red]mood" in text
        assert "most negative" in text and "The scent is awful" in text
        assert "1 alert(s) firing" in text.splitlines()[0]
