"""What every command shares: the --db and --pipelines options, and the ways a
command stops on a usage or configuration mistake (exit 2, the problem on stderr)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from sentitui.cli.output import safe as _safe
from sentitui.config import ConfigError, PipelineConfig, load_pipelines

if TYPE_CHECKING:
    from sentitui.store import Store


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


def open_existing_store(db_path: str) -> Store:
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


def fail_config(error: ConfigError) -> NoReturn:
    """Exit 2 listing every problem (file, table, key and what is wrong), each followed
    by the `file:line` it is on, which terminals and editors open at that line."""
    click.echo("error: bad pipeline configuration:", err=True)
    for problem, place in zip(error.problems, error.places, strict=True):
        click.echo(f"  {_safe(problem)}", err=True)
        if place:
            click.echo(f"    at {_safe(place)}", err=True)
    sys.exit(2)


def load_or_exit(pipelines_dir: str, *, require: bool = False) -> list[PipelineConfig]:
    """The pipelines, or exit 2 listing every problem. `require`: a folder without any
    pipeline file is a mistake too (a command that would otherwise do nothing)."""
    try:
        pipelines = load_pipelines(Path(pipelines_dir))
    except ConfigError as exc:
        fail_config(exc)
    if require and not pipelines:
        fail_usage(f"no pipeline files (*.toml) in {pipelines_dir}: pass --pipelines DIR")
    return pipelines
