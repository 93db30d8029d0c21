"""Is a `sentitui run --watch` daemon alive on this database? Read from its heartbeat.

The daemon publishes a snapshot (pid, host, heartbeat time, `stopped` when it ends)
every couple of seconds. A daemon is alive when its snapshot is not marked stopped,
its heartbeat is recent, and, on the same host, its process still exists: a daemon
killed with SIGKILL cannot say it stopped, but its pid is gone at once. A daemon on
another host (sharing the file) is judged by its heartbeat alone.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sentitui.engine import commands
from sentitui.store import Store

DAEMON_TIMEOUT = 10.0  # seconds without a heartbeat before a daemon counts as gone


@dataclass(frozen=True, slots=True)
class DaemonLife:
    alive: bool
    pid: int | None = None
    age: float | None = None  # seconds since its last heartbeat; None: never ran here

    def describe(self) -> str:
        """A few words for a header: "daemon 812 alive, beat 1s ago" / "no daemon"."""
        if self.alive:
            return f"daemon {self.pid} alive, beat {ago(self.age or 0.0)} ago"
        if self.age is None:
            return "no daemon has run on this database"
        return f"no daemon running (last beat {ago(self.age)} ago)"


def ago(seconds: float) -> str:
    seconds = max(int(seconds), 0)
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):  # exists but not ours, or no way to tell
        return True
    return True


def daemon_life(
    snapshot: dict[str, Any] | None, now: float | None = None, timeout: float = DAEMON_TIMEOUT
) -> DaemonLife:
    """What a published snapshot says about its daemon now."""
    if not snapshot:
        return DaemonLife(False)
    now = time.time() if now is None else now
    pid = snapshot.get("pid")
    beat = snapshot.get("heartbeat")
    age = now - beat if isinstance(beat, int | float) else None
    here = snapshot.get("host") == socket.gethostname()
    alive = (
        not snapshot.get("stopped")
        and age is not None
        and age < timeout
        and isinstance(pid, int)
        and (not here or process_exists(pid))
    )
    return DaemonLife(bool(alive), pid if isinstance(pid, int) else None, age)


def read_daemon_life(db_path: str | Path, timeout: float = DAEMON_TIMEOUT) -> DaemonLife:
    """Read the snapshot from an existing database (none there: no daemon)."""
    if not Path(db_path).is_file():
        return DaemonLife(False)
    store = Store(db_path, migrate=False)
    try:
        return daemon_life(commands.snapshot(store), timeout=timeout)
    except Exception:  # an old or foreign database without the meta table: no daemon
        return DaemonLife(False)
    finally:
        store.close()
