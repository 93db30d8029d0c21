"""The line of a pipeline file a config problem is about, for editors to jump to.

Problems name the file, the table (`[pipeline]`, `source 'shop'`, `alert 'sour'`) and
the key (`key 'fields.text'`). tomllib hands back values without positions, and tomlkit
keeps none either (its issue #55 asks for them, still open), so a small scanner reads
the file's own lines: table headers (`[[source]]`, `[source.fields]`, `[pipeline]`,
`[[alert]]`) and `key =` lines, skipping the inside of multi-line strings and arrays.
A key that is not written (a required one left out) points at its table's header.
"""

from __future__ import annotations

import ast
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

_PART = r"""(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')"""
_DOTTED = rf"{_PART}(?:\s*\.\s*{_PART})*"
_HEADER = re.compile(rf"^(\[\[?)\s*({_DOTTED})\s*\]\]?")
_KEY = re.compile(rf"^({_DOTTED})\s*=(.*)$")
_LABEL = re.compile(r"""^ (source|alert) ('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")""")
_INDEX = re.compile(r"^: (source|alert) #(\d+) ")
_NAMED_KEY = re.compile(r"\bkeys? '([^']+)'")


@dataclass
class _Table:
    """One table of the file: the line of its header and of each key in it."""

    start: int
    name: str | None = None
    keys: dict[str, int] = field(default_factory=dict)

    def line_of(self, key: str) -> int:
        """The line of `key` ("fields.text", "allowed_domains[1]"), else of the
        nearest enclosing key that is written, else of the header."""
        key = re.sub(r"\[\d+\]", "", key)
        while key:
            if key in self.keys:
                return self.keys[key]
            key = key.rpartition(".")[0]
        return self.start


@dataclass
class _File:
    top: _Table = field(default_factory=lambda: _Table(1))  # keys before any header
    pipeline: _Table | None = None
    arrays: dict[str, list[_Table]] = field(default_factory=dict)  # "source", "alert"


def _parts(dotted: str) -> list[str]:
    return [
        part[1:-1] if part[:1] in "\"'" else part
        for part in re.findall(_PART, dotted)  # quoted parts keep their dots
    ]


def _depth(text: str) -> int:
    """How many brackets `text` leaves open, outside strings and comments."""
    depth, quote, index = 0, "", 0
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\" and quote == '"':
                index += 1
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "#":
            break
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        index += 1
    return depth


def _scan(text: str) -> _File:
    found = _File()
    table: _Table | None = found.top
    prefix = ""
    open_brackets = 0
    in_string = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if in_string:  # inside a multi-line string: nothing here is a key
            if raw.count(in_string) % 2:
                in_string = ""
            continue
        if open_brackets > 0:  # inside a multi-line array
            open_brackets += _depth(line)
            continue
        if header := _HEADER.match(line):
            parts = _parts(header.group(2))
            head, rest = parts[0], ".".join(parts[1:])
            if head == "pipeline":
                found.pipeline = found.pipeline or _Table(number)
                table = found.pipeline
            elif len(parts) == 1 and header.group(1) == "[[":
                table = _Table(number)
                found.arrays.setdefault(head, []).append(table)
            elif rest and found.arrays.get(head):
                table = found.arrays[head][-1]
            else:  # a table the loader does not know: its name points here
                found.top.keys.setdefault(head, number)
                table = None
            prefix = rest + "." if rest else ""
            if table is not None and rest:
                for end in range(1, len(parts)):
                    table.keys.setdefault(".".join(parts[1 : end + 1]), number)
            continue
        if not (match := _KEY.match(line)):
            continue
        key, value = prefix + ".".join(_parts(match.group(1))), match.group(2)
        if table is not None:
            table.keys.setdefault(key, number)
            if key == "name":
                table.name = _string(value)
        for quote in ('"""', "'''"):
            if value.count(quote) % 2:
                in_string = quote
        if not in_string:
            open_brackets = _depth(value)
    return found


def _string(value: str) -> str | None:
    try:
        parsed = tomllib.loads(f"v = {value}").get("v")
    except tomllib.TOMLDecodeError:
        return None
    return parsed if isinstance(parsed, str) else None


def problem_line(problem: str, path: Path | str, text: str) -> int | None:
    """The line of `text` (the file at `path`) that `problem` is about, if it says."""
    return _line(problem, path, text, None)


def _line(problem: str, path: Path | str, text: str, scanned: _File | None) -> int | None:
    prefix = str(path)
    if not problem.startswith(prefix):
        return None
    rest = problem[len(prefix) :]
    if rest.startswith((": invalid TOML", ": not UTF-8 text")):
        match = re.search(r"\bline (\d+)", rest)
        return int(match.group(1)) if match else None
    found = scanned or _scan(text)
    table: _Table | None = None
    after = rest
    if rest.startswith(" [pipeline]"):
        table, after = found.pipeline, rest[len(" [pipeline]") :]
    elif match := _LABEL.match(rest):
        label = ast.literal_eval(match.group(2))
        tables = found.arrays.get(match.group(1), [])
        for index, candidate in enumerate(tables, start=1):
            if candidate.name == label or label == f"#{index}":
                table = candidate  # the last of a duplicate name: the one to fix
        after = rest[match.end() :]
    elif match := _INDEX.match(rest):
        tables = found.arrays.get(match.group(1), [])
        index = int(match.group(2))
        if index <= len(tables):
            return tables[index - 1].start
        return found.top.keys.get(match.group(1))  # `source = [1, "x"]`
    elif match := re.match(r"^: unknown top-level table '([^']+)'", rest):
        return found.top.keys.get(match.group(1))
    if table is None:
        return None
    if match := re.match(r"^\.([^\s:]+):", after):  # "source 'api'.headers.X: environment"
        return table.line_of(match.group(1))
    if match := _NAMED_KEY.search(after):
        return table.line_of(match.group(1))
    return table.start


def locate(problem: str, path: Path | str, text: str) -> str:
    """'<path> source 'api': key 'x': …' -> '<path>:<line>: source 'api': key 'x': …',
    the way compilers and linters print, so terminals and editors open the line."""
    prefix = str(path)
    if not problem.startswith(prefix):
        return problem
    rest = problem[len(prefix) :].lstrip(": ")
    line = problem_line(problem, path, text)
    return f"{prefix}:{line}: {rest}" if line else f"{prefix}: {rest}"


def places(problems: list[str], path: Path, text: str | None = None) -> list[str]:
    """`file:line` of each problem about `path` ("" where no line is known); the file
    is read when its text is not given."""
    if text is None:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
    scanned = _scan(text)
    lines = [_line(problem, path, text, scanned) for problem in problems]
    return [f"{path}:{line}" if line else "" for line in lines]
