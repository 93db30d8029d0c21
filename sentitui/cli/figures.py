"""`sentitui stats` and `sentitui report`: the figures, in the terminal or as a file."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sentitui.cli.common import db_option, fail_usage, open_existing_store, pipelines_option
from sentitui.cli.output import safe as _safe
from sentitui.config import ConfigError, load_pipelines

if TYPE_CHECKING:
    from sentitui.report.figures import StatsFigures


@click.command()
@click.option("--json", "as_json", is_flag=True)
@click.option("--check", is_flag=True, help="check the alert rules now; exit 1 while one fires")
@db_option
@pipelines_option
def stats(as_json: bool, check: bool, db_path: str, pipelines_dir: str) -> None:
    """Totals by source and label, feedback split, open failures, recent runs."""
    firing = None
    if check:
        from sentitui.cli.alerts import check_alerts

        firing = check_alerts(open_existing_store(db_path), pipelines_dir)
    credentials = _credentials(pipelines_dir)
    if as_json:
        figures = _stats(db_path).to_json()
        figures["credentials"] = credentials
        if firing is not None:
            figures["alerts_firing"] = [
                {k: a[k] for k in ("pipeline", "name", "kind", "detail", "fired_at")}
                for a in firing
            ]
        click.echo(json.dumps(figures, ensure_ascii=False))
    else:
        _print_stats(db_path)
        for cred in credentials:
            warn = " — renew it within the week" if cred["warning"] else ""
            click.echo(
                _safe(f"credential {cred['pipeline']}/{cred['source']}: {cred['credential']}{warn}")
            )
        for alert in firing or []:
            click.echo(
                _safe(
                    f"ALERT firing since {alert['fired_at']}: {alert['pipeline']}/{alert['name']}: "
                    f"{alert['detail']}"
                )
            )
    if firing:
        sys.exit(1)


def _credentials(pipelines_dir: str) -> list[dict[str, Any]]:
    """Known credential expiries of the pipelines' sources (none without a folder that loads)."""
    from sentitui.sources.expiry import expiries

    try:
        return expiries(load_pipelines(Path(pipelines_dir)))
    except ConfigError:
        return []


def _stats(db_path: str) -> StatsFigures:
    from sentitui.report import stats_figures

    return stats_figures(open_existing_store(db_path))


def _print_stats(db_path: str) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    data = _stats(db_path)
    totals = data.totals
    console = Console()
    console.print(
        f"[b]{totals.posts}[/] posts · average polarity {totals.avg_polarity} · "
        f"{totals.share_negative:.0%} negative · {totals.open_failed} open failed records"
    )
    table = Table("pipeline", "source", "posts", "avg polarity", "positive", "neutral", "negative")
    for row in data.by_source:  # names as written: a [bracket] in one is not markup
        table.add_row(
            Text(row.pipeline),
            Text(row.source),
            str(row.posts),
            str(row.avg_polarity),
            str(row.positive),
            str(row.neutral),
            str(row.negative),
        )
    console.print(table)
    console.print(Text("feedback: " + ", ".join(f"{k} {v}" for k, v in data.feedback.items())))
    if totals.unscored:
        console.print(
            Text(
                f"unscored: {totals.unscored} post(s) in a language no scorer reads "
                f"(left out of averages and shares, which cover {totals.scored} posts)"
            )
        )
    if data.languages:
        console.print(
            Text("languages: " + ", ".join(f"{r.segment} {r.posts}" for r in data.languages))
        )
    agreement = data.rating_agreement
    if agreement.rated:
        console.print(
            Text(
                f"ratings vs text: the text scorer agrees with {agreement.agreement:.0%} of "
                f"{agreement.rated} rated posts (macro-F1 {agreement.macro_f1:.3f})"
            )
        )
    if data.competitors:
        console.print(
            Text(
                "competitors: "
                + ", ".join(
                    f"{c.competitor} {c.share_of_voice:.0%} of posts, polarity {c.avg_polarity:+.2f}"
                    for c in data.competitors
                )
            )
        )
    if data.top_complaint:
        console.print(
            Text(f"top complaint (aspect with most negative mentions): {data.top_complaint}")
        )


@click.command()
@click.option("--out", "out_path", type=click.Path(dir_okay=False), help="file to write")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "md", "pdf", "png"]),
    default=None,
    help="default: from --out's suffix, else html",
)
@click.option("--pipeline", help="only this pipeline's posts")
@click.option("--since", help="only posts created at or after this date (ISO 8601)")
@click.option("--json", "as_json", is_flag=True, help="print the report's figures as JSON")
@db_option
def report(
    out_path: str | None,
    fmt: str | None,
    pipeline: str | None,
    since: str | None,
    as_json: bool,
    db_path: str,
) -> None:
    """A report for the brand team: one self-contained HTML file (charts inlined, no
    network needed to open it), Markdown, or PDF/PNG through headless Chromium."""
    from sentitui.report import gather, render_html, render_markdown
    from sentitui.report.browser import BrowserMissing, print_page

    if since is not None:
        since = _iso_since(since)
    if not as_json and not out_path:
        fail_usage("report: give --out FILE (or --json for the figures)")
    data = gather(open_existing_store(db_path), pipeline=pipeline, since=since)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, default=str))
    if not out_path:
        return
    out = Path(out_path)
    fmt = fmt or {".md": "md", ".pdf": "pdf", ".png": "png"}.get(out.suffix.lower(), "html")
    try:
        if fmt == "md":
            out.write_text(render_markdown(data), encoding="utf-8")
        elif fmt == "html":
            out.write_text(render_html(data), encoding="utf-8")
        else:
            print_page(render_html(data), out, fmt)
    except BrowserMissing as exc:
        fail_usage(f"report: {exc}")
    except OSError as exc:
        click.echo(f"report: cannot write {out}: {exc.strerror}", err=True)
        sys.exit(1)
    if not as_json:
        click.echo(f"wrote {out} ({fmt}, {data['stats']['posts']} posts)")


def _iso_since(text: str) -> str:
    """A --since date or time -> ISO 8601 UTC as posts.created_at stores it."""
    from datetime import UTC

    from dateutil.parser import isoparse

    try:
        when = isoparse(text)
    except ValueError:
        fail_usage(f"--since {text!r} is not an ISO 8601 date like 2026-11-01")
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
