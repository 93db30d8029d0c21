"""The `sentitui` command. Exit status: 0 ok, 1 a source failed or stopped before its
paging did, 2 bad config or usage, 3 the database refused a write (`run`), 130 Ctrl-C.

The commands live one module per group: console (tui, demo), run, failed, figures
(stats, report), admin (validate, bench, preview), schema, migrate, alerts, and
cli_insight (evaluate, rescore, export, purge); common.py holds the shared options and
exits, output.py how lines are printed.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from sentitui.cli.common import (  # noqa: F401  (the names other modules import from here)
    db_option,
    default_db,
    default_pipelines,
    fail_config,
    fail_usage,
    load_or_exit,
    open_existing_store,
    pipelines_option,
)


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


# tui and demo (sentitui/cli/console.py); `sentitui` alone opens the console
from sentitui.cli.console import demo, tui  # noqa: E402

main.add_command(tui)
main.add_command(demo)

# run --once / --watch (sentitui/cli/run.py)
from sentitui.cli.run import run  # noqa: E402

main.add_command(run)

# failed list, show, retry, ignore (sentitui/cli/failed.py)
from sentitui.cli.failed import failed  # noqa: E402

main.add_command(failed)

# stats, report (sentitui/cli/figures.py)
from sentitui.cli.figures import report, stats  # noqa: E402

main.add_command(stats)
main.add_command(report)

# validate, bench, preview (sentitui/cli/admin.py)
from sentitui.cli.admin import bench, preview, validate  # noqa: E402

main.add_command(validate)
main.add_command(bench)
main.add_command(preview)

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
