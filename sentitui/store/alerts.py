"""Alert rules against the stored posts and runs, and the `alerts` table that keeps
each rule's state (`ok` -> `firing` -> `resolved`) across restarts.

`check(store, rules, now)` measures every rule, stores what changed in one
transaction and returns the transitions (fired, resolved) that are due a
notification: a rule that keeps firing is not returned again, and neither is one a
previous process already fired, so a restart never re-sends an alert.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from sentitui.config.alerts import AlertRule
from sentitui.processing.redact import safe_line

if TYPE_CHECKING:
    from sentitui.store import Store

AlertState = Literal["ok", "firing", "resolved"]
SHOWN_POSTS = 3  # most negative and newest triggering posts kept with an alert
DAY = 86400.0


@dataclass(slots=True)
class Finding:
    firing: bool
    value: float | None
    detail: str
    posts: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class Transition:
    """A rule that just fired or resolved; notifications are sent for these."""

    rule: AlertRule
    state: AlertState
    detail: str
    posts: list[dict[str, Any]]


def stamp(ts: float) -> str:
    """The timestamp format of posts.created_at and runs.started_at (string-comparable)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _scope(rule: AlertRule, start: float, end: float) -> tuple[str, list[Any]]:
    where = "pipeline = ? AND created_at >= ? AND created_at <= ?"
    params: list[Any] = [rule.pipeline, stamp(start), stamp(end)]
    if rule.source:
        where += " AND source = ?"
        params.append(rule.source)
    return where, params


def _posts(store: Store, where: str, params: list[Any]) -> list[dict[str, Any]]:
    """The most negative and the newest posts matching `where`, each once."""
    columns = "id, source, external_id, url, text, polarity, label, created_at"
    worst = store.rows(
        f"SELECT {columns} FROM posts WHERE {where} AND polarity IS NOT NULL "
        f"ORDER BY polarity ASC, created_at DESC LIMIT {SHOWN_POSTS}",
        params,
    )
    newest = store.rows(
        f"SELECT {columns} FROM posts WHERE {where} ORDER BY created_at DESC, id DESC "
        f"LIMIT {SHOWN_POSTS}",
        params,
    )
    out, seen = [], set()
    for why, group in (("most negative", worst), ("newest", newest)):
        for row in group:
            if row["id"] not in seen:
                seen.add(row["id"])
                out.append({**row, "why": why, "text": str(row["text"] or "")[:500]})
    return out


def measure(store: Store, rule: AlertRule, now: float) -> Finding:
    """Whether the rule's condition holds at `now`, with the value and posts behind it."""
    if rule.kind == "source_failing":
        return _source_failing(store, rule, now)
    where, params = _scope(rule, now - rule.window, now)
    if rule.kind == "negative_share":
        total, negative = store.conn.execute(
            f"SELECT COUNT(*), COALESCE(SUM(label = 'negative'), 0) FROM posts "
            f"WHERE {where} AND label != 'unscored'",
            params,
        ).fetchone()
        share = negative / total if total else 0.0
        firing = total >= rule.min_posts and share > rule.above
        detail = f"{share:.0%} negative of {total} posts in the last window"
        posts = _posts(store, where + " AND label = 'negative'", params) if firing else []
        return Finding(firing, round(share, 4), detail, posts)
    if rule.kind == "share_of_voice":
        total = store.conn.execute(f"SELECT COUNT(*) FROM posts WHERE {where}", params).fetchone()[
            0
        ]
        mention = f"{where} AND EXISTS (SELECT 1 FROM json_each(posts.competitors) WHERE value = ?)"
        mentions = store.conn.execute(
            f"SELECT COUNT(*) FROM posts WHERE {mention}", [*params, rule.competitor]
        ).fetchone()[0]
        share = mentions / total if total else 0.0
        firing = total >= rule.min_posts and share > rule.above
        detail = f"{rule.competitor} named in {share:.0%} of {total} posts"
        posts = _posts(store, mention, [*params, rule.competitor]) if firing else []
        return Finding(firing, round(share, 4), detail, posts)
    # volume_spike: this window against the same clock hours of the previous days
    count = store.conn.execute(f"SELECT COUNT(*) FROM posts WHERE {where}", params).fetchone()[0]
    oldest = epoch(
        store.conn.execute(
            "SELECT MIN(created_at) FROM posts WHERE pipeline = ?", [rule.pipeline]
        ).fetchone()[0]
    )
    history_days = int((now - oldest) // DAY) if oldest is not None else 0
    days = min(rule.baseline_days, history_days)
    if days < 1:
        return Finding(False, None, f"{count} posts; no full day of history for a baseline yet")
    before = []
    for day in range(1, days + 1):
        w, p = _scope(rule, now - day * DAY - rule.window, now - day * DAY)
        before.append(store.conn.execute(f"SELECT COUNT(*) FROM posts WHERE {w}", p).fetchone()[0])
    baseline = sum(before) / days
    ratio = count / baseline if baseline else float(count)
    firing = count >= rule.min_posts and count >= rule.factor * max(baseline, 1.0)
    detail = f"{count} posts against a baseline of {baseline:.1f} ({ratio:.1f}×)"
    return Finding(firing, round(ratio, 2), detail, _posts(store, where, params) if firing else [])


def _source_failing(store: Store, rule: AlertRule, now: float) -> Finding:
    """Fires when the source's runs have all failed since a streak that began at least
    `failing_for` ago. A run still going counts as healthy once it has fetched
    something (a stream that reconnected and delivers), else it is not counted."""
    runs = store.rows(
        "SELECT status, started_at, error, fetched FROM runs WHERE pipeline = ? AND source = ? "
        "ORDER BY id DESC LIMIT 500",
        [rule.pipeline, rule.source],
    )
    streak = []
    for run in runs:
        if run["status"] == "running" and not run["fetched"]:
            continue
        if run["status"] != "failed":
            break
        streak.append(run)
    if not streak:
        return Finding(False, 0.0, "its last run did not fail")
    since = epoch(streak[-1]["started_at"]) or now
    failing = now - since
    error = " ".join(str(streak[0]["error"] or "").split())[:200]
    detail = f"{len(streak)} failed run(s) since {stamp(since)}: {error}"
    return Finding(failing >= rule.failing_for, round(failing, 1), detail)


def check(
    store: Store, rules: Iterable[AlertRule], now: float, pipelines: Iterable[str] = ()
) -> list[Transition]:
    """Measure every enabled rule, store states, return the fired/resolved ones.
    Stored alerts of `pipelines` whose rule is gone (removed or disabled) are dropped,
    so a deleted rule cannot keep `stats --check` failing."""
    rules = list(rules)
    findings = [(rule, measure(store, rule, now)) for rule in rules if rule.enabled]
    transitions: list[Transition] = []
    at = stamp(now)
    with store.transaction() as conn:
        kept = {(rule.pipeline, rule.name) for rule, _ in findings}
        for pipeline in set(pipelines) | {rule.pipeline for rule in rules}:
            for (name,) in conn.execute(
                "SELECT name FROM alerts WHERE pipeline = ?", (pipeline,)
            ).fetchall():
                if (pipeline, name) not in kept:
                    conn.execute(
                        "DELETE FROM alerts WHERE pipeline = ? AND name = ?", (pipeline, name)
                    )
        for rule, found in findings:
            row = conn.execute(
                "SELECT state FROM alerts WHERE pipeline = ? AND name = ?",
                (rule.pipeline, rule.name),
            ).fetchone()
            old: str = row[0] if row else "ok"
            if found.firing and old != "firing":
                new: AlertState = "firing"
            elif not found.firing and old == "firing":
                new = "resolved"
            else:
                new = old  # type: ignore[assignment]
            posts = json.dumps(found.posts, ensure_ascii=False) if found.firing else None
            conn.execute(
                "INSERT INTO alerts (pipeline, name, kind, state, value, detail, posts, "
                "fired_at, resolved_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?) "
                "ON CONFLICT(pipeline, name) DO UPDATE SET kind = excluded.kind, "
                "state = excluded.state, value = excluded.value, detail = excluded.detail, "
                "posts = COALESCE(excluded.posts, alerts.posts), updated_at = excluded.updated_at",
                (
                    rule.pipeline,
                    rule.name,
                    rule.kind,
                    new,
                    found.value,
                    found.detail,
                    posts,
                    at if new == "firing" else None,
                    at,
                ),
            )
            if new != old:
                if new == "firing":
                    conn.execute(
                        "UPDATE alerts SET fired_at = ?, resolved_at = NULL, "
                        "delivery_error = NULL WHERE pipeline = ? AND name = ?",
                        (at, rule.pipeline, rule.name),
                    )
                else:
                    conn.execute(
                        "UPDATE alerts SET resolved_at = ? WHERE pipeline = ? AND name = ?",
                        (at, rule.pipeline, rule.name),
                    )
                transitions.append(Transition(rule, new, found.detail, found.posts))
    return transitions


def record_delivery(store: Store, pipeline: str, name: str, error: str | None) -> None:
    """How the last notification of an alert went (error None: delivered)."""
    with store.transaction() as conn:
        conn.execute(
            "UPDATE alerts SET notified_at = ?, delivery_error = ? WHERE pipeline = ? AND name = ?",
            # Stored errors pass safe_line, as runs' and failed records' do: a webhook's
            # answer may echo its URL (a secret) or carry escapes.
            (
                stamp(datetime.now(UTC).timestamp()),
                safe_line(error) if error else None,
                pipeline,
                name,
            ),
        )


def alert_rows(store: Store) -> list[dict[str, Any]]:
    """Every stored alert, firing first, with its triggering posts decoded."""
    try:
        rows = store.rows(
            "SELECT * FROM alerts ORDER BY state = 'firing' DESC, pipeline, name",
        )
    except Exception:  # a database from before alerts existed (read without migrating)
        return []
    for row in rows:
        try:
            row["posts"] = json.loads(row["posts"]) if row["posts"] else []
        except ValueError:
            row["posts"] = []
    return rows


def firing(store: Store) -> list[dict[str, Any]]:
    return [row for row in alert_rows(store) if row["state"] == "firing"]
