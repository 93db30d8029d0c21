"""`sentitui alerts` (list alerts and their states) and the check behind
`sentitui stats --check` (evaluate the rules now, deliver what fired or resolved,
report the firing ones; the caller exits 1 while any fires)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import click

from sentitui.config import ConfigError, PipelineConfig, load_pipelines
from sentitui.processing.redact import safe_line


def _pipelines(pipelines_dir: str) -> list[PipelineConfig]:
    """The rules to check: none when there is no pipelines folder (stored states only);
    a folder that does not load is a usage error, as for every command."""
    if not Path(pipelines_dir).is_dir():
        return []
    try:
        return load_pipelines(Path(pipelines_dir))
    except ConfigError as exc:
        from sentitui.cli import fail_config

        fail_config(exc)


def check_alerts(store: Any, pipelines_dir: str) -> list[dict[str, Any]]:
    """Check every rule against the database now, deliver the transitions, and return
    the firing alerts (rows of the `alerts` table)."""
    from sentitui.engine.alerts import deliver
    from sentitui.store.alerts import check, firing, record_delivery

    pipelines = _pipelines(pipelines_dir)
    rules = [rule for p in pipelines for rule in p.alerts]
    transitions = check(store, rules, time.time(), [p.name for p in pipelines])

    async def send() -> None:
        import aiohttp  # here: a third of a second of every other command's start

        async with aiohttp.ClientSession() as session:
            for transition in transitions:
                if transition.rule.notify:
                    error = await deliver(transition, session)
                    record_delivery(store, transition.rule.pipeline, transition.rule.name, error)
                    if error:
                        click.echo(
                            safe_line(f"alert {transition.rule.name}: delivery failed: {error}"),
                            err=True,
                        )

    if any(t.rule.notify for t in transitions):
        asyncio.run(send())
    return firing(store)


def alerts_command(as_json: bool, db_path: str, pipelines_dir: str) -> None:
    """Alerts and their states: firing ones first, with the posts that triggered them."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from sentitui.cli import open_existing_store
    from sentitui.store.alerts import alert_rows

    store = open_existing_store(db_path)
    rows = alert_rows(store)
    conditions = {
        (r.pipeline, r.name): r.describe() for p in _pipelines(pipelines_dir) for r in p.alerts
    }
    for row in rows:
        row["condition"] = conditions.get((row["pipeline"], row["name"]))
    stored = {(row["pipeline"], row["name"]) for row in rows}
    for (pipeline, name), condition in conditions.items():
        if (pipeline, name) not in stored:  # configured, not checked yet
            rows.append(
                {"pipeline": pipeline, "name": name, "state": "unchecked", "condition": condition}
            )
    if as_json:
        click.echo(json.dumps({"alerts": rows}, ensure_ascii=False))
        return
    console = Console()
    if not rows:
        console.print("no alerts: add [[alert]] rules to a pipeline file")
        return
    table = Table("pipeline", "alert", "state", "since", "detail", "delivery")
    for row in rows:
        state = row.get("state") or ""
        since = row.get("fired_at") if state == "firing" else row.get("resolved_at")
        # Text, not markup; safe_line: no escapes from a name, a post or an answer.
        table.add_row(
            Text(safe_line(row["pipeline"])),
            Text(safe_line(row["name"])),
            Text(safe_line(state), style="bold red" if state == "firing" else ""),
            Text(safe_line(since or "—")),
            Text(safe_line(row.get("detail") or row.get("condition") or "")),
            Text(
                safe_line(
                    row.get("delivery_error")
                    or ("sent " + row["notified_at"] if row.get("notified_at") else "—")
                )
            ),
        )
    console.print(table)
    for row in rows:
        if row.get("state") == "firing":
            for post in row.get("posts") or []:
                text = " ".join(str(post.get("text") or "").split())[:120]
                console.print(Text(safe_line(f"  {row['name']} · {post.get('why')}: {text}")))


def register(group: click.Group, db_option: Any, pipelines_option: Any) -> None:
    command = click.option("--json", "as_json", is_flag=True, help="print one JSON object")(
        alerts_command
    )
    group.add_command(click.command("alerts")(db_option(pipelines_option(command))))
