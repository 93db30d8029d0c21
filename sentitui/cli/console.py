"""`sentitui tui` and `sentitui demo`: the console, with its engine or attached to a
daemon's."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from sentitui.cli.common import db_option, load_or_exit, pipelines_option


@click.command()
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


@click.command()
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
