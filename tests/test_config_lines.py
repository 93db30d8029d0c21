"""Every config mistake names the file, the table (source, alert, [pipeline]), the key
and the line it is on, on every path that loads pipeline files: `validate`, `run`
(`--once` and the daemon's `--watch`), the console, `alerts`, and hot reload."""

from __future__ import annotations

import sqlite3
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from sentitui.cli import main
from sentitui.config import ConfigError, load_pipeline_file, load_pipelines
from sentitui.config.locate import problem_line

HEAD = """\
[pipeline]
name = "p"
"""
SOURCE = """\

[[source]]
name = "drop"
kind = "file"
path = "*.csv"
[source.fields]
id = "id"
text = "text"
"""

# (what the file says, the line of the mistake, what the message names there)
MISTAKES: dict[str, tuple[str, int, str]] = {
    "unknown key": (
        HEAD + SOURCE.replace('path = "*.csv"', 'colour = "red"\npath = "*.csv"'),
        7,
        "source 'drop': unknown key 'colour'",
    ),
    "wrong type": (
        HEAD + SOURCE.replace('"*.csv"', "5"),
        7,
        "source 'drop': key 'path' must be a string",
    ),
    "nested key in a sub-table": (
        HEAD + SOURCE.replace('text = "text"', "text = 3"),
        10,
        "source 'drop': key 'fields.text' must be a string or a table",
    ),
    "nested key in an inline table": (
        HEAD
        + SOURCE.replace(
            '[source.fields]\nid = "id"\ntext = "text"', "retries = 1\nfields = { id = 1 }"
        ),
        9,
        "source 'drop': key 'fields.id' must be",
    ),
    "missing required key": (
        HEAD + SOURCE.replace('path = "*.csv"\n', ""),
        4,
        "source 'drop': missing required key 'path'",
    ),
    "value not in the list": (
        HEAD + 'label_from = "stars"\n' + SOURCE,
        3,
        "[pipeline]: key 'label_from' must be",
    ),
    "out of bounds": (
        HEAD + SOURCE.replace("[source.fields]", "retries = -1\n[source.fields]"),
        8,
        "source 'drop': key 'retries' must be at least 0",
    ),
    "pipeline sub-table": (
        HEAD + SOURCE + '[pipeline.thresholds]\npositive = "high"\n',
        12,
        "[pipeline]: key 'thresholds.positive' must be a number",
    ),
    "unknown kind": (
        HEAD + SOURCE.replace('"file"', '"myspace"'),
        6,
        "source 'drop': key 'kind': unknown kind",
    ),
    "environment variable": (
        HEAD + SOURCE.replace('path = "*.csv"', 'path = "${NOT_SET_ANYWHERE}.csv"'),
        7,
        "source 'drop'.path: environment variable NOT_SET_ANYWHERE is not set",
    ),
    "kind's own rule": (
        HEAD + SOURCE.replace('path = "*.csv"', 'path = "*.csv"\nencoding = "utf-9"'),
        8,
        "source 'drop': key 'encoding': unknown text encoding",
    ),
    "schedule": (HEAD + 'schedule = "soon"\n' + SOURCE, 3, "[pipeline]: key 'schedule'"),
    "duplicate source": (
        HEAD + SOURCE + SOURCE,
        13,
        "source 'drop': key 'name': duplicate source name 'drop'",
    ),
    "alert rule": (
        HEAD + SOURCE + '\n[[alert]]\nname = "sour"\nkind = "negative_share"\nabove = 150\n',
        15,
        "alert 'sour': key 'above' must be between 0 and 100",
    ),
    "multi-line values do not confuse the scanner": (
        HEAD
        + 'competitors = [\n  "SilkPro",\n  "name = x",\n]\n'
        + SOURCE.replace('"*.csv"', "[1]"),
        11,
        "source 'drop': key 'path' must be a string",
    ),
    "invalid TOML": (HEAD + SOURCE.replace('kind = "file"', "kind = "), 6, "invalid TOML"),
}


def write(folder: Path, text: str, name: str = "p.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def printed(text: str, path: Path, line: int, names: str) -> bool:
    """The CLI's report: the problem (file, table, key) and under it `file:line`."""
    lines = text.splitlines()
    return any(
        names in problem and str(path) in problem and at.strip() == f"at {path}:{line}"
        for problem, at in zip(lines, lines[1:], strict=False)
    )


@pytest.mark.parametrize(("text", "line", "names"), MISTAKES.values(), ids=list(MISTAKES))
def test_each_kind_of_mistake_is_printed_with_file_line_table_and_key(tmp_path, text, line, names):
    path = write(tmp_path / "pipelines", text)
    result = CliRunner().invoke(main, ["validate", "--pipelines", str(path.parent)])
    assert result.exit_code == 2, result.output
    assert printed(result.stderr, path, line, names), result.stderr
    with pytest.raises(ConfigError) as caught:  # hot reload logs the one-line form
        load_pipeline_file(path, env={})
    assert any(
        one.startswith(f"{path}:{line}: ") and names in one for one in caught.value.located
    ), caught.value.located


@pytest.mark.parametrize(
    "command",
    [
        ["validate"],
        ["run", "--once"],
        ["run", "--watch"],  # the daemon checks its files before it starts
        ["tui"],
        ["alerts"],
    ],
    ids=lambda c: " ".join(c),
)
def test_every_command_that_loads_pipelines_prints_the_line(tmp_path, command):
    text, line, names = MISTAKES["wrong type"]
    path = write(tmp_path / "pipelines", text)
    db = tmp_path / "t.db"
    sqlite3.connect(db).close()  # `alerts` reads an existing database
    database = [] if command == ["validate"] else ["--db", str(db)]
    result = CliRunner().invoke(main, [*command, "--pipelines", str(path.parent), *database])
    assert result.exit_code == 2, result.output
    assert printed(result.stderr, path, line, names), result.stderr


def test_a_runtime_problem_found_by_validate_has_its_line(tmp_path):
    path = write(tmp_path / "pipelines", HEAD + SOURCE.replace('"*.csv"', '"missing.csv"'))
    result = CliRunner().invoke(main, ["validate", "--pipelines", str(path.parent)])
    assert result.exit_code == 2
    assert printed(result.stderr, path, 7, "source 'drop': key 'path': no file"), result.stderr


def test_a_duplicate_pipeline_name_points_at_the_second_files_name(tmp_path):
    folder = tmp_path / "pipelines"
    write(folder, HEAD + SOURCE, "a.toml")
    second = write(folder, "# the same again\n" + HEAD + SOURCE, "b.toml")
    with pytest.raises(ConfigError) as caught:
        load_pipelines(folder, env={})
    assert caught.value.places == [f"{second}:3"]
    assert caught.value.located[0].startswith(f"{second}:3: [pipeline]: key 'name': duplicate")


def test_a_file_that_is_not_utf8_points_at_the_line_of_the_byte(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes('[pipeline]\nname = "café"\n'.encode("latin-1"))
    with pytest.raises(ConfigError) as caught:
        load_pipeline_file(path, env={})
    assert caught.value.places == [f"{path}:2"]


def test_source_names_with_quotes_and_keys_with_dots_are_found():
    text = textwrap.dedent("""\
        [pipeline]
        name = "p"
        [[source]]
        name = "it's"
        kind = "json_api"
        "headers".'X-Key' = 7
        """)
    problem = "p.toml source \"it's\": key 'headers.X-Key' must be a string, not int 7"
    assert problem_line(problem, "p.toml", text) == 6
    assert problem_line("p.toml source 'other': unknown key 'x'", "p.toml", text) is None
