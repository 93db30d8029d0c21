"""The `sentitui` command. Exit status: 0 ok, 1 a source failed or stopped before its
paging did, 2 bad config or usage, 3 the database refused a write (`run`), 130 Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import signal
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from sentitui.config import ConfigError, PipelineConfig, load_pipelines


def default_db() -> str:
    return os.environ.get("SENTITUI_DB", "sentitui.db")


def default_pipelines() -> str:
    return os.environ.get("SENTITUI_PIPELINES", "pipelines")


db_option = click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False),
    default=default_db,
    show_default="$SENTITUI_DB or ./sentitui.db",
    help="SQLite file (a path or sqlite:///PATH) or postgresql://user@host:port/db",
)
pipelines_option = click.option(
    "--pipelines",
    "pipelines_dir",
    type=click.Path(file_okay=False),
    default=default_pipelines,
    show_default="$SENTITUI_PIPELINES or ./pipelines",
    help="folder of pipeline TOML files",
)


def fail_usage(message: str) -> NoReturn:
    click.echo(f"error: {_safe(message)}", err=True)
    sys.exit(2)


def open_existing_store(db_path: str) -> Any:
    """The store, for commands that only read or tidy it: a missing file is a usage
    error, not a new empty database left behind."""
    from sentitui.store import Store
    from sentitui.store.backend import DbUrl

    url = DbUrl.parse(db_path)
    if url.path is not None and not url.path.is_file():
        fail_usage(
            f"no database at {db_path}: run `sentitui run` (or `sentitui demo`) first, "
            f"or pass --db / set SENTITUI_DB"
        )
    return Store(db_path)


def load_or_exit(pipelines_dir: str, *, require: bool = False) -> list[PipelineConfig]:
    """The pipelines, or exit 2 listing every problem. `require`: a folder without any
    pipeline file is a mistake too (a command that would otherwise do nothing)."""
    try:
        pipelines = load_pipelines(Path(pipelines_dir))
    except ConfigError as exc:
        click.echo("error: bad pipeline configuration:", err=True)
        for problem in exc.problems:
            click.echo(f"  {_safe(problem)}", err=True)
        sys.exit(2)
    if require and not pipelines:
        fail_usage(f"no pipeline files (*.toml) in {pipelines_dir}: pass --pipelines DIR")
    return pipelines


class _Main(click.Group):
    """The command group; a database that cannot be used is a usage error (exit 2)
    with the store's message, whichever command met it, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        from sentitui.store import StoreError

        try:
            return super().invoke(ctx)
        except StoreError as exc:
            fail_usage(str(exc))


@click.group(cls=_Main, invoke_without_command=True)
@click.version_option(package_name="sentitui")
@click.option("-v", "--verbose", count=True, help="log more (-v info, -vv debug) to stderr")
@click.pass_context
def main(ctx: click.Context, verbose: int) -> None:
    """SentiTUI: pull what people say, score it, load it into SQLite, watch it live."""
    from sentitui.processing.redact import LOG_FORMAT, SafeFormatter

    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)]
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(SafeFormatter(LOG_FORMAT))  # no secrets, no escapes in log lines
    logging.basicConfig(level=level, handlers=[handler])
    if ctx.invoked_subcommand is None:
        ctx.invoke(tui)


# ---- console ---------------------------------------------------------------------------


@main.command()
@db_option
@pipelines_option
@click.option(
    "--attach",
    is_flag=True,
    help="attach to a database a `sentitui run --watch` daemon is filling; "
    "actions go to the daemon, no second engine starts",
)
def tui(db_path: str, pipelines_dir: str, attach: bool) -> None:
    """Open the console with the engine embedded (or attached to a daemon).

    A live daemon on the database (its heartbeat) makes it attach: a second engine
    would poll the same sources at twice the rate limit."""
    from sentitui.engine.heartbeat import read_daemon_life
    from sentitui.tui.app import run_console

    notice = None
    if not attach and (life := read_daemon_life(db_path)).alive:
        attach = True
        notice = (
            f"{life.describe()} on {db_path}: attached to it instead of starting a second "
            "engine (actions go to the daemon)"
        )
    if attach:
        from sentitui.engine.remote import RemoteEngine

        local = load_or_exit(pipelines_dir) if Path(pipelines_dir).is_dir() else []
        engine = RemoteEngine(db_path, local)
        status = run_console(
            db_path=db_path,
            pipelines=engine.read_published() or local,
            engine=engine,
            title="SentiTUI (attached)",
            notice=notice,
        )
        sys.exit(status)
    pipelines = load_or_exit(pipelines_dir)
    sys.exit(run_console(db_path=db_path, pipelines=pipelines, pipelines_dir=pipelines_dir))


@main.command()
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False),
    default=lambda: os.environ.get("SENTITUI_DB", "sentitui-demo.db"),
    show_default="$SENTITUI_DB or ./sentitui-demo.db",
    help="SQLite file; one an earlier demo made is emptied first",
)
@click.option("--port", type=int, default=0, help="demo server port (default: a free one)")
@click.option("--keep", is_flag=True, help="keep the last demo's data instead of starting empty")
def demo(db_path: str, port: int, keep: bool) -> None:
    """The bundled offline demo: a local server replaying sample_data live, and the console."""
    from sentitui.demo import run_demo

    run_demo(db_path=db_path, port=port, keep=keep)


# ---- headless run ----------------------------------------------------------------------


@main.command()
@click.argument("pipeline_names", nargs=-1, metavar="[PIPELINE]...")
@click.option("--source", "source_name", help="only this source")
@click.option("--once", is_flag=True, help="pull until no more pages, then exit (the default)")
@click.option("--watch", is_flag=True, help="run the schedules until interrupted")
@click.option("--json", "as_json", is_flag=True, help="print one JSON summary on stdout")
@click.option(
    "--metrics", "metrics", metavar="HOST:PORT", help="with --watch: Prometheus metrics at /metrics"
)
@db_option
@pipelines_option
def run(
    pipeline_names: tuple[str, ...],
    source_name: str | None,
    once: bool,
    watch: bool,
    as_json: bool,
    metrics: str | None,
    db_path: str,
    pipelines_dir: str,
) -> None:
    """Run pipelines headless."""
    if once and watch:
        fail_usage("--once and --watch exclude each other: pass one of them")
    address = None
    if metrics is not None:
        from sentitui.engine.metrics import MetricsError, parse_address

        if not watch:
            fail_usage("--metrics needs --watch (a run --once ends before anyone scrapes it)")
        try:
            address = parse_address(metrics)
        except MetricsError as exc:
            fail_usage(str(exc))
    pipelines = load_or_exit(pipelines_dir, require=not watch)
    known = {p.name: p for p in pipelines}
    for name in pipeline_names:
        if name not in known:
            fail_usage(
                f"no pipeline named {name!r} in {pipelines_dir} "
                f"(known: {', '.join(sorted(known)) or 'none'})"
            )
    selected = [known[n] for n in pipeline_names] if pipeline_names else pipelines
    if source_name and not any(s.name == source_name for p in selected for s in p.sources):
        fail_usage(f"no source named {source_name!r} in the selected pipelines")
    if not watch and not source_name and not any(s.enabled for p in selected for s in p.sources):
        fail_usage(
            f"no enabled source in {', '.join(p.name for p in selected) or 'the pipelines'}: "
            f"set enabled = true on one, or pull one by hand with --source NAME"
        )
    if watch:
        from sentitui.engine.daemon import run_daemon

        sys.exit(run_daemon(db_path, Path(pipelines_dir), selected, source_name, address))
    sys.exit(asyncio.run(_run(db_path, selected, source_name, as_json=as_json)))


async def _run(
    db_path: str, pipelines: list[PipelineConfig], source_name: str | None, *, as_json: bool
) -> int:
    from sentitui.engine.engine import Engine
    from sentitui.engine.fleet import Fleet
    from sentitui.models import RunFinished, RunProgress
    from sentitui.store import database_errors
    from sentitui.store.backend import is_postgres

    interactive = sys.stderr.isatty() and not as_json
    progress = None
    tasks: dict[tuple[str, str], Any] = {}
    if interactive:
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}", markup=False),  # names as written
            TextColumn("{task.fields[counts]}"),
            TimeElapsedColumn(),
            transient=False,
        )

    def on_event(event: Any) -> None:
        if isinstance(event, RunProgress):
            counts = (
                f"{event.fetched} fetched · {event.loaded} loaded · "
                f"{event.duplicates} dup · {event.failed} failed"
            )
            key = (event.pipeline, event.source)
            if progress is not None:
                if key not in tasks:
                    tasks[key] = progress.add_task(
                        f"{event.pipeline}/{event.source}", total=None, counts=""
                    )
                progress.update(tasks[key], counts=counts)
        elif isinstance(event, RunFinished):
            s = event.stats
            line = _safe(
                f"{s.pipeline}/{s.source}: {s.status} — {s.fetched} fetched, {s.loaded} loaded, "
                f"{s.duplicates} duplicates, {s.failed} failed"
                + (f" — {s.error}" if s.error else "")
            )
            if progress is not None:
                from rich.text import Text

                key = (s.pipeline, s.source)
                if key in tasks:
                    progress.update(tasks[key], total=1, completed=1)
                progress.console.print(Text(line))  # as written: a [tag] in it is not markup
            else:
                click.echo(line, err=True)

    finished: dict[tuple[str, str], Any] = {}
    engine = Engine(db_path, pipelines)
    engine.subscribe(on_event)
    engine.subscribe(
        lambda event: (
            finished.__setitem__((event.stats.pipeline, event.stats.source), event.stats)
            if isinstance(event, RunFinished)
            else None
        )
    )
    async with engine:
        # Workers spawned with Ctrl-C blocked cannot die mid-start printing tracebacks.
        await engine.scorer.start_sheltered()
        if is_postgres(db_path):  # a shared server: lease each source as the daemons do
            engine.fleet = Fleet(engine.writer)

            def lease_lost(pipeline: str, source: str) -> None:
                engine.stop_after_page(pipeline, source, "lease lost")

            await engine.fleet.join(on_lost=lease_lost)
        interrupt = _Interrupt(engine)
        store_error: Exception | None = None
        try:
            with progress if progress is not None else contextlib.nullcontext():
                results = await engine.run_pipelines(
                    [p.name for p in pipelines], source=source_name, trigger="cli"
                )
        except asyncio.CancelledError:
            if not interrupt.signals:
                raise
            results = None
        except database_errors() as exc:  # a run could not even be recorded
            click.echo(f"error: {exc}", err=True)
            store_error, results = exc, None
        finally:
            interrupt.remove()
            if engine.fleet is not None:
                await engine.fleet.leave()
    if results is None:  # cut short: every run has finished (cancelled) once the engine closed
        results = list(finished.values())
    if as_json:
        click.echo(
            json.dumps(
                {
                    "loaded": sum(r.loaded for r in results),
                    "duplicates": sum(r.duplicates for r in results),
                    "failed": sum(r.failed for r in results),
                    "runs": [r.as_json() for r in results],
                }
            )
        )
    if store_error is not None or any(r.store_failed for r in results):
        return EXIT_STORE
    if interrupt.signals:
        return 130  # the shell's code for Ctrl-C, after the summary
    return 1 if any(r.status != "ok" for r in results) else 0


EXIT_STORE = 3  # the database refused a write (disk full, locked); the summary is printed


class _Interrupt:
    """Ctrl-C (or SIGTERM) during `run --once`: the first stops every run after the page
    in hand, so what was fetched is committed and the runs end `cancelled`; a second,
    or GRACE seconds without the page arriving, cancels them outright."""

    GRACE = 10.0
    REASON = "interrupted: stopped after the page in hand"

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.signals = 0
        self.loop = asyncio.get_running_loop()
        self._late: asyncio.TimerHandle | None = None
        self.installed: list[signal.Signals] = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self.loop.add_signal_handler(sig, self._on_signal, sig)
                self.installed.append(sig)
            except (NotImplementedError, RuntimeError):  # not the main thread, or Windows
                pass

    def _on_signal(self, sig: signal.Signals) -> None:
        self.signals += 1
        if self.signals == 1:
            click.echo(
                f"{sig.name}: stopping after the page in hand (again to stop at once)", err=True
            )
            self.engine.stop_all(self.REASON)
            self._late = self.loop.call_later(self.GRACE, self.engine.cancel_all)
        else:
            click.echo(f"{sig.name} again: stopping now", err=True)
            self.engine.cancel_all()

    def remove(self) -> None:
        if self._late is not None:
            self._late.cancel()
        for sig in self.installed:
            self.loop.remove_signal_handler(sig)


# ---- failed records --------------------------------------------------------------------


@main.group()
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
            str(row["id"]),
            Text(f"{row['pipeline']}/{row['source']}"),
            row["stage"],
            str(row["attempts"]),
            row["status"],
            Text(_safe(row["error"])[:100]),
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
        click.echo(f"{key:>10}: {_safe(str(row[key]))}")
    click.echo("   payload:")
    click.echo(_pretty_payload(row["payload"] or ""))
    if len(row["payload"] or "") > SHOW_CHARS:
        click.echo(
            f"… the payload is {len(row['payload']):,} characters, the first "
            f"{SHOW_CHARS:,} are shown; `sentitui failed show {record_id} --json` "
            f"prints it whole"
        )


SHOW_CHARS = 20_000  # characters of a payload `failed show` prints (--json: all of it)
_BINARY = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ufffd]")


def _safe(text: str) -> str:
    """Every line the CLI prints: secrets redacted, no escapes (processing/redact.py)."""
    from sentitui.processing.redact import safe_line

    return safe_line(text or "")


def _redacted(row: dict[str, Any]) -> dict[str, Any]:
    """A failed record for --json: its error and context with secrets redacted (rows
    written before redaction existed may hold them); the payload stays as received."""
    from sentitui.processing.redact import redact

    return {**row, **{k: redact(row[k]) for k in ("error", "context") if row.get(k)}}


def _pretty_payload(payload: str) -> str:
    """The payload for a terminal: JSON indented, at most SHOW_CHARS of it, and bytes
    that are not text (a compressed body, an image) escaped instead of drawn."""
    head = payload[:SHOW_CHARS]
    sample = head[:4096]
    if sample and len(_BINARY.findall(sample)) > len(sample) / 10:
        return "(binary, shown escaped)\n" + head.encode("unicode_escape").decode("ascii")
    if len(payload) <= SHOW_CHARS:
        try:
            return _safe(json.dumps(json.loads(payload), indent=2, ensure_ascii=False))
        except (ValueError, TypeError, RecursionError):
            pass
    return _safe(head)


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
        ids = [r["id"] for r in store.failed_records(status="open", limit=1_000_000)]
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


# ---- figures and checks ----------------------------------------------------------------


@main.command()
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
        figures = _stats(db_path)
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
    from sentitui.sources.credentials import expiries

    try:
        return expiries(load_pipelines(Path(pipelines_dir)))
    except ConfigError:
        return []


def _stats(db_path: str) -> dict[str, Any]:
    from sentitui.report import stats_figures

    return stats_figures(open_existing_store(db_path))


def _print_stats(db_path: str) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    data = _stats(db_path)
    console = Console()
    console.print(
        f"[b]{data['posts']}[/] posts · average polarity {data['avg_polarity']} · "
        f"{data['share_negative']:.0%} negative · {data['open_failed']} open failed records"
    )
    table = Table("pipeline", "source", "posts", "avg polarity", "positive", "neutral", "negative")
    for row in data["by_source"]:  # names as written: a [bracket] in one is not markup
        table.add_row(
            Text(row["pipeline"]),
            Text(row["source"]),
            str(row["posts"]),
            str(row["avg_polarity"]),
            str(row["positive"]),
            str(row["neutral"]),
            str(row["negative"]),
        )
    console.print(table)
    console.print(Text("feedback: " + ", ".join(f"{k} {v}" for k, v in data["feedback"].items())))
    if data["unscored"]:
        console.print(
            Text(
                f"unscored: {data['unscored']} post(s) in a language no scorer reads "
                f"(left out of averages and shares, which cover {data['scored']} posts)"
            )
        )
    if data["languages"]:
        console.print(
            Text(
                "languages: " + ", ".join(f"{r['segment']} {r['posts']}" for r in data["languages"])
            )
        )
    agreement = data["rating_agreement"]
    if agreement["rated"]:
        console.print(
            Text(
                f"ratings vs text: the text scorer agrees with {agreement['agreement']:.0%} of "
                f"{agreement['rated']} rated posts (macro-F1 {agreement['macro_f1']:.3f})"
            )
        )
    if data["competitors"]:
        console.print(
            Text(
                "competitors: "
                + ", ".join(
                    f"{c['competitor']} {c['share_of_voice']:.0%} of posts, polarity {c['avg_polarity']:+.2f}"
                    for c in data["competitors"]
                )
            )
        )
    if data["top_complaint"]:
        console.print(
            Text(f"top complaint (aspect with most negative mentions): {data['top_complaint']}")
        )


@main.command()
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


@main.command()
@pipelines_option
def validate(pipelines_dir: str) -> None:
    """Check every pipeline file; print each problem with file, source and key."""
    from sentitui.sources import make_source

    pipelines = load_or_exit(pipelines_dir, require=True)
    problems = [
        f"{pipeline.path} source {source.name!r}: {problem}"
        for pipeline in pipelines
        for source in pipeline.sources
        for problem in make_source(source, pipeline).config_problems()
    ]
    if problems:
        click.echo("error: bad pipeline configuration:", err=True)
        for problem in problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(2)
    sources = sum(len(p.sources) for p in pipelines)
    click.echo(f"ok: {len(pipelines)} pipeline(s), {sources} source(s) in {pipelines_dir}")


@main.command()
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


@main.command()
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


# evaluate, rescore, export, purge (sentitui/cli_insight.py)
from sentitui.cli_insight import register as _register_insight  # noqa: E402

_register_insight(main, db_option, pipelines_option)

# schema (sentitui/cli/schema.py)
from sentitui.cli.schema import schema as _schema  # noqa: E402

main.add_command(_schema)

# migrate (sentitui/cli/migrate.py)
from sentitui.cli.migrate import migrate as _migrate  # noqa: E402

main.add_command(_migrate)

# alerts (sentitui/cli/alerts.py)
from sentitui.cli.alerts import register as _register_alerts  # noqa: E402

_register_alerts(main, db_option, pipelines_option)
