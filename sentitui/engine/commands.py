"""The link between an attached console and the daemon, through the database.

An attached console (`sentitui tui --attach`) cannot call the daemon's engine, so it
writes a row to `commands`; the daemon claims pending rows (on PostgreSQL when a
NOTIFY says the table changed, on SQLite every half second), carries them out and
marks each `done` or `failed` with a readable outcome. In a fleet the claim names the
daemon (`commands.daemon_id`): one waiting on a command can tell when the daemon that
should carry it out is gone (`orphaned`) and take the command back. The
daemon in turn publishes what only it knows: its log lines and config reports
(the `events` table) and a snapshot of its sources' states (meta key `daemon`).

Plain functions over a `Store`: the daemon calls them on its writer thread, the
attached console on its own connection.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sentitui.processing.redact import redact, redact_data
from sentitui.store import Store, fleet, iso, utc_now

ACTIONS = ("pull", "pull_pipeline", "pull_all", "retry", "ignore", "pause", "resume", "cancel")
COMMAND_TTL = 60.0  # seconds: a command nobody picked up by then is stale, not run late
DAEMON_KEY = "daemon"  # meta key of the daemon's published snapshot
KEEP_EVENTS = 5000
FLEET_STALE = 10.0  # seconds behind the newest heartbeat before a daemon's snapshot is left out


@dataclass(slots=True)
class Command:
    id: int
    action: str
    pipeline: str | None = None
    source: str | None = None
    args: dict[str, Any] | None = None
    status: str = "pending"  # pending | running | done | failed
    outcome: str | None = None
    result: dict[str, Any] | None = None
    daemon_id: int | None = None  # the daemon that claimed it

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Command:
        return cls(
            id=row["id"],
            action=row["action"],
            pipeline=row["pipeline"],
            source=row["source"],
            args=json.loads(row["args"] or "{}"),
            status=row["status"],
            outcome=row["outcome"],
            result=json.loads(row["result"]) if row["result"] else None,
            daemon_id=row.get("daemon_id"),
        )


def submit(
    store: Store, action: str, pipeline: str | None = None, source: str | None = None, **args: Any
) -> int:
    """Queue a command for the daemon; returns its id."""
    if action not in ACTIONS:
        raise ValueError(f"unknown command {action!r} (known: {', '.join(ACTIONS)})")
    with store.transaction() as conn:
        row = conn.execute(
            "INSERT INTO commands (created_at, action, pipeline, source, args, status) "
            "VALUES (?, ?, ?, ?, ?, 'pending') RETURNING id",
            (utc_now(), action, pipeline, source, json.dumps(args)),
        ).fetchone()
    return int(row[0])


def get(store: Store, command_id: int) -> Command | None:
    rows = store.rows("SELECT * FROM commands WHERE id = ?", (command_id,))
    return Command.from_row(rows[0]) if rows else None


def claim(store: Store, now: float | None = None, daemon_id: int = 0) -> list[Command]:
    """Mark pending commands running and return them; expire the stale ones. In a fleet
    a command about a source another daemon holds is left to that daemon, and two
    daemons claiming at once never take the same row (SKIP LOCKED on PostgreSQL)."""
    cutoff = iso((now or time.time()) - COMMAND_TTL)
    # An UPDATE is sent only when it will change a row: on PostgreSQL every statement
    # that updates `commands` NOTIFYs the fleet, and daemons woken by each other's
    # empty claims would never sleep.
    with store.transaction() as conn:
        stale = conn.execute(
            "SELECT 1 FROM commands WHERE status = 'pending' AND created_at < ? LIMIT 1",
            (cutoff,),
        ).fetchone()
        if stale is not None:
            conn.execute(
                "UPDATE commands SET status = 'failed', done_at = ?, outcome = ? "
                "WHERE status = 'pending' AND created_at < ?",
                (utc_now(), f"expired: no daemon picked it up within {COMMAND_TTL:.0f} s", cutoff),
            )
        ids = [
            row[0]
            for row in conn.execute(
                "SELECT c.id FROM commands c WHERE c.status = 'pending' AND NOT EXISTS ("
                "SELECT 1 FROM leases l WHERE l.pipeline = c.pipeline AND l.source = c.source "
                f"AND l.daemon_id <> ? AND l.expires >= {store.dialect.now_epoch()})"
                f"{store.dialect.skip_locked}",
                (daemon_id,),
            ).fetchall()
        ]
        if not ids:
            return []
        marks = ", ".join("?" * len(ids))
        rows = store.rows(
            f"UPDATE commands SET status = 'running', daemon_id = ? WHERE id IN ({marks}) "
            "RETURNING *",
            (daemon_id or None, *ids),
        )
    return sorted((Command.from_row(row) for row in rows), key=lambda c: c.id)


def finish(
    store: Store, command_id: int, ok: bool, outcome: str, result: dict[str, Any] | None = None
) -> None:
    with store.transaction() as conn:
        conn.execute(
            "UPDATE commands SET status = ?, outcome = ?, result = ?, done_at = ? WHERE id = ?",
            (
                "done" if ok else "failed",
                redact(outcome),
                json.dumps(redact_data(result)) if result is not None else None,
                utc_now(),
                command_id,
            ),
        )


def fail_open(store: Store, outcome: str, daemon_id: int = 0, pending_too: bool = True) -> int:
    """At a daemon's stop: fail the commands it claimed and did not finish, and with
    `pending_too` (no other daemon is alive to take them) the ones still pending. The
    rest of a fleet's commands are left to the rest of the fleet."""
    with store.transaction() as conn:
        cur = conn.execute(
            "UPDATE commands SET status = 'failed', outcome = ?, done_at = ? "
            "WHERE (status = 'running' AND (daemon_id = ? OR daemon_id IS NULL))"
            + (" OR status = 'pending'" if pending_too else ""),
            (outcome, utc_now(), daemon_id),
        )
    return int(cur.rowcount)


# ---- events and the daemon's snapshot ---------------------------------------------------


def append_events(store: Store, events: list[dict[str, Any]]) -> None:
    """events: dicts with at, kind, level, pipeline, source, message, data (JSON-able)."""
    if not events:
        return
    with store.transaction() as conn:
        conn.executemany(
            "INSERT INTO events (at, kind, level, pipeline, source, message, data) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    e["at"],
                    e["kind"],
                    e.get("level"),
                    e.get("pipeline"),
                    e.get("source"),
                    redact(e.get("message")),
                    json.dumps(redact_data(e.get("data"))) if e.get("data") is not None else None,
                )
                for e in events
            ],
        )
        conn.execute(
            "DELETE FROM events WHERE id <= (SELECT MAX(id) FROM events) - ?", (KEEP_EVENTS,)
        )


def events_after(store: Store, last_id: int, limit: int = 500) -> list[dict[str, Any]]:
    rows = store.rows("SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?", (last_id, limit))
    for row in rows:
        row["data"] = json.loads(row["data"]) if row["data"] else None
    return rows


def last_event_id(store: Store) -> int:
    return int(store.conn.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0])


def publish(store: Store, snapshot: dict[str, Any], daemon_id: int = 0) -> None:
    """Each daemon of a fleet publishes under a key of its own (`daemon:<id>`)."""
    key = f"{DAEMON_KEY}:{daemon_id}" if daemon_id else DAEMON_KEY
    with store.transaction():
        store.set_meta(key, json.dumps(redact_data(snapshot), ensure_ascii=False))


STATE_RANK = {"running": 4, "backing_off": 3, "failed": 2, "paused": 1}  # busiest wins


def snapshot(store: Store, stale_after: float = FLEET_STALE) -> dict[str, Any] | None:
    """The daemon's snapshot; with several daemons, one merged from the live ones: a
    source shows the busiest state any daemon reports for it, its soonest next run."""
    snaps = [
        json.loads(r["value"])
        for r in store.rows(
            "SELECT value FROM meta WHERE key = ? OR key LIKE ?", (DAEMON_KEY, DAEMON_KEY + ":%")
        )
        if r["value"]
    ]
    if len(snaps) <= 1:
        return snaps[0] if snaps else None
    newest = max(snaps, key=lambda s: s.get("heartbeat", 0))
    live = [
        s
        for s in snaps
        if not s.get("stopped") and newest.get("heartbeat", 0) - s.get("heartbeat", 0) < stale_after
    ]
    states: dict[tuple[str, str], dict[str, Any]] = {}
    for snap in live:
        for state in snap.get("states", []):
            key = (state["pipeline"], state["source"])
            best = states.setdefault(key, state)
            if STATE_RANK.get(state.get("status", ""), 0) > STATE_RANK.get(
                best.get("status", ""), 0
            ):
                states[key] = best = {**state, "next_run": best.get("next_run")}
            runs = [x for x in (best.get("next_run"), state.get("next_run")) if x is not None]
            best["next_run"] = min(runs) if runs else None
    return {**newest, "states": list(states.values()), "pids": [s["pid"] for s in live]}


def abandon(store: Store, command_id: int, outcome: str, claimed_by: int | None = None) -> bool:
    """Fail a command nobody claimed (no daemon; the waiter gave up); or with
    `claimed_by`, one that daemon claimed and will never finish (it died). False when
    the command moved on meanwhile (claimed, finished): then it is not ours to fail."""
    where = "status = 'pending'" if claimed_by is None else "status = 'running' AND daemon_id = ?"
    with store.transaction() as conn:
        cur = conn.execute(
            f"UPDATE commands SET status = 'failed', outcome = ?, done_at = ? WHERE id = ? AND {where}",
            (outcome, utc_now(), command_id, *(() if claimed_by is None else (claimed_by,))),
        )
    return bool(cur.rowcount == 1)


def orphaned(store: Store, command: Command, ttl: float) -> str | None:
    """Why no daemon will carry out `command`, else None: the daemon that claimed it is
    gone (died, stopped, or silent past `ttl`), or it is pending, the holder of its
    source is gone and no daemon is left. While others live, a dead holder's leases
    lapse now (fleet.live_holder) and the next daemon claims the command."""
    if command.status == "running" and command.daemon_id:
        reason = fleet.gone(store, command.daemon_id, ttl)
        return f"{reason} while carrying it out" if reason else None
    if command.status == "pending" and command.pipeline and command.source:
        last = fleet.last_holder(store, command.pipeline, command.source)
        reason = fleet.gone(store, last, ttl) if last is not None else None
        if reason is not None:
            fleet.live_holder(store, command.pipeline, command.source)  # lapse it now
            if not fleet.alive(store, ttl):
                return f"{reason} before taking it; no daemon is left"
    return None


def whereabouts(store: Store, command: Command) -> str:
    """Who has a command that is not finished, for a message."""
    if command.status == "running" and command.daemon_id:
        return f"running on {fleet.name(store, command.daemon_id)}"
    holder = (
        fleet.holder(store, command.pipeline, command.source)
        if command.pipeline and command.source
        else None
    )
    return f"waiting for {fleet.name(store, holder)}" if holder else "waiting for a daemon"
