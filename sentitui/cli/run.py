"""`sentitui run`: headless runs. `--once` runs here with a progress display and a
JSON summary, stopping cleanly on Ctrl-C/SIGTERM (`_Interrupt`); `--watch` hands over
to the daemon (engine/daemon.py)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from pathlib import Path
from typing import Any

import click

from sentitui.cli.common import db_option, fail_usage, load_or_exit, pipelines_option
from sentitui.cli.output import safe as _safe
from sentitui.config import PipelineConfig


@click.command()
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
