"""`sentitui evaluate`, `rescore`, `export` and `purge`: commands on labelled files and
stored posts that fetch nothing.

cli.py calls `register(main, db_option, pipelines_option)`. The shared options are
handed in, and cli's helpers imported inside the commands, because cli imports this
module: importing cli here would be circular under `python -m sentitui.cli`."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import click

from sentitui.config import PipelineConfig


def fail_usage(message: str) -> None:
    from sentitui.cli import fail_usage as fail

    fail(message)


def open_existing_store(db_path: str) -> Any:
    from sentitui.cli import open_existing_store as open_store

    return open_store(db_path)


def load_or_exit(pipelines_dir: str) -> list[PipelineConfig]:
    from sentitui.cli import load_or_exit as load

    return load(pipelines_dir)


def _select(
    pipelines: list[PipelineConfig], name: str | None, pipelines_dir: str
) -> list[PipelineConfig]:
    if name is None:
        return pipelines
    chosen = [p for p in pipelines if p.name == name]
    if not chosen:
        known = ", ".join(sorted(p.name for p in pipelines)) or "none"
        fail_usage(f"no pipeline named {name!r} in {pipelines_dir} (known: {known})")
    return chosen


@click.argument("path", metavar="FILE", type=click.Path(exists=True, dir_okay=False))
@click.option("--scorer", default=None, help="sentitui (default) | textblob | vader")
@click.option(
    "--json", "as_json", is_flag=True, help='print {"n", "accuracy", "macro_f1", "scorer"}'
)
def evaluate(path: str, scorer: str | None, as_json: bool) -> None:
    """Score a labelled CSV/JSONL (columns text, label) and print accuracy, macro-F1 and
    the confusion matrix. Labels: positive/negative/neutral, or 1/0."""
    from sentitui.evaluate import LabelledDataError, evaluate_scorer, load_labelled
    from sentitui.processing.scorers import DEFAULT_SCORER, scorer_problem

    scorer = scorer or DEFAULT_SCORER
    if problem := scorer_problem(scorer):
        fail_usage(problem)
    try:
        examples = load_labelled(path)
    except LabelledDataError as exc:
        fail_usage(str(exc))
    result = evaluate_scorer(examples, scorer)
    if as_json:
        click.echo(json.dumps(result.summary()))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(
        f"{result.n} labelled texts · scorer [b]{scorer}[/] · accuracy "
        f"[b]{result.accuracy:.3f}[/] · macro-F1 [b]{result.macro_f1:.3f}[/]"
    )
    table = Table(
        "gold \\ predicted", "positive", "negative", "neutral", "F1", title="confusion matrix"
    )
    for gold in result.labels:
        row = result.confusion[gold]
        table.add_row(
            gold,
            str(row["positive"]),
            str(row["negative"]),
            str(row["neutral"]),
            f"{result.per_class_f1[gold]:.3f}",
        )
    console.print(table)


@click.argument("pipeline", required=False)
@click.option("--batch-size", default=500, show_default=True, help="posts per transaction")
@click.option("--workers", default=1, show_default=True, help="scoring processes (0: a thread)")
@click.option("--json", "as_json", is_flag=True, help='print {"updated": N, "by_pipeline": {...}}')
def rescore(
    pipeline: str | None,
    batch_size: int,
    workers: int,
    as_json: bool,
    db_path: str,
    pipelines_dir: str,
) -> None:
    """Recompute scores, labels, feedback, competitors and aspects of stored posts with the
    pipelines' current config; fetches nothing."""
    from sentitui.maintenance import rescore as rescore_posts
    from sentitui.processing.score import Scorer

    selected = _select(load_or_exit(pipelines_dir), pipeline, pipelines_dir)
    store = open_existing_store(db_path)

    live = sys.stderr.isatty()

    def progress(name: str, done: int, total: int) -> None:
        if as_json:
            return
        line = f"{name}: {done}/{total} posts rescored"
        if live:  # one line that counts up; a log file gets one line per batch
            click.echo(f"\r{line}", nl=done == total, err=True)
        else:
            click.echo(line, err=True)

    async def go() -> dict[str, int]:
        async with Scorer(workers=workers) as scorer:
            return await rescore_posts(
                store, selected, scorer, batch_size=batch_size, progress=progress
            )

    try:
        updated = asyncio.run(go())
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps({"updated": sum(updated.values()), "by_pipeline": updated}))
    else:
        click.echo(f"rescored {sum(updated.values())} post(s)")


@click.option(
    "--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True
)
@click.option("--pipeline", "pipeline", default=None, help="only this pipeline")
@click.option("--out", "out_path", default=None, help="file to write (default: stdout)")
def export(
    fmt: str, pipeline: str | None, out_path: str | None, db_path: str, pipelines_dir: str
) -> None:
    """Posts for analysts as CSV or JSONL: authors as keyed hashes (unless a pipeline sets
    keep_authors), text with e-mails and phone numbers redacted, nothing past retention."""
    from sentitui.maintenance import export_posts, open_output

    pipelines = load_or_exit(pipelines_dir)
    if pipeline is not None:
        _select(pipelines, pipeline, pipelines_dir)
    store = open_existing_store(db_path)
    out = open_output(out_path)
    try:
        count = export_posts(store, pipelines, out, fmt=fmt, pipeline=pipeline)
    finally:
        if out is not sys.stdout:
            out.close()
        store.close()
    click.echo(f"exported {count} post(s)" + (f" to {out_path}" if out_path else ""), err=True)


@click.option(
    "--failed-payloads",
    is_flag=True,
    help="also blank the raw payload of every remaining failed record",
)
@click.option("--json", "as_json", is_flag=True)
def purge(failed_payloads: bool, as_json: bool, db_path: str, pipelines_dir: str) -> None:
    """Apply retention: delete posts older than each pipeline's retention_days and failed
    records older than failed_retention_days (default 14)."""
    from sentitui.maintenance import purge as purge_store

    store = open_existing_store(db_path)
    try:
        result = purge_store(store, load_or_exit(pipelines_dir), failed_payloads=failed_payloads)
    finally:
        store.close()
    summary: dict[str, Any] = result.as_json()
    if as_json:
        click.echo(json.dumps(summary))
    else:
        click.echo(
            f"purged {summary['posts']} post(s), {summary['failed_records']} failed "
            f"record(s); {summary['payloads_blanked']} payload(s) blanked"
        )


def register(group: click.Group, db_option: Any, pipelines_option: Any) -> None:
    """Add the four commands to `group` with the CLI's shared --db/--pipelines options."""
    group.add_command(click.command("evaluate")(evaluate))
    for name, function in (("rescore", rescore), ("export", export), ("purge", purge)):
        group.add_command(click.command(name)(db_option(pipelines_option(function))))
