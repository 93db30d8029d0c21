"""`--db` pointing somewhere unusable: a clear message naming the file and exit 2,
never a traceback. Real `sentitui` processes on real files."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def without_root_powers() -> list[str]:
    """A command prefix under which file modes bind: root ignores them unless it
    drops CAP_DAC_OVERRIDE (setpriv); anyone else needs nothing."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: file modes cannot be enforced")
    caps = "-dac_override,-dac_read_search"
    return ["setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}"]


def sentitui(
    *args: str, cwd: Path, prefix: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*(prefix or []), sys.executable, "-m", "sentitui.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def make_db(tmp_path: Path) -> Path:
    db = tmp_path / "ro" / "t.db"  # the demo data, with its failed records
    result = sentitui(
        "run", "--once", "--db", str(db), "--pipelines", str(REPO / "pipelines"), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    return db


def test_read_only_database_is_a_usage_error_naming_the_file(tmp_path):
    prefix = without_root_powers()
    db = make_db(tmp_path)
    db.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    for name in ("t.db-wal", "t.db-shm"):
        if (db.parent / name).exists():
            (db.parent / name).chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    try:
        run = sentitui(
            "run",
            "--once",
            "--json",
            "--db",
            str(db),
            "--pipelines",
            str(REPO / "pipelines"),
            cwd=tmp_path,
            prefix=prefix,
        )
        ignore = sentitui("failed", "ignore", "1", "--db", str(db), cwd=tmp_path, prefix=prefix)
        stats = sentitui("stats", "--json", "--db", str(db), cwd=tmp_path, prefix=prefix)
    finally:
        db.chmod(stat.S_IRUSR | stat.S_IWUSR)
    for result in (run, ignore):
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith(f"error: database {db} is read-only"), result.stderr
        assert "Traceback" not in result.stderr
    assert run.stdout == ""
    assert stats.returncode == 0 and json.loads(stats.stdout)["posts"] > 0  # reading still works


def test_database_in_a_folder_that_cannot_be_written(tmp_path):
    prefix = without_root_powers()
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        inside = sentitui(
            "run",
            "--once",
            "--db",
            str(locked / "t.db"),
            "--pipelines",
            str(REPO / "pipelines"),
            cwd=tmp_path,
            prefix=prefix,
        )
        below = sentitui(
            "run",
            "--once",
            "--db",
            str(locked / "new" / "t.db"),
            "--pipelines",
            str(REPO / "pipelines"),
            cwd=tmp_path,
            prefix=prefix,
        )
    finally:
        locked.chmod(stat.S_IRWXU)
    for result, path in ((inside, locked / "t.db"), (below, locked / "new" / "t.db")):
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith(f"error: database {path}: cannot open it: ")
        assert result.stderr.rstrip().endswith("(is its folder writable?)")


def test_a_file_that_is_not_a_database(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not SQLite at all\n" * 100, encoding="utf-8")
    for args in (("stats",), ("run", "--once", "--pipelines", str(REPO / "pipelines"))):
        result = sentitui(*args, "--db", str(notes), cwd=tmp_path)
        assert result.returncode == 2
        assert result.stderr == (
            f"error: database {notes}: file is not a database (is --db the right file?)\n"
        )


def test_database_in_a_folder_that_does_not_exist_yet_is_created(tmp_path):
    db = tmp_path / "new" / "deeper" / "t.db"
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
    assert result.returncode == 0 and db.is_file()
    missing = sentitui("stats", "--db", str(tmp_path / "nowhere" / "t.db"), cwd=tmp_path)
    assert missing.returncode == 2 and not (tmp_path / "nowhere").exists()
