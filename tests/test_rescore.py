"""`sentitui rescore`, `export` and `purge` as a user runs them, on the offline demo data."""

from __future__ import annotations

import csv
import json
import shutil
import sqlite3
import subprocess
import sys
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


def test_rescore_alongside_a_concurrent_run_once(tmp_path: Path) -> None:
    """Rescore commits in short batches on its own connection: a `run --once` writing the
    same database at the same time waits at most one batch, and both finish cleanly."""
    pipelines = tmp_path / "pipelines"
    pipelines.mkdir()
    shutil.copytree(REPO / "sample_data", tmp_path / "sample_data")
    shutil.copy(REPO / "pipelines" / "demo.toml", pipelines / "demo.toml")
    common = ["--db", "t.db", "--pipelines", "pipelines"]
    assert sentitui("run", "--once", *common, cwd=tmp_path).returncode == 0
    with sqlite3.connect(tmp_path / "t.db") as db:
        total = db.execute("SELECT COUNT(*) FROM posts").fetchone()[0]
        db.execute("UPDATE posts SET label = NULL, aspects = NULL")

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
    run = start("run", "--once", "--json")
    run_out, run_err = run.communicate(timeout=120)
    rescore_out, rescore_err = rescore.communicate(timeout=120)
    assert run.returncode == 0, run_err
    assert rescore.returncode == 0, rescore_err
    assert json.loads(rescore_out)["updated"] == total
    assert json.loads(run_out)["loaded"] == 0  # everything was already stored

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
