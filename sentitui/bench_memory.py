"""Memory while ingesting: the peak resident memory of `sentitui run --once` over a file
drop of 100k records and of 1M, each run in a process of its own. Memory that grows
with the number of posts shows as the difference between the two; a flat pipeline
(bounded queues, pages written as they come) keeps them close.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["MEMORY_SIZES", "QUICK_MEMORY_SIZES", "format_memory", "run_memory"]

MEMORY_SIZES = (100_000, 1_000_000)
QUICK_MEMORY_SIZES = (1_000, 5_000)

_PIPELINE = """\
[pipeline]
name = "memory"

[[source]]
name = "drop"
kind = "file"
path = {path}
format = "jsonl"
[source.fields]
id = "id"
text = "body"
author = "user"
created_at = "ts"
segments = {{ region = "region" }}
"""


def run_memory(sizes: tuple[int, ...], tmp: Path) -> list[dict[str, Any]]:
    """Per size: records, posts stored, seconds, posts/s and the peak RSS (MB) of the
    run's largest process (the main one or a scoring worker: Linux reports the largest
    of a process and the children it waited for)."""
    from sentitui.bench import write_records

    figures = []
    for size in sizes:
        folder = tmp / f"memory-{size}"
        (folder / "pipelines").mkdir(parents=True)
        data = folder / "records.jsonl"
        write_records(data, size)
        (folder / "pipelines" / "memory.toml").write_text(
            _PIPELINE.format(path=json.dumps(str(data))), encoding="utf-8"
        )
        db = folder / "memory.db"
        command = [sys.executable, "-m", "sentitui.cli", "run", "--once"]
        command += ["--pipelines", str(folder / "pipelines"), "--db", str(db)]
        with (folder / "stderr.txt").open("wb") as errors:
            started = time.perf_counter()
            process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors)
            _, status, usage = os.wait4(process.pid, 0)
            seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        with sqlite3.connect(db) as conn:
            stored = conn.execute("SELECT COUNT(*) FROM posts").fetchone()[0]
        figures.append(
            {
                "records": size,
                "stored": stored,
                "exit": process.returncode,
                "seconds": round(seconds, 1),
                "posts_per_s": round(stored / seconds, 1),
                "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            }
        )
        data.unlink()  # 1M records are ~150 MB
        db.unlink()
    return figures


def format_memory(rows: list[dict[str, Any]]) -> list[str]:
    return [
        f"memory   {row['peak_rss_mb']:>9} MB peak RSS  `run --once` over {row['records']:,} "
        f"records ({row['stored']:,} stored, exit {row['exit']}, {row['posts_per_s']} posts/s)"
        for row in rows
    ]
