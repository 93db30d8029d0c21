"""The CLI contracts, run as a user runs them: a real `sentitui` process, a real SQLite file."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXPECTED = json.loads((REPO / "sample_data" / "expected_counts.json").read_text())


def sentitui(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sentitui.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_run_once_json_loads_the_demo_data(tmp_path):
    db = tmp_path / "demo.db"
    result = sentitui(
        "run",
        "--once",
        "--json",
        "--db",
        str(db),
        "--pipelines",
        str(REPO / "pipelines"),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    total = EXPECTED["total"]
    assert summary["loaded"] == total["posts"]
    assert summary["duplicates"] == total["duplicates"]
    assert summary["failed"] == total["failed_total"]
    assert {r["source"] for r in summary["runs"]} == {"social", "reviews", "survey"}
    for run in summary["runs"]:
        assert set(run) == {
            "pipeline",
            "source",
            "status",
            "fetched",
            "loaded",
            "duplicates",
            "failed",
            "error",
        }
        expected = EXPECTED["files"][run["source"]]
        assert (run["status"], run["fetched"], run["loaded"]) == (
            "ok",
            expected["raw_records"],
            expected["posts"],
        )
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM posts").fetchone()[0] == total["posts"]
        stages = dict(conn.execute("SELECT stage, COUNT(*) FROM failed_records GROUP BY stage"))
        assert stages == total["failed"]
        # Nothing silently dropped: every raw record is a post, a duplicate or a failure.
        assert (
            conn.execute(
                "SELECT SUM(fetched) - SUM(loaded + duplicates + failed) FROM runs"
            ).fetchone()[0]
            == 0
        )

    again = sentitui(
        "run",
        "--once",
        "--json",
        "--db",
        str(db),
        "--pipelines",
        str(REPO / "pipelines"),
        cwd=tmp_path,
    )
    second = json.loads(again.stdout)
    assert second["loaded"] == 0
    assert second["duplicates"] == total["posts"] + total["duplicates"]

    stats = json.loads(sentitui("stats", "--json", "--db", str(db), cwd=tmp_path).stdout)
    assert stats["posts"] == total["posts"] and stats["open_failed"] == total["failed_total"]


def test_failed_retry_resolves_once_the_cause_is_fixed(tmp_path):
    """A CSV whose text column is mis-mapped fails at clean; fix the mapping, retry, resolved."""
    data = tmp_path / "drop.csv"
    data.write_text(
        "rid,comment,when\n1,Love the scent,2026-11-20T10:00:00Z\n"
        "2,Too pricey for me,2026-11-20T11:00:00Z\n",
        encoding="utf-8",
    )
    pipelines = tmp_path / "pipelines"
    pipelines.mkdir()
    toml = textwrap.dedent("""
        [pipeline]
        name = "drops"
        [[source]]
        name = "csv"
        kind = "file"
        path = "../drop.csv"
        [source.fields]
        id = "rid"
        text = "{text}"
        created_at = "when"
    """)
    (pipelines / "drops.toml").write_text(toml.format(text="body"), encoding="utf-8")
    db = str(tmp_path / "t.db")
    args = ["--db", db, "--pipelines", str(pipelines)]

    first = sentitui("run", "--once", "--json", *args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["failed"] == 2

    listed = json.loads(sentitui("failed", "list", "--json", "--db", db, cwd=tmp_path).stdout)
    assert [r["stage"] for r in listed] == ["clean", "clean"]
    ids = [str(r["id"]) for r in listed]
    shown = sentitui("failed", "show", ids[-1], "--db", db, cwd=tmp_path).stdout
    assert '"comment": "Love the scent"' in shown and "text is missing or empty" in shown

    still = sentitui("failed", "retry", *ids, *args, cwd=tmp_path)
    assert still.returncode == 1 and "still failing" in still.stdout

    (pipelines / "drops.toml").write_text(toml.format(text="comment"), encoding="utf-8")
    fixed = sentitui("failed", "retry", "--all", "--json", *args, cwd=tmp_path)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert sorted(json.loads(fixed.stdout)["resolved"]) == sorted(int(i) for i in ids)

    with sqlite3.connect(db) as conn:
        assert sorted(r[0] for r in conn.execute("SELECT text FROM posts")) == [
            "Love the scent",
            "Too pricey for me",
        ]
        assert set(conn.execute("SELECT status, attempts FROM failed_records")) == {("resolved", 3)}
    assert json.loads(sentitui("failed", "list", "--json", "--db", db, cwd=tmp_path).stdout) == []


def test_failed_ignore_leaves_the_open_list(tmp_path):
    pipelines = tmp_path / "pipelines"
    pipelines.mkdir()
    (tmp_path / "x.jsonl").write_text('{"id": 1, "t": ""}\nnot json\n', encoding="utf-8")
    (pipelines / "p.toml").write_text(
        textwrap.dedent("""
        [pipeline]
        name = "p"
        [[source]]
        name = "s"
        kind = "file"
        path = "../x.jsonl"
        fields = { id = "id", text = "t" }
    """),
        encoding="utf-8",
    )
    db = str(tmp_path / "t.db")
    sentitui("run", "--once", "--db", db, "--pipelines", str(pipelines), cwd=tmp_path)
    listed = json.loads(sentitui("failed", "list", "--json", "--db", db, cwd=tmp_path).stdout)
    assert sorted(r["stage"] for r in listed) == ["clean", "parse"]
    parse = next(r for r in listed if r["stage"] == "parse")
    raw = json.loads(
        sentitui("failed", "show", str(parse["id"]), "--json", "--db", db, cwd=tmp_path).stdout
    )
    assert raw["payload"] == "not json"
    sentitui("failed", "ignore", str(parse["id"]), "--db", db, cwd=tmp_path)
    left = json.loads(sentitui("failed", "list", "--json", "--db", db, cwd=tmp_path).stdout)
    assert [r["stage"] for r in left] == ["clean"]


def test_validate_and_bad_config_exit_2(tmp_path):
    pipelines = tmp_path / "pipelines"
    shutil.copytree(REPO / "pipelines", pipelines)
    # the copied demo.toml points at ../sample_data relative to its folder
    shutil.copytree(REPO / "sample_data", tmp_path / "sample_data")
    ok = sentitui("validate", "--pipelines", str(pipelines), cwd=tmp_path)
    assert ok.returncode == 0 and ok.stdout.startswith("ok:")

    (pipelines / "broken.toml").write_text(
        '[pipeline]\nname = "b"\n[[source]]\nname = "x"\n'
        'kind = "file"\nfields = { id = "id", text = "t" }\n'
        'colour = "blue"\n',
        encoding="utf-8",
    )
    bad = sentitui("validate", "--pipelines", str(pipelines), cwd=tmp_path)
    assert bad.returncode == 2
    assert "broken.toml source 'x': unknown key 'colour'" in bad.stderr
    assert "broken.toml source 'x': missing required key 'path'" in bad.stderr
    run = sentitui(
        "run",
        "--once",
        "--json",
        "--db",
        str(tmp_path / "t.db"),
        "--pipelines",
        str(pipelines),
        cwd=tmp_path,
    )
    assert run.returncode == 2 and run.stdout == ""
    unknown = sentitui(
        "run",
        "nope",
        "--pipelines",
        str(REPO / "pipelines"),
        "--db",
        str(tmp_path / "t.db"),
        cwd=tmp_path,
    )
    assert unknown.returncode == 2 and "no pipeline named 'nope'" in unknown.stderr


def test_source_failing_after_retries_exits_1(tmp_path):
    pipelines = tmp_path / "pipelines"
    pipelines.mkdir()
    # Nothing listens on port 9 of loopback: connection refused, retried, then failed.
    (pipelines / "p.toml").write_text(
        textwrap.dedent("""
        [pipeline]
        name = "p"
        [[source]]
        name = "down"
        kind = "json_api"
        url = "http://127.0.0.1:9/posts"
        retries = 1
        backoff = 0.01
        fields = { id = "id", text = "t" }
    """),
        encoding="utf-8",
    )
    db = tmp_path / "t.db"
    result = sentitui(
        "run", "--once", "--json", "--db", str(db), "--pipelines", str(pipelines), cwd=tmp_path
    )
    assert result.returncode == 1
    summary = json.loads(result.stdout)
    assert summary["runs"][0]["status"] == "failed"
    assert "connection failed" in summary["runs"][0]["error"]
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT stage FROM failed_records").fetchone()[0] == "fetch"


def test_reading_commands_on_a_missing_database_say_so_and_create_nothing(tmp_path):
    for args in (
        ["stats"],
        ["failed", "list"],
        ["failed", "show", "1"],
        ["export", "--pipelines", str(REPO / "pipelines")],
    ):
        result = sentitui(*args, "--db", str(tmp_path / "none.db"), cwd=tmp_path)
        assert result.returncode == 2, args
        assert "no database at" in result.stderr and "none.db" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_preview_of_an_unreachable_source_says_why_without_a_traceback(tmp_path):
    pipelines = tmp_path / "pipelines"
    pipelines.mkdir()
    (pipelines / "p.toml").write_text(
        textwrap.dedent("""
        [pipeline]
        name = "p"
        [[source]]
        name = "down"
        kind = "json_api"
        url = "http://127.0.0.1:9/posts"
        retries = 0
        fields = { id = "id", text = "t" }
    """),
        encoding="utf-8",
    )
    result = sentitui(
        "preview",
        "p",
        "down",
        "--db",
        str(tmp_path / "t.db"),
        "--pipelines",
        str(pipelines),
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert "preview of p/down failed: connection failed" in result.stderr
    assert "Traceback" not in result.stderr


def test_stats_reports_competitors_and_the_top_complaint(tmp_path):
    db = tmp_path / "demo.db"
    sentitui("run", "--once", "--db", str(db), "--pipelines", str(REPO / "pipelines"), cwd=tmp_path)
    stats = json.loads(sentitui("stats", "--json", "--db", str(db), cwd=tmp_path).stdout)
    assert {c["competitor"] for c in stats["competitors"]} == {"SilkPro", "HairGlow"}
    assert all(0 < c["share_of_voice"] < 1 for c in stats["competitors"])
    assert stats["top_complaint"] in {"scent", "price", "packaging", "hair feel"}
    text = sentitui("stats", "--db", str(db), cwd=tmp_path).stdout
    assert "competitors: " in text and "top complaint" in text
