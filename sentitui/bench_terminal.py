"""Key press to redrawn screen, measured the way a person sees it: the console runs in a
real terminal (tmux) on the bench database, a key is sent, and the pane is read until
it changes. Pilot's own timing waits until the whole process is idle, queries in
worker threads included, so it measures the data behind a key rather than the redraw.

Needs tmux (Debian's `tmux`); without it the figures say why they are missing.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

__all__ = ["KEYS", "terminal_keys"]

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
READY = "avg polarity"  # in the dashboard's headline figures once its data is drawn


class _Pane:
    def __init__(self, command: list[str], size: tuple[int, int]) -> None:
        self.name = f"sentitui-bench-{uuid.uuid4().hex[:8]}"
        width, height = size
        subprocess.run(
            ["tmux", "new-session", "-d", "-s", self.name, "-x", str(width), "-y", str(height)]
            + [subprocess.list2cmdline(command)],
            check=True,
        )

    def text(self) -> str:
        return subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", self.name],
            capture_output=True,
            text=True,
            check=False,
        ).stdout

    def send(self, key: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, key], check=True)

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

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True, check=False)


def terminal_keys(db: Path | str, size: tuple[int, int] = (120, 40)) -> dict[str, Any]:
    """Seconds from start to a drawn dashboard and, per key, milliseconds until the
    terminal shows its answer (the first change of the pane after the key)."""
    if shutil.which("tmux") is None:
        return {"error": "tmux is not installed (Debian's tmux): no terminal figures"}
    with tempfile.TemporaryDirectory(prefix="sentitui-keys-") as folder:
        command = [
            sys.executable,
            "-m",
            "sentitui.cli",
            "tui",
            "--db",
            str(db),
            "--pipelines",
            folder,  # no pipelines: the console reads, nothing is pulled
        ]
        started = time.perf_counter()
        pane = _Pane(command, size)
        try:
            while READY not in pane.text():
                if time.perf_counter() - started > 120:
                    return {"error": "the console drew no dashboard within 120 s"}
                time.sleep(POLL)
            first = time.perf_counter() - started
            latencies: list[float] = []
            for key in KEYS:
                before = pane.settle()
                sent = time.perf_counter()
                pane.send(key)
                while pane.text() == before and time.perf_counter() - sent < 10:
                    time.sleep(POLL)
                latencies.append(time.perf_counter() - sent)
        finally:
            pane.close()
    ordered = sorted(latencies)
    return {
        "size": f"{size[0]}x{size[1]}",
        "first_dashboard_s": round(first, 3),
        "keys": len(KEYS),
        "key_redraw_median_ms": round(ordered[len(ordered) // 2] * 1000, 1),
        "key_redraw_p90_ms": round(ordered[int(0.9 * len(ordered))] * 1000, 1),
        "key_redraw_max_ms": round(ordered[-1] * 1000, 1),
    }
