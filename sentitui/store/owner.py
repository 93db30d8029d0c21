"""Which process owns a run: host, pid and the process's start time.

A run left `running` by a process that was killed (SIGKILL, power loss, a full disk
that stopped it writing its end) is closed as `interrupted` by the next process to
start. The start time tells a dead owner from a new process that reuses its pid.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Owner:
    host: str
    pid: int
    started: str  # boot id + start tick on Linux; "" where the platform does not say


def process_started(pid: int) -> str | None:
    """When process `pid` started, as text that differs for a reused pid; None when no
    such process exists; "" when it exists but the platform cannot say when."""
    stat = Path(f"/proc/{pid}/stat")
    if Path("/proc/self/stat").exists():
        try:
            text = stat.read_text()
        except OSError:
            return None
        # Field 22 (starttime) counts after the command name, which may hold spaces.
        ticks = text.rsplit(")", 1)[-1].split()[19]
        return f"{boot_id()}:{ticks}"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return ""
    return ""


@lru_cache(maxsize=1)
def boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def this_process() -> Owner:
    return Owner(socket.gethostname(), os.getpid(), process_started(os.getpid()) or "")


def is_alive(owner: Owner) -> bool:
    """False only when the owner is on this host and certainly gone. Another host's
    runs are left alone: this process cannot see them."""
    if owner.host != socket.gethostname():
        return True
    started = process_started(owner.pid)
    if started is None:
        return False
    return not (owner.started and started and started != owner.started)
