"""`sentitui migrate --from URL --to URL`: copy a database between backends."""

from __future__ import annotations

import json
import sys

import click


@click.command("migrate")
@click.option("--from", "source_url", required=True, help="path, sqlite:///PATH or postgresql://…")
@click.option(
    "--to", "destination_url", required=True, help="path, sqlite:///PATH or postgresql://…"
)
@click.option("--json", "as_json", is_flag=True, help="print the counts as one JSON object")
def migrate(source_url: str, destination_url: str, as_json: bool) -> None:
    """Copy posts, failed records, runs, cursors and settings into another database;
    safe to run again (rows already there are kept). Exit 1 if a count falls short."""
    from sentitui.cli import open_existing_store
    from sentitui.store import Store
    from sentitui.store.backend import describe
    from sentitui.store.migrate import copy_database

    source = open_existing_store(source_url)
    destination = Store(destination_url)
    try:

        def progress(table: str, copied: int) -> None:
            if not as_json and sys.stderr.isatty():
                click.echo(f"\r{table}: {copied} new row(s)", err=True, nl=False)

        results = copy_database(source, destination, progress)
    finally:
        source.close()
        destination.close()
    ok = all(r.ok for r in results)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "ok": ok,
                    "tables": {
                        r.table: {
                            "source": r.source_rows,
                            "copied": r.copied,
                            "destination": r.destination_rows,
                        }
                        for r in results
                    },
                }
            )
        )
    else:
        click.echo(f"{describe(source_url)} -> {describe(destination_url)}")
        for r in results:
            mark = "ok" if r.ok else "SHORT"
            click.echo(
                f"  {r.table:15} {r.source_rows:>9} in source, {r.copied:>9} copied now, "
                f"{r.destination_rows:>9} in destination  {mark}"
            )
    sys.exit(0 if ok else 1)
