"""`sentitui failed show` on payloads nobody wants in a terminal whole: a 5 MB page,
a gzip body that was never decompressed. A real process on a real SQLite file."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

from sentitui.models import FailedRecord
from sentitui.store import PageWrite, Store


def sentitui(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sentitui.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_failed_show_cuts_huge_payloads_and_escapes_binary_ones(tmp_path):
    db = tmp_path / "t.db"
    page = json.dumps([{"id": n, "text": "z" * 100} for n in range(50_000)])  # 5.8 MB
    binary = gzip.compress(b'[{"id": 1, "text": "hi"}]').decode("cp1252", errors="replace")
    store = Store(db)
    stats = store.start_run("p", "api", "cli")
    store.write_pages(
        [
            PageWrite(
                stats,
                [],
                [
                    FailedRecord(
                        "parse", "records path 'data' not found", page, {"url": "http://x/1"}
                    ),
                    FailedRecord("parse", "invalid JSON", binary, {"url": "http://x/2"}),
                ],
            )
        ]
    )
    store.close()

    huge = sentitui("failed", "show", "1", "--db", str(db), cwd=tmp_path)
    assert huge.returncode == 0
    assert len(huge.stdout) < 25_000
    assert huge.stdout.rstrip().endswith(
        f"… the payload is {len(page):,} characters, the first 20,000 are shown; "
        "`sentitui failed show 1 --json` prints it whole"
    )
    whole = json.loads(
        sentitui("failed", "show", "1", "--json", "--db", str(db), cwd=tmp_path).stdout
    )
    assert whole["payload"] == page

    shown = sentitui("failed", "show", "2", "--db", str(db), cwd=tmp_path)
    assert shown.returncode == 0
    assert "(binary, shown escaped)\n\\x1f\\u2039\\x08\\x00" in shown.stdout
