"""`sentitui migrate`: SQLite -> PostgreSQL and back, counts verified, safe to re-run."""

from __future__ import annotations

import json

from click.testing import CliRunner

from sentitui.cli import main
from sentitui.models import FailedRecord, Post
from sentitui.store import PageWrite, Store

# NUL, a backslash and a quote: PostgreSQL text takes no NUL, COPY reads backslashes.
CUT_OFF = '{"id": 7, "text": "cut off \x00 \\x00 \\\' ☂'


def fill(store: Store) -> None:
    stats = store.start_run("launch", "shop", "cli")
    posts = [
        Post(
            pipeline="launch",
            source="shop",
            external_id=str(n),
            text=f"AquaSilk review {n}: lovely scent, ça mousse bien 🫧",
            created_at=f"2026-11-20T10:{n % 60:02d}:00Z",
            polarity=0.4,
            label="positive",
            segments={"age_group": "18-24"},
            competitors=["SilkPro"] if n % 3 == 0 else [],
        )
        for n in range(1, 7001)  # more than one batch
    ]
    bad = FailedRecord("parse", "not JSON at line 1", CUT_OFF, {"url": "u"})
    store.write_pages([PageWrite(stats, posts, [bad], {"since": 7000})])
    stats.status = "ok"
    store.finish_run(stats)
    store.author_secret()


def migrate(source: str, destination: str) -> dict:
    result = CliRunner().invoke(main, ["migrate", "--from", source, "--to", destination, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_sqlite_to_postgresql_and_back_keeps_every_row(tmp_path, pg_url):
    sqlite_url = f"sqlite:///{tmp_path / 'a.db'}"
    original = Store(sqlite_url)
    fill(original)

    first = migrate(sqlite_url, pg_url)
    assert first["ok"] is True
    assert first["tables"]["posts"] == {"source": 7000, "copied": 7000, "destination": 7000}
    assert first["tables"]["failed_records"]["destination"] == 1
    again = migrate(sqlite_url, pg_url)  # a re-run copies nothing twice
    assert again["ok"] is True and again["tables"]["posts"]["copied"] == 0
    assert again["tables"]["posts"]["destination"] == 7000

    copy = Store(pg_url)
    [row] = copy.failed_records()
    assert copy.failed_record(row.id).payload == CUT_OFF  # byte for byte
    assert copy.cursor("launch", "shop") == {"since": 7000}
    assert copy.author_secret() == original.author_secret()
    assert copy.totals() == original.totals()
    assert copy.competitor_summary() == original.competitor_summary()
    assert copy.count_search_posts("mousse") == 7000
    assert [r.status for r in copy.runs()] == ["ok"]
    assert copy.start_run("launch", "shop", "cli").run_id == 2  # ids go on after the copy

    back = f"sqlite:///{tmp_path / 'b.db'}"
    assert migrate(pg_url, back)["tables"]["runs"]["destination"] == 2
    assert Store(back).search_posts("scent", limit=1)[0].text.startswith("AquaSilk")
    assert Store(back).failed_record(row.id).payload == CUT_OFF


def test_missing_source_is_a_usage_error(tmp_path, pg_url):
    result = CliRunner().invoke(
        main, ["migrate", "--from", str(tmp_path / "none.db"), "--to", pg_url]
    )
    assert result.exit_code == 2 and "no database at" in result.output
