"""Key press to redrawn screen, measured the way a person sees it: the console runs in a
real terminal (tmux), a key is sent, and the pane is read until it shows the answer.
Pilot's own timing waits until the whole process is idle, queries in worker threads
included, so it measures the data behind a key rather than the redraw.

Two cases: idle, on the bench database (the answer is the pane's first change), and
while ingesting, the console's own engine pulling the bench API into a new database
with both cores busy (the pane changes by itself, so the answer is the text the key
brings: the screen's key bar, or the chart's next window).

Needs tmux (Debian's `tmux`); without it the figures say why they are missing.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import closing
from pathlib import Path
from typing import Any

__all__ = ["KEYS", "terminal_keys", "terminal_keys_ingesting"]

# Window changes, and every screen in turn and back, as a user browses.
KEYS = tuple(
    [
        "w",
        "w",
        "w",
        "5",
        "1",
        "2",
        "3",
        "4",
        "1",
        "w",
        "5",
        "1",
        "2",
        "1",
        "w",
        "w",
        "3",
        "1",
        "4",
        "1",
    ]
)
POLL = 0.003  # seconds between two reads of the pane
QUIET = 0.4  # the pane unchanged this long: the previous key is fully answered
FIRST_STARTS = 5  # starts timed to the first dashboard; the keys are sent in the last
READY = "avg polarity"  # in the dashboard's headline figures once its data is drawn
PACE = 0.3  # while ingesting: seconds from one answer to the next key, as a person browses
INGESTING_RECORDS = 150_000  # the API's records: the pull outlasts the 20 keys
# What each key's answer shows while the pane keeps changing: the screen's key bar.
SCREEN_MARKS = {
    "1": "w Window",
    "2": "p Pull",
    "3": "r Retry",
    "4": "f Pause/follow",
    "5": "/ Search",
    "6": "Triggering posts",
}
_WINDOW = re.compile(r"over time · (\w+) ·")


class _Pane:
    """The console in a tmux session on a tmux server of its own (`-S`, its socket in
    a folder of its own): closing a pane ends its server, and another pane, started
    next or meanwhile by another test, must not meet a server still exiting ("server
    exited unexpectedly")."""

    def __init__(self, command: list[str], size: tuple[int, int]) -> None:
        self.name = f"sentitui-bench-{uuid.uuid4().hex[:8]}"
        self.folder = tempfile.TemporaryDirectory(prefix="sentitui-tmux-")
        self.socket = str(Path(self.folder.name) / "socket")
        width, height = size
        self.tmux(
            ["new-session", "-d", "-s", self.name, "-x", str(width), "-y", str(height)]
            + [subprocess.list2cmdline(command)],
            check=True,
        )

    def tmux(self, args: list[str], check: bool = False) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["tmux", "-S", self.socket, *args], capture_output=True, text=True, check=check
        )

    def text(self) -> str:
        return self.tmux(["capture-pane", "-p", "-t", self.name]).stdout

    def send(self, key: str) -> None:
        self.tmux(["send-keys", "-t", self.name, key], check=True)

    def settle(self, timeout: float = 30.0) -> str:
        """The pane's text once it stayed the same for QUIET seconds."""
        last, changed, started = self.text(), time.perf_counter(), time.perf_counter()
        while time.perf_counter() - started < timeout:
            time.sleep(0.02)
            now = self.text()
            if now != last:
                last, changed = now, time.perf_counter()
            elif time.perf_counter() - changed >= QUIET:
                break
        return last

    def wait_for(self, text: str, timeout: float = 120) -> bool:
        """Whether the pane showed `text` within `timeout` seconds."""
        started = time.perf_counter()
        while text not in self.text():
            if time.perf_counter() - started > timeout:
                return False
            time.sleep(POLL)
        return True

    def close(self) -> None:
        self.tmux(["kill-server"])
        self.folder.cleanup()


def _console(db: Path | str, pipelines: str) -> list[str]:
    return [sys.executable, "-m", "sentitui.cli", "tui", "--db", str(db), "--pipelines", pipelines]


def _figures(latencies: list[float]) -> dict[str, Any]:
    from sentitui.bench import percentile

    return {
        "keys": len(latencies),
        "key_redraw_median_ms": round(percentile(latencies, 0.5) * 1000, 1),
        "key_redraw_p90_ms": round(percentile(latencies, 0.9) * 1000, 1),
        "key_redraw_max_ms": round(max(latencies) * 1000, 1),
    }


def terminal_keys(db: Path | str, size: tuple[int, int] = (120, 40)) -> dict[str, Any]:
    """Seconds from start to a drawn dashboard, the median of FIRST_STARTS starts (on a
    2-core VM one start varies by 0.3 s), and, per key in the last start, milliseconds
    until the terminal shows its answer (the first change of the pane after the key)."""
    if shutil.which("tmux") is None:
        return {"error": "tmux is not installed (Debian's tmux): no terminal figures"}
    from sentitui.bench import percentile

    firsts: list[float] = []
    latencies: list[float] = []
    with tempfile.TemporaryDirectory(prefix="sentitui-keys-") as folder:
        for start in range(FIRST_STARTS):
            started = time.perf_counter()
            pane = _Pane(_console(db, folder), size)  # no pipelines: the console reads
            try:
                if not pane.wait_for(READY):
                    return {"error": "the console drew no dashboard within 120 s"}
                firsts.append(time.perf_counter() - started)
                if start < FIRST_STARTS - 1:
                    continue
                for key in KEYS:
                    before = pane.settle()
                    sent = time.perf_counter()
                    pane.send(key)
                    while pane.text() == before and time.perf_counter() - sent < 10:
                        time.sleep(POLL)
                    latencies.append(time.perf_counter() - sent)
            finally:
                pane.close()
    return {
        "size": f"{size[0]}x{size[1]}",
        "first_dashboard_s": round(percentile(firsts, 0.5), 3),
        "first_dashboard_max_s": round(max(firsts), 3),
        "first_dashboard_starts": [round(first, 3) for first in firsts],
    } | _figures(latencies)


def _mark(key: str, text: str) -> str:
    """The text the pane shows once `key` is answered, given what it shows now."""
    if key != "w":
        return SCREEN_MARKS[key]
    from sentitui.tui.queries import WINDOWS

    now = _WINDOW.search(text)
    window = now.group(1) if now else WINDOWS[0]
    return f"over time · {WINDOWS[(WINDOWS.index(window) + 1) % len(WINDOWS)]} ·"


def _stored(db: Path) -> int:
    try:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM posts").fetchone()[0])
    except sqlite3.Error:
        return 0


def terminal_keys_ingesting(
    records: int = INGESTING_RECORDS, size: tuple[int, int] = (120, 40)
) -> dict[str, Any]:
    """Per key, milliseconds until the terminal shows its answer while the console's
    engine pulls `records` posts from the bench API (Pipelines, `a`: pull all) into a
    new database, and how many posts were stored meanwhile (the pull must outlast the
    keys for the figure to count: `ingesting_throughout`)."""
    from sentitui.bench import ServerProcess, _pipeline
    from sentitui.bench_e2e import api_source

    if shutil.which("tmux") is None:
        return {"error": "tmux is not installed (Debian's tmux): no terminal figures"}
    api = ServerProcess("serve-api", "--records", str(records))
    try:
        with tempfile.TemporaryDirectory(prefix="sentitui-keys-") as folder:
            tmp = Path(folder)
            (tmp / "pipelines").mkdir()
            _pipeline(tmp / "pipelines", "launch", api_source(api.url + "/api/posts"))
            db = tmp / "ingesting.db"
            pane = _Pane(_console(db, str(tmp / "pipelines")), size)
            try:
                if not pane.wait_for(SCREEN_MARKS["1"]):
                    return {"error": "the console drew no dashboard within 120 s"}
                pane.send("2")
                if not pane.wait_for(SCREEN_MARKS["2"]):
                    return {"error": "the console showed no Pipelines screen"}
                pane.send("a")  # pull all
                started = time.perf_counter()
                while _stored(db) == 0 and time.perf_counter() - started < 60:
                    time.sleep(0.1)
                stored_before = _stored(db)
                latencies: list[float] = []
                for key in ("1", *KEYS):
                    mark = _mark(key, pane.text())
                    sent = time.perf_counter()
                    pane.send(key)
                    if not pane.wait_for(mark, timeout=10):
                        return {"error": f"key {key!r}: the pane never showed {mark!r}"}
                    latencies.append(time.perf_counter() - sent)
                    time.sleep(PACE)
                stored_after = _stored(db)
            finally:
                pane.close()
    finally:
        api.close()
    return {
        "size": f"{size[0]}x{size[1]}",
        "records": records,
        "stored_during_keys": stored_after - stored_before,
        "ingesting_throughout": stored_after < records,
    } | _figures(latencies[1:])  # the first key only brings the dashboard back
