"""`sentitui schema`: the JSON Schema of pipeline files, for editors (see README)."""

from __future__ import annotations

import json

import click


@click.command()
def schema() -> None:
    """Print the JSON Schema of pipeline files (point taplo / Even Better TOML at it)."""
    from sentitui.config.schema import pipeline_json_schema  # pydantic: only when asked

    click.echo(json.dumps(pipeline_json_schema(), indent=2, ensure_ascii=False))
