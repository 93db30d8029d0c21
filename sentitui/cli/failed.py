"""`sentitui failed list|show|retry|ignore`: the records that did not make it."""

from __future__ import annotations

import asyncio
import json
import sys

import click

from sentitui.cli.common import (
    db_option,
    fail_usage,
    load_or_exit,
    open_existing_store,
    pipelines_option,
)
from sentitui.cli.output import SHOW_CHARS
from sentitui.cli.output import pretty_payload as _pretty_payload
from sentitui.cli.output import redacted as _redacted
from sentitui.cli.output import safe as _safe


@click.group()
def failed() -> None:
    """List, show, retry and ignore failed records."""


@failed.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.option("--status", default="open", type=click.Choice(["open", "resolved", "ignored", "all"]))
@click.option("--source", "source_name")
@click.option("--stage")
@click.option("--limit", default=200, show_default=True)
@db_option
def failed_list(
    as_json: bool, status: str, source_name: str | None, stage: str | None, limit: int, db_path: str
) -> None:
    """Failed records, newest first."""

    store = open_existing_store(db_path)
    rows = store.failed_records(
        status=None if status == "all" else status, source=source_name, stage=stage, limit=limit
    )
    if as_json:
        click.echo(json.dumps([_redacted(row) for row in rows], ensure_ascii=False))
        return
    if not rows:
        click.echo("no failed records")
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table("id", "source", "stage", "attempts", "status", "error", box=None)
    for row in rows:
        table.add_row(
            str(row.id),
            Text(f"{row.pipeline}/{row.source}"),
            row.stage,
            str(row.attempts),
            row.status,
            Text(_safe(row.error or "")[:100]),
        )
    Console().print(table)


@failed.command("show")
@click.argument("record_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@db_option
def failed_show(record_id: int, as_json: bool, db_path: str) -> None:
    """One failed record with its raw payload."""

    row = open_existing_store(db_path).failed_record(record_id)
    if row is None:
        fail_usage(f"no failed record with id {record_id}")
    if as_json:
        click.echo(json.dumps(_redacted(row), ensure_ascii=False))
        return
    for key in (
        "id",
        "pipeline",
        "source",
        "stage",
        "status",
        "attempts",
        "run_id",
        "created_at",
        "updated_at",
        "context",
        "error",
    ):
        click.echo(f"{key:>10}: {_safe(str(getattr(row, key)))}")
    click.echo("   payload:")
    click.echo(_pretty_payload(row.payload or ""))
    if len(row.payload or "") > SHOW_CHARS:
        click.echo(
            f"… the payload is {len(row.payload or ''):,} characters, the first "
            f"{SHOW_CHARS:,} are shown; `sentitui failed show {record_id} --json` "
            f"prints it whole"
        )


@failed.command("retry")
@click.argument("record_ids", nargs=-1, type=int)
@click.option("--all", "retry_all", is_flag=True, help="every open failed record")
@click.option(
    "--wait",
    "wait",
    type=click.FloatRange(min=0, min_open=True),
    default=120.0,
    show_default=True,
    metavar="SECONDS",
    help="how long to wait for the daemons holding the sources (see cli/retry.py)",
)
@click.option("--json", "as_json", is_flag=True)
@db_option
@pipelines_option
def failed_retry(
    record_ids: tuple[int, ...],
    retry_all: bool,
    wait: float,
    as_json: bool,
    db_path: str,
    pipelines_dir: str,
) -> None:
    """Re-run records from their raw payloads through parse, clean, score and load.
    Records whose source a daemon holds are retried by that daemon; one it has not
    finished after --wait seconds is reported pending (exit 1)."""
    from sentitui.cli.retry import retry

    if not record_ids and not retry_all:
        fail_usage("give failed record ids or --all")
    pipelines = load_or_exit(pipelines_dir)
    ids = list(record_ids)
    store = open_existing_store(db_path)
    if retry_all:
        ids = [r.id for r in store.failed_records(status="open", limit=1_000_000)]
    outcome = asyncio.run(retry(store, db_path, pipelines, ids, wait))
    if as_json:
        click.echo(
            json.dumps(
                {
                    "resolved": outcome.resolved,
                    "failed": {str(k): _safe(v) for k, v in outcome.still_failing.items()},
                    "pending": {str(k): _safe(v) for k, v in outcome.pending.items()},
                }
            )
        )
    else:
        for record_id in outcome.resolved:
            click.echo(f"{record_id}: resolved")
        for record_id, error in outcome.still_failing.items():
            click.echo(f"{record_id}: still failing — {_safe(error)}")
        for record_id, where in outcome.pending.items():
            click.echo(f"{record_id}: pending after {wait:g} s — {_safe(where)}")
    sys.exit(0 if not outcome.still_failing and not outcome.pending else 1)


@failed.command("ignore")
@click.argument("record_ids", nargs=-1, type=int, required=True)
@db_option
def failed_ignore(record_ids: tuple[int, ...], db_path: str) -> None:
    """Mark records as ignored: they leave the open list but stay in the table."""

    open_existing_store(db_path).mark_failed(record_ids, "ignored")
    click.echo(f"ignored {len(record_ids)} record(s)")
