"""Runs record their owner process; a dead owner's `running` runs are closed as
`interrupted` by the next process, a live one's are left alone (issue 11 §5)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from sentitui.store import Store
from sentitui.store.owner import process_started


def insert_running(store: Store, pid: int, host: str | None = None) -> int:
    with store.transaction() as conn:
        cur = conn.execute(
            "INSERT INTO runs (pipeline, source, trigger, started_at, status, owner_host, "
            "owner_pid, owner_started) VALUES ('p', 's', 'cli', '2026-01-01T00:00:00Z', "
            "'running', ?, ?, ?)",
            (host or socket.gethostname(), pid, process_started(pid) or ""),
        )
    assert cur.lastrowid is not None
    return cur.lastrowid


def statuses(store: Store) -> dict[int, str]:
    return {r["id"]: r["status"] for r in store.rows("SELECT id, status FROM runs")}


def test_dead_owners_runs_become_interrupted_and_live_ones_stay(tmp_path):
    store = Store(tmp_path / "t.db")
    other = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        live = insert_running(store, other.pid)
        elsewhere = insert_running(store, 1, host="another-host.example")
        mine = store.start_run("p", "s", "cli").run_id
        doomed = insert_running(store, other.pid)
        assert store.close_dead_runs() == 0  # every owner is alive (or out of sight)
    finally:
        other.communicate(b"")
    assert store.close_dead_runs() == 2
    found = statuses(store)
    assert (found[live], found[doomed]) == ("interrupted", "interrupted")
    assert (found[elsewhere], found[mine]) == ("running", "running")
    [error] = [r["error"] for r in store.rows("SELECT error FROM runs WHERE id = ?", (live,))]
    assert f"pid {other.pid}" in error


def test_a_reused_pid_is_not_the_owner(tmp_path):
    store = Store(tmp_path / "t.db")
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO runs (pipeline, source, trigger, status, owner_host, owner_pid, "
            "owner_started) VALUES ('p', 's', 'cli', 'running', ?, ?, 'another-boot:1')",
            (socket.gethostname(), os.getpid()),
        )
    assert store.close_dead_runs() == 1


def test_stopping_closes_only_this_processes_runs(tmp_path):
    store = Store(tmp_path / "t.db")
    other = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        theirs = insert_running(store, other.pid)
        mine = store.start_run("p", "s", "cli").run_id
        assert store.close_open_runs("cancelled") == 1
        found = statuses(store)
    finally:
        other.communicate(b"")
    assert (found[mine], found[theirs]) == ("cancelled", "running")


def test_runs_under_a_live_lease_are_the_fleet_s_to_close(db_url):
    """On a database a fleet shares, a run without a recorded owner (a daemon of an
    older version) is left alone while a live lease covers its source: the lease
    takeover closes it once its daemon stops renewing. Without a lease it is closed."""
    from sentitui.store import fleet

    store = Store(db_url)
    ids = {}
    with store.transaction() as conn:
        for source in ("leased", "free"):
            ids[source] = conn.execute(
                "INSERT INTO runs (pipeline, source, trigger, started_at, status) "
                "VALUES ('p', ?, 'cli', '2026-01-01T00:00:00Z', 'running') RETURNING id",
                (source,),
            ).fetchone()[0]
    daemon = fleet.register(store, "another-host.example", 4242)
    assert fleet.acquire(store, daemon, "p", "leased", 600) is None
    assert store.close_dead_runs() == 1
    found = statuses(store)
    assert (found[ids["leased"]], found[ids["free"]]) == ("running", "interrupted")
    store.close()
