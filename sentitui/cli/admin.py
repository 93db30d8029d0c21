"""`sentitui validate`, `sentitui bench` and `sentitui preview`: checking pipeline
files, measuring, and looking at one page before anything is loaded."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import click

from sentitui.cli.common import (
    db_option,
    fail_config,
    fail_usage,
    load_or_exit,
    pipelines_option,
)
from sentitui.cli.output import safe as _safe
from sentitui.config import ConfigError, PipelineConfig


@click.command()
@pipelines_option
def validate(pipelines_dir: str) -> None:
    """Check every pipeline file; print each problem with file, source and key."""
    from sentitui.config.locate import places
    from sentitui.sources import make_source

    pipelines = load_or_exit(pipelines_dir, require=True)
    problems: list[str] = []
    located: list[str] = []
    for pipeline in pipelines:
        found = [
            f"{pipeline.path} source {source.name!r}: {problem}"
            for source in pipeline.sources
            for problem in make_source(source, pipeline).config_problems()
        ]
        problems += found
        located += places(found, pipeline.path) if found else []
    if problems:
        fail_config(ConfigError(problems, located))
    sources = sum(len(p.sources) for p in pipelines)
    click.echo(f"ok: {len(pipelines)} pipeline(s), {sources} source(s) in {pipelines_dir}")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="print the figures as one JSON object")
@click.option("--quick", is_flag=True, help="tiny sizes: a smoke run, not a measurement")
@click.option(
    "--scale",
    default="1m",
    show_default=True,
    help="database sizes for the stats/dashboard figures, e.g. 1m,10m (built once, cached)",
)
@click.option(
    "--cache",
    "cache_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="where built databases are kept [default: <tmp>/sentitui-bench-cache]",
)
@click.option(
    "--db",
    "db_url",
    default=None,
    metavar="postgresql://…",
    help="build and time the --scale database on this (empty) PostgreSQL database "
    "instead; only the scale figures are measured",
)
def bench(
    as_json: bool, quick: bool, scale: str, cache_dir: str | None, db_url: str | None
) -> None:
    """Ingest and end-to-end throughput (vs TextBlob on one core and a naive script), CPU
    and loop lag, scrape pages/s next to Scrapy, and stats/dashboard/console times on a
    database of --scale posts."""
    from sentitui.bench import format_report, run_bench, scale_sizes
    from sentitui.store.backend import is_postgres

    try:
        sizes = scale_sizes(scale)  # a typo fails now, not after minutes of measuring
    except ValueError as exc:
        fail_usage(str(exc))
    if db_url is not None and (not is_postgres(db_url) or len(sizes) > 1 or quick):
        fail_usage("bench --db takes one postgresql:// URL and one --scale size (not --quick)")
    cache = Path(cache_dir) if cache_dir else None
    figures = run_bench(quick=quick, scale=scale, cache=cache, db=db_url)
    click.echo(json.dumps(figures) if as_json else format_report(figures))


@click.command()
@click.argument("pipeline")
@click.argument("source")
@click.option("--json", "as_json", is_flag=True)
@db_option
@pipelines_option
def preview(pipeline: str, source: str, as_json: bool, db_path: str, pipelines_dir: str) -> None:
    """Fetch one page and show raw records beside the posts they would become; writes nothing."""
    pipelines = load_or_exit(pipelines_dir)
    try:
        next(p for p in pipelines if p.name == pipeline).source(source)
    except (StopIteration, KeyError):
        fail_usage(f"no source {source!r} in pipeline {pipeline!r}")
    from sentitui.engine.runner import raw_payload
    from sentitui.net.http import FetchError

    try:
        result = asyncio.run(_preview(db_path, pipelines, pipeline, source))
    except (FetchError, ValueError) as exc:  # the source could not be read: say why, briefly
        where = f" ({exc.url})" if isinstance(exc, FetchError) and exc.url else ""
        click.echo(_safe(f"error: preview of {pipeline}/{source} failed: {exc}{where}"), err=True)
        sys.exit(1)
    posts = result.result.posts
    if as_json:
        click.echo(
            json.dumps(
                {
                    "url": _safe(result.url),
                    "posts": [
                        {
                            "external_id": p.external_id,
                            "text": p.text,
                            "created_at": p.created_at,
                            "polarity": p.polarity,
                            "label": p.label,
                            "feedback": p.feedback,
                            "segments": p.segments,
                        }
                        for p in posts
                    ],
                    "failed": [
                        {"stage": f.stage, "error": _safe(f.error), "payload": f.payload}
                        for f in result.result.failures
                    ],
                },
                ensure_ascii=False,
            )
        )
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console()
    console.print(
        Text(
            f"{_safe(result.url)}: {len(result.raw)} raw records -> {len(posts)} posts, "
            f"{len(result.result.failures)} would fail"
        )
    )
    table = Table("raw", "post", "score", box=None, show_lines=True)
    for post in posts:
        raw = raw_payload(post.fields.get("payload"))[:300]
        table.add_row(
            Text(_safe(raw)),
            Text(f"{post.external_id}: {post.text[:200]}"),
            Text(f"{post.polarity:+.2f} {post.label}\n{post.feedback}"),
        )
    console.print(table)
    for failure in result.result.failures:
        console.print(Text(f"FAIL [{failure.stage}] {_safe(failure.error)}", style="red"))


async def _preview(
    db_path: str, pipelines: list[PipelineConfig], pipeline: str, source: str
) -> Any:
    from sentitui.engine.engine import Engine

    async with Engine(db_path, pipelines, score_workers=0) as engine:
        return await engine.preview(pipeline, source)
