"""`sentitui rescore`, `export` and `purge` as a user runs them, on the offline demo data."""

from __future__ import annotations

import csv
import json
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def sentitui(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sentitui.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_rescore_export_purge_commands(tmp_path: Path) -> None:
    pipelines = tmp_path / "pipelines"
    pipelines.mkdir()
    shutil.copytree(REPO / "sample_data", tmp_path / "sample_data")
    demo = (REPO / "pipelines" / "demo.toml").read_text()
    (pipelines / "demo.toml").write_text(demo)
    common = ["--db", "t.db", "--pipelines", "pipelines"]
    assert sentitui("run", "--once", "--json", *common, cwd=tmp_path).returncode == 0
    db = sqlite3.connect(tmp_path / "t.db")
    labels_before = dict(db.execute("SELECT label, COUNT(*) FROM posts GROUP BY label"))
    assert labels_before.get("positive", 0) > 0

    # Raise the positive cut-off and wipe the aspects: rescore must rebuild both.
    db.execute("UPDATE posts SET aspects = NULL")
    db.commit()
    (pipelines / "demo.toml").write_text(
        demo.replace(
            'competitors = ["SilkPro", "HairGlow"]',
            'competitors = ["SilkPro", "HairGlow"]\nthresholds = { positive = 0.99 }',
        )
    )
    result = sentitui("rescore", "demo", "--json", "--batch-size", "200", *common, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    total = sum(labels_before.values())
    assert json.loads(result.stdout) == {"updated": total, "by_pipeline": {"demo": total}}
    labels_after = dict(db.execute("SELECT label, COUNT(*) FROM posts GROUP BY label"))
    assert labels_after.get("positive", 0) < labels_before["positive"]
    assert db.execute("SELECT COUNT(*) FROM posts WHERE aspects LIKE '%scent%'").fetchone()[0] > 0

    result = sentitui("export", "--format", "csv", "--out", "out/posts.csv", *common, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with open(tmp_path / "out" / "posts.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == total and "maya.w" not in (tmp_path / "out" / "posts.csv").read_text()

    result = sentitui("purge", "--json", "--failed-payloads", *common, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    failed = db.execute("SELECT COUNT(*) FROM failed_records").fetchone()[0]
    assert json.loads(result.stdout)["payloads_blanked"] == failed > 0
    assert sentitui("rescore", "nope", *common, cwd=tmp_path).returncode == 2


def trace(db: Path) -> list[str]:
    with sqlite3.connect(db, timeout=30) as conn:
        return [r[0] for r in conn.execute("SELECT what FROM trace ORDER BY id")]


def test_rescore_alongside_a_concurrent_run_once(tmp_path: Path) -> None:
    """Rescore commits in short batches on its own connection: a `run --once` writing the
    same database at the same time waits at most one batch, and both finish cleanly.
    Triggers log every commit in order, to show rescore committed while the run ran."""
    pipelines = tmp_path / "pipelines"
    pipelines.mkdir()
    shutil.copytree(REPO / "sample_data", tmp_path / "sample_data")
    shutil.copy(REPO / "pipelines" / "demo.toml", pipelines / "demo.toml")
    common = ["--db", "t.db", "--pipelines", "pipelines"]
    assert sentitui("run", "--once", *common, cwd=tmp_path).returncode == 0
    with sqlite3.connect(tmp_path / "t.db") as db:
        # Ten times the demo's posts (as copies the run will not meet): a rescore
        # long enough for the run to start and end inside it.
        columns = [r[1] for r in db.execute("PRAGMA table_info(posts)") if r[1] != "id"]
        copied = ", ".join(
            "external_id || '-copy' || ?" if c == "external_id" else c for c in columns
        )
        for n in range(9):
            db.execute(
                f"INSERT INTO posts ({', '.join(columns)}) SELECT {copied} FROM posts "
                "WHERE external_id NOT LIKE '%-copy%'",
                (n,),
            )
        total = db.execute("SELECT COUNT(*) FROM posts").fetchone()[0]
        db.execute("UPDATE posts SET label = NULL, aspects = NULL")
        db.executescript("""
            CREATE TABLE trace (id INTEGER PRIMARY KEY, what TEXT);
            CREATE TRIGGER trace_rescore AFTER UPDATE OF label ON posts
                BEGIN INSERT INTO trace (what) VALUES ('rescore'); END;
            CREATE TRIGGER trace_run_start AFTER INSERT ON runs
                BEGIN INSERT INTO trace (what) VALUES ('run start'); END;
            CREATE TRIGGER trace_run_end AFTER UPDATE OF status ON runs
                WHEN NEW.status != 'running'
                BEGIN INSERT INTO trace (what) VALUES ('run end'); END;
        """)

    def start(*args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "sentitui.cli", *args, *common],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    # Two posts a transaction: many short commits, so the two writers overlap.
    rescore = start("rescore", "demo", "--json", "--batch-size", "2", "--workers", "0")
    deadline = time.monotonic() + 60
    while not trace(tmp_path / "t.db"):  # the run starts once rescore has committed
        assert rescore.poll() is None, rescore.communicate()
        assert time.monotonic() < deadline, "rescore committed nothing"
        time.sleep(0.02)
    run = start("run", "--once", "--json")
    run_out, run_err = run.communicate(timeout=120)
    rescore_out, rescore_err = rescore.communicate(timeout=120)
    assert run.returncode == 0, run_err
    assert rescore.returncode == 0, rescore_err
    assert json.loads(rescore_out)["updated"] == total
    assert json.loads(run_out)["loaded"] == 0  # everything was already stored
    commits = trace(tmp_path / "t.db")
    between = commits[commits.index("run start") : commits.index("run end")]
    assert "rescore" in between, "the run did not overlap the rescore"
    assert commits[-1] == "rescore"  # and the rescore went on after the run ended

    db = sqlite3.connect(tmp_path / "t.db")
    assert db.execute("SELECT COUNT(*) FROM posts").fetchone()[0] == total
    assert (
        db.execute("SELECT COUNT(*) FROM posts WHERE label IS NULL OR aspects IS NULL").fetchone()[
            0
        ]
        == 0
    )
    assert db.execute("SELECT COUNT(*) FROM runs WHERE status != 'ok'").fetchone()[0] == 0
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
