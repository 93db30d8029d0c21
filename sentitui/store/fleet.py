"""A fleet of `run --watch` daemons on one database: who is alive, and who pulls what.

Each daemon has a row in `daemons` (host, pid, started, heartbeat, the sources it
holds, its published snapshot). Before a run, a daemon takes the source's lease: one
row per source in `leases`, taken with an upsert that succeeds only when the row is
free, expired, or already ours, so the database (a row lock on PostgreSQL, the write
lock on SQLite) decides when two daemons race. A daemon renews its leases with every
heartbeat; one that dies (kill -9, lost network) stops renewing and, once `expires`
has passed, another daemon takes the source over and carries on from the committed
cursor. Times are the database's clock (sql dialect `now_epoch`), never a host's.

Plain functions over a Store, like commands.py: the daemon calls them on its writer.
"""

from __future__ import annotations

import json
from typing import Any

from sentitui.processing.redact import redact_data
from sentitui.store import Store, utc_now
from sentitui.store.owner import Owner, is_alive


def _now(store: Store) -> str:
    return store.dialect.now_epoch()


def register(store: Store, host: str, pid: int) -> int:
    with store.transaction() as conn:
        row = conn.execute(
            "INSERT INTO daemons (host, pid, started_at, heartbeat, sources) "
            f"VALUES (?, ?, ?, {_now(store)}, '[]') RETURNING id",
            (host, pid, utc_now()),
        ).fetchone()
    return int(row[0])


def acquire(store: Store, daemon_id: int, pipeline: str, source: str, ttl: float) -> int | None:
    """Take (or renew) the lease of one source; returns None when it is ours now, else
    the id of the daemon that holds it. Runs its previous holder left `running` (it
    died) become `interrupted`."""
    now = _now(store)
    with store.transaction() as conn:
        before = conn.execute(
            f"SELECT daemon_id, expires < {now} FROM leases WHERE pipeline = ? AND source = ?",
            (pipeline, source),
        ).fetchone()
        if before is not None and before[0] != daemon_id and not before[1]:
            _lapse_if_dead(store, int(before[0]))
        last_run = conn.execute(
            "SELECT COALESCE(MAX(id), 0) FROM runs WHERE pipeline = ? AND source = ?",
            (pipeline, source),
        ).fetchone()[0]
        won = conn.execute(
            "INSERT INTO leases (pipeline, source, daemon_id, acquired, expires, after_run) "
            f"VALUES (?, ?, ?, {now}, {now} + ?, ?) "
            "ON CONFLICT (pipeline, source) DO UPDATE SET daemon_id = excluded.daemon_id, "
            "acquired = excluded.acquired, expires = excluded.expires, "
            "after_run = excluded.after_run "
            f"WHERE leases.daemon_id = excluded.daemon_id OR leases.expires < {now} "
            "RETURNING daemon_id",
            (pipeline, source, daemon_id, ttl, last_run),
        ).fetchone()
        if won is None:
            return int(before[0]) if before else -1
        if before is not None and before[0] != daemon_id:
            conn.execute(
                "UPDATE runs SET status = 'interrupted', ended_at = ?, "
                "error = 'its daemon stopped renewing its lease; another daemon took over' "
                "WHERE pipeline = ? AND source = ? AND status = 'running'",
                (utc_now(), pipeline, source),
            )
    return None


def _lapse_if_dead(store: Store, daemon_id: int) -> bool:
    """A holder on this host whose process is gone (kill -9) cannot renew: its leases
    lapse now rather than after the TTL (a restarted daemon resumes at once, a waiting
    command goes to another daemon). Holders on other hosts are left to the expiry.
    Inside the caller's transaction; True when the holder is gone."""
    row = store.conn.execute("SELECT host, pid FROM daemons WHERE id = ?", (daemon_id,)).fetchone()
    if row is None or is_alive(Owner(str(row[0]), int(row[1]), "")):
        return False
    store.conn.execute(
        f"UPDATE leases SET expires = {_now(store)} - 1 WHERE daemon_id = ? "
        f"AND expires >= {_now(store)}",
        (daemon_id,),
    )
    return True


def _tag_runs(store: Store, daemon_id: int, where: str = "", params: tuple[Any, ...] = ()) -> None:
    """runs.daemon_id of the runs started under our leases (only the holder starts runs
    of a leased source, so every untagged run since the lease was taken is ours)."""
    store.conn.execute(
        "UPDATE runs SET daemon_id = ? WHERE daemon_id IS NULL AND EXISTS (SELECT 1 FROM "
        "leases l WHERE l.pipeline = runs.pipeline AND l.source = runs.source "
        f"AND l.daemon_id = ? AND runs.id > l.after_run{where})",
        (daemon_id, daemon_id, *params),
    )


def release(store: Store, daemon_id: int, pipeline: str, source: str) -> None:
    with store.transaction() as conn:
        _tag_runs(store, daemon_id, " AND l.pipeline = ? AND l.source = ?", (pipeline, source))
        conn.execute(
            "DELETE FROM leases WHERE pipeline = ? AND source = ? AND daemon_id = ?",
            (pipeline, source, daemon_id),
        )


def heartbeat(
    store: Store, daemon_id: int, ttl: float, snapshot: dict[str, Any] | None = None
) -> tuple[list[tuple[str, str]], int]:
    """Renew our leases and our row; returns the sources we still hold and how many
    other daemons are alive. A lease that lapsed while nobody took it is still ours
    (taking it over rewrites its daemon_id, under the row's lock): renewed too, so a
    stall that outlived the TTL does not leave our run going without a lease."""
    now = _now(store)
    with store.transaction() as conn:
        conn.execute(f"UPDATE leases SET expires = {now} + ? WHERE daemon_id = ?", (ttl, daemon_id))
        held = [
            (r[0], r[1])
            for r in conn.execute(
                "SELECT pipeline, source FROM leases WHERE daemon_id = ? ORDER BY pipeline, source",
                (daemon_id,),
            )
        ]
        _tag_runs(store, daemon_id)
        conn.execute(
            f"UPDATE daemons SET heartbeat = {now}, sources = ?, snapshot = ? WHERE id = ?",
            (
                json.dumps([f"{p}/{s}" for p, s in held]),
                # Redacted as commands.publish does (sources' errors may quote URLs).
                json.dumps(redact_data(snapshot), ensure_ascii=False)
                if snapshot is not None
                else None,
                daemon_id,
            ),
        )
        peers = conn.execute(
            "SELECT COUNT(*) FROM daemons WHERE id <> ? AND stopped_at IS NULL "
            f"AND heartbeat > {now} - ?",
            (daemon_id, ttl),
        ).fetchone()[0]
    return held, int(peers)


def leave(store: Store, daemon_id: int) -> None:
    """A clean stop: give every lease back at once (no one waits for the expiry)."""
    with store.transaction() as conn:
        _tag_runs(store, daemon_id)
        conn.execute("DELETE FROM leases WHERE daemon_id = ?", (daemon_id,))
        conn.execute(
            "UPDATE daemons SET stopped_at = ?, sources = '[]' WHERE id = ?",
            (utc_now(), daemon_id),
        )


def close_own_runs(store: Store, daemon_id: int, status: str = "cancelled") -> int:
    """At a clean stop, end the runs this daemon left open (not the rest of the fleet's)."""
    with store.transaction() as conn:
        _tag_runs(store, daemon_id)
        cur = conn.execute(
            "UPDATE runs SET status = ?, ended_at = ? WHERE status = 'running' AND daemon_id = ?",
            (status, utc_now(), daemon_id),
        )
    return int(cur.rowcount)


def daemons(store: Store, alive_within: float) -> list[dict[str, Any]]:
    """Every daemon that has not stopped, newest first, with `alive` (a heartbeat within
    `alive_within` seconds) and `sources` as a list."""
    rows = store.rows(
        f"SELECT id, host, pid, started_at, heartbeat, sources, snapshot, "
        f"{_now(store)} - heartbeat AS silent_for FROM daemons "
        "WHERE stopped_at IS NULL ORDER BY id DESC"
    )
    for row in rows:
        row["alive"] = row["silent_for"] < alive_within
        row["sources"] = json.loads(row["sources"] or "[]")
        row["snapshot"] = json.loads(row["snapshot"]) if row["snapshot"] else None
    return rows


def holder(store: Store, pipeline: str, source: str) -> int | None:
    """The daemon whose lease on the source has not expired."""
    row = store.conn.execute(
        f"SELECT daemon_id FROM leases WHERE pipeline = ? AND source = ? AND expires >= {_now(store)}",
        (pipeline, source),
    ).fetchone()
    return int(row[0]) if row else None


def live_holder(store: Store, pipeline: str, source: str) -> int | None:
    """holder(), after letting the lease of a holder whose process is gone on this host
    lapse: the daemon that will carry out a command about the source, if one does."""
    with store.transaction():
        found = holder(store, pipeline, source)
        if found is not None and _lapse_if_dead(store, found):
            return None
    return found


def gone(store: Store, daemon_id: int, ttl: float) -> str | None:
    """Why daemon `daemon_id` will carry nothing out any more (it stopped, its process
    is gone from this host, or it has not beaten for `ttl` seconds, so its leases have
    lapsed); None while it lives."""
    row = store.conn.execute(
        f"SELECT host, pid, stopped_at, {_now(store)} - heartbeat FROM daemons WHERE id = ?",
        (daemon_id,),
    ).fetchone()
    if row is None:
        return f"daemon {daemon_id} is not in the fleet"
    name = f"daemon {daemon_id} ({row[0]}, pid {row[1]})"
    if row[2] is not None:
        return f"{name} stopped"
    if not is_alive(Owner(str(row[0]), int(row[1]), "")):
        return f"{name} died"
    if row[3] is not None and float(row[3]) > ttl:
        return f"{name} has been silent for {float(row[3]):.0f} s"
    return None


def alive(store: Store, ttl: float) -> list[int]:
    """The daemons that can still take a command: not stopped, beating within `ttl`
    seconds, and (on this host) with their process still there."""
    return [
        int(d["id"])
        for d in daemons(store, ttl)
        if d["alive"] and is_alive(Owner(str(d["host"]), int(d["pid"]), ""))
    ]


def name(store: Store, daemon_id: int) -> str:
    """`daemon 3 (host, pid 1234)`, for messages."""
    row = store.conn.execute("SELECT host, pid FROM daemons WHERE id = ?", (daemon_id,)).fetchone()
    return f"daemon {daemon_id} ({row[0]}, pid {row[1]})" if row else f"daemon {daemon_id}"


def last_holder(store: Store, pipeline: str, source: str) -> int | None:
    """The daemon of the source's lease row, lapsed or not (a dead holder's stays)."""
    row = store.conn.execute(
        "SELECT daemon_id FROM leases WHERE pipeline = ? AND source = ?", (pipeline, source)
    ).fetchone()
    return int(row[0]) if row else None
