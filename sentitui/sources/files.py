"""`kind = "file"`: CSV, JSONL and JSON-array exports (survey tools, partners, dumps).

Each file is read in chunks of `CHUNK` records; a chunk is one page. A JSONL line
that is not JSON becomes a parse failure carrying the line as written, and the
rest of the file still loads.
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import fnmatch
import glob
import hashlib
import io
import json
import os
import re
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Literal, get_args

from sentitui.config.kinds import FIELDS
from sentitui.models import FailedRecord, Page
from sentitui.sources.base import (
    BaseSource,
    Option,
    SourceConfigError,
    SourceContext,
    get_path,
    map_fields,
    parse_json,
)
from sentitui.textcodec import FALLBACK

CHUNK = 500
SETTLE = 1.0  # seconds a file must be quiet before a last line without newline counts
HEAD = 64  # bytes fingerprinting a file's start, to notice a file replaced in place
Format = Literal["jsonl", "json", "csv"]
FORMATS: tuple[Format, ...] = get_args(Format)


def guess_format(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    return {"ndjson": "jsonl", "jsonl": "jsonl", "json": "json", "csv": "csv", "tsv": "csv"}.get(
        suffix, "jsonl"
    )


def _next_or_none(chunks: Iterator[Page]) -> Page | None:
    """`next(chunks, None)`, named so `asyncio.to_thread` can run it."""
    return next(chunks, None)


class FileSource(BaseSource):
    KIND = "file"
    OPTIONS = {
        "path": Option((str,), required=True, doc="glob, relative to the pipeline file"),
        "format": Option((str,), doc="default: from the extension", shape=Format),
        "records": Option((str,), default="", doc="for json: dotted path to the list"),
        "fields": Option((dict,), required=True, shape=FIELDS),
        "watch": Option((bool,), default=False, doc="ingest new files as they land"),
        "encoding": Option((str,), default="utf-8-sig"),
        "follow_symlinks": Option(
            (bool,),
            default=False,
            doc="read matched files whose real path lies outside the folder (symlinks)",
        ),
    }

    @classmethod
    def check_config(cls, config: Any) -> list[str]:
        problems = []
        fields = config.get("fields") or {}
        for required in ("id", "text"):
            if required not in fields:
                problems.append(f"key 'fields.{required}' is required")
        encoding = config.get("encoding")
        if isinstance(encoding, str):
            try:
                codecs.lookup(encoding)
            except LookupError:
                problems.append(
                    f"key 'encoding': unknown text encoding {encoding!r} "
                    f"(e.g. utf-8, utf-8-sig, cp1252, latin-1)"
                )
        return problems

    def paths(self, log: Callable[[str, str], None] | None = None) -> list[Path]:
        """The files the glob matches, by their real paths. One whose real path leaves
        the folder the glob starts from (a symlink to /etc/passwd dropped in it) is
        skipped, with a log line, unless `follow_symlinks = true`."""
        pattern = str(self.pipeline.resolve_path(self.options["path"]))
        folder = self.watch_dirs()[0].resolve()
        found = []
        for match in sorted(glob.glob(pattern, recursive=True)):
            if not Path(match).is_file():
                continue
            real = Path(match).resolve()
            if not self.options.get("follow_symlinks") and not real.is_relative_to(folder):
                if log is not None:
                    log(
                        "WARNING",
                        f"{match}: skipped: it leads out of the folder {folder} (to {real}); "
                        f"set follow_symlinks = true to read such files",
                    )
                continue
            found.append(real)
        return sorted(found)

    def config_problems(self) -> list[str]:
        """A path without wildcards names one file, which must exist; a drop folder
        (`watch = true`) must exist. A glob may match nothing yet."""
        pattern = self.pipeline.resolve_path(self.options["path"])
        if self.options.get("watch"):
            return [
                f"key 'path': drop folder {folder} does not exist"
                for folder in self.watch_dirs()
                if not folder.is_dir()
            ]
        if not glob.has_magic(self.options["path"]) and not pattern.is_file():
            return [f"key 'path': no file {pattern} (paths are relative to the pipeline file)"]
        return []

    def map_record(self, payload: Any) -> dict[str, Any]:
        if not isinstance(payload, dict):
            raise ValueError(f"record is {type(payload).__name__}, not an object")
        return map_fields(payload, self.options["fields"])

    def reparse(self, body: str, context: dict[str, Any]) -> Page:
        if context.get("csv_columns") is not None:  # one CSV row the reader rejected
            delimiter = "\t" if str(context.get("url", "")).lower().endswith(".tsv") else ","
            try:
                rows = list(csv.reader(io.StringIO(body), delimiter=delimiter))
            except csv.Error as exc:
                raise ValueError(f"unreadable CSV row: {exc}") from None
            columns = context["csv_columns"]
            records = [dict(zip(columns, row, strict=False)) for row in rows if row]
            return Page(records=records, url=context.get("url", ""))
        value = parse_json(body)
        if "line" not in context:  # a whole JSON document: its records are where `records` says
            path = self.options.get("records", "")
            records = get_path(value, path)
            if not isinstance(records, list):
                raise ValueError(f"records path {path!r} does not lead to a list")
            return Page(records=records, url=context.get("url", ""))
        records = value if isinstance(value, list) else [value]
        return Page(records=records, url=context.get("url", ""))

    async def pages(self, ctx: SourceContext) -> AsyncIterator[Page]:
        problems = self.config_problems()
        if problems:
            raise SourceConfigError(f"source {self.config.name!r}: {problems[0]}")
        paths = self.paths(ctx.log)
        if not paths:
            ctx.log(
                "WARNING",
                f"no file matches {self.options['path']!r} (relative to {self.pipeline.base_dir})",
            )
        if self.options.get("watch"):
            async for page in self._new_data_pages(paths, ctx.cursor):
                yield page
            return
        for path in paths:
            chunks = self._read_chunks(path)
            while (chunk := await asyncio.to_thread(_next_or_none, chunks)) is not None:
                yield chunk

    def _read_chunks(self, path: Path) -> Iterator[Page]:
        fmt = self.options.get("format") or guess_format(path)
        encoding = self.options.get("encoding", "utf-8-sig")
        url = str(path)
        with path.open("r", encoding=encoding, errors=FALLBACK, newline="") as handle:
            if fmt == "json":
                yield from self._json_chunks(handle, path)
            elif fmt == "csv":
                rows = _csv_rows(handle, "\t" if path.suffix.lower() == ".tsv" else ",")
                yield from (page for page, _ in _csv_pages(rows, path, None, 0))
            else:
                records: list[Any] = []
                failures: list[FailedRecord] = []
                for number, line, cut in _bounded_lines(handle):
                    if not line.strip():
                        continue
                    try:
                        if cut:
                            raise json.JSONDecodeError(
                                f"line longer than {MAX_LINE:,} characters "
                                f"({cut:,} more were not read)",
                                line,
                                0,
                            )
                        records.append(parse_json(line))
                    except json.JSONDecodeError as exc:
                        failures.append(
                            FailedRecord(
                                "parse",
                                f"{path} line {number}: invalid JSON: {exc}",
                                line.rstrip("\n"),
                                {"url": url, "line": number},
                            )
                        )
                    if len(records) + len(failures) >= CHUNK:
                        yield Page(records, url, failures=failures)
                        records, failures = [], []
                if records or failures:
                    yield Page(records, url, failures=failures)

    def _json_chunks(self, handle: io.TextIOBase, path: Path) -> Iterator[Page]:
        """One JSON document, streamed: the records list is read item by item, so a
        200 MB export costs a page of records in memory, not the whole document."""
        url = str(path)
        stream = _JsonStream(handle)
        records: list[Any] = []
        try:
            for record in stream.records(self.options.get("records", "")):
                records.append(record)
                if len(records) >= CHUNK:
                    yield Page(records, url)
                    records = []
        except ValueError as exc:
            body, whole = _document_body(path, self.options.get("encoding", "utf-8-sig"))
            where = (
                f"{path} line {stream.line_of(stream.error_at)}"
                if stream.error_at is not None
                else str(path)
            )
            note = "" if whole else f" (payload: the first {MAX_DOCUMENT_PAYLOAD:,} characters)"
            failure = FailedRecord("parse", f"{where}: {exc}{note}", body, {"url": url})
            yield Page(records, url, failures=[failure])
            return
        if records:
            yield Page(records, url)

    # ---- watch = true: a drop folder, read incrementally ----------------------------

    def watch_dirs(self) -> list[Path]:
        """The folders to watch for drops: the glob's leading part without wildcards."""
        pattern = self.pipeline.resolve_path(self.options["path"])
        parts = []
        for part in pattern.parts:
            if glob.has_magic(part):
                break
            parts.append(part)
        folder = Path(os.path.normpath(Path(*parts)))
        return [folder if folder.is_dir() or folder == pattern.parent else folder.parent]

    def matches(self, path: str) -> bool:
        """Whether a changed path is one this source reads (so other files stay quiet)."""
        pattern = self.pipeline.resolve_path(self.options["path"])
        return fnmatch.fnmatch(os.path.normpath(path), str(pattern))

    def pending(self, cursor: dict[str, Any]) -> bool:
        """True if a matching file holds bytes the cursor has not consumed (a last line
        still waiting for its newline or for the file to settle)."""
        files = cursor.get("files", {})
        for path in self.paths():
            state = files.get(str(path))
            size = path.stat().st_size
            if (state is None and size > 0) or size > (state or {}).get("offset", size):
                return True
        return False

    async def _new_data_pages(
        self, paths: list[Path], cursor: dict[str, Any]
    ) -> AsyncIterator[Page]:
        """Only what is new since the committed cursor: whole new files and the appended
        tail of known ones. Each page carries the cursor up to its last record, and the
        writer commits it with the page's posts, so every line loads exactly once, even
        across restarts. A file replaced in place (new inode, shorter, different start)
        is read again from the top; its old records then count as duplicates."""
        files = dict(cursor.get("files", {}))
        for path in paths:
            chunks = self._read_new(path, files.get(str(path)))
            while (item := await asyncio.to_thread(next, chunks, None)) is not None:
                page, state = item
                if state is not None:
                    files[str(path)] = state
                page.cursor = {**cursor, "files": dict(files)}
                yield page

    def _read_new(
        self, path: Path, state: dict[str, Any] | None
    ) -> Iterator[tuple[Page, dict[str, Any] | None]]:
        try:
            st = path.stat()
        except FileNotFoundError:
            return
        known = state if state is not None and _same_file(path, st, state) else None
        offset, line = (known["offset"], known.get("line", 0)) if known is not None else (0, 0)
        fmt = self.options.get("format") or guess_format(path)

        def mark(offset: int, line: int) -> dict[str, Any]:
            return {
                "inode": st.st_ino,
                "offset": offset,
                "line": line,
                "mtime": st.st_mtime,
                **_head(path, min(offset, HEAD)),
            }

        if fmt == "json":  # one document cannot be appended to: read it whole when it changed
            if known is not None and known.get("mtime") == st.st_mtime and offset == st.st_size:
                return
            chunks = list(self._read_chunks(path))
            for index, page in enumerate(chunks):
                yield page, (mark(st.st_size, 0) if index == len(chunks) - 1 else None)
            return
        if offset >= st.st_size:
            return

        encoding = self.options.get("encoding", "utf-8-sig")
        with path.open("rb") as handle:
            header = handle.readline() if fmt == "csv" else b""
            if fmt == "csv" and offset < len(header):
                offset = len(header)
            handle.seek(offset)
            data = handle.read(st.st_size - offset)
        end = data.rfind(b"\n") + 1
        if end < len(data) and time.time() - st.st_mtime >= SETTLE:
            end = len(data)  # the writer is done; its last line just has no newline
        url = str(path)
        lines = _Lines(data[:end])
        if fmt == "csv":
            texts = (_decode(line_, encoding) for line_ in lines)
            delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
            columns = _header(_decode(header, encoding), delimiter)
            rows = _csv_rows(texts, delimiter)
            first_line = line if line else len(header.splitlines()) or 1
            for page, last_line in _csv_pages(rows, path, columns, first_line):
                yield page, mark(offset + lines.consumed, last_line)
            return

        records, failures = [], []
        for raw in lines:
            line += 1
            text = _decode(raw, encoding)
            if not text.strip():
                continue
            try:
                records.append(parse_json(text))
            except json.JSONDecodeError as exc:
                failures.append(
                    FailedRecord(
                        "parse",
                        f"{path} line {line}: invalid JSON: {exc}",
                        text.rstrip("\r\n"),
                        {"url": url, "line": line},
                    )
                )
            if len(records) + len(failures) >= CHUNK:
                yield Page(records, url, failures=failures), mark(offset + lines.consumed, line)
                records, failures = [], []
        if records or failures:
            yield Page(records, url, failures=failures), mark(offset + lines.consumed, line)


class _Lines:
    """Iterate the lines of a byte string, keeping count of the bytes handed out, so a
    reader that pulls lines lazily (csv) tells us where each record ends."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.consumed = 0

    def __iter__(self) -> Iterator[bytes]:
        while self.consumed < len(self.data):
            end = self.data.find(b"\n", self.consumed)
            end = len(self.data) if end < 0 else end + 1
            line, self.consumed = self.data[self.consumed : end], end
            yield line


def _decode(raw: bytes, encoding: str) -> str:
    return raw.decode(encoding, errors=FALLBACK)


# ---- CSV rows, whatever the file holds ---------------------------------------------------

MAX_CSV_FIELD = 16 * 1024 * 1024  # characters; a longer cell is a parse failure, not a crash
csv.field_size_limit(max(csv.field_size_limit(), MAX_CSV_FIELD))


class _Taken:
    """The lines a csv reader pulls, kept until the record they make is handed out,
    so a row the reader rejects is stored as written, with its line number."""

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = iter(lines)
        self.taken: list[str] = []
        self.count = 0

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.taken.append(line)
        self.count += 1
        return line

    def take(self) -> tuple[str, int]:
        """The raw text of the last record and the number of its first line."""
        raw, first = "".join(self.taken), self.count - len(self.taken) + 1
        self.taken = []
        return raw, first


def _csv_rows(
    lines: Iterable[str], delimiter: str
) -> Iterator[tuple[list[str] | None, str, int, str]]:
    """(row, raw text, first line number, error) for each record; a row the csv module
    rejects (a cell over the size limit, say) comes with row None and the error, and
    reading goes on with the next line."""
    taken = _Taken(lines)
    reader = csv.reader(taken, delimiter=delimiter)
    while True:
        try:
            row = next(reader)
            error = ""
        except StopIteration:
            return
        except csv.Error as exc:
            row, error = None, str(exc)
        raw, line = taken.take()
        yield row, raw, line, error


def _csv_pages(
    rows: Iterator[tuple[list[str] | None, str, int, str]],
    path: Path,
    columns: list[str] | None,
    line_offset: int,
) -> Iterator[tuple[Page, int]]:
    """Pages of CSV records (dicts as csv.DictReader makes them: missing cells None,
    extra cells under `_extra`) and the number of the last line each page read.
    Without `columns`, the first non-blank row is the header."""
    url = str(path)
    records: list[Any] = []
    failures: list[FailedRecord] = []
    last = line_offset
    for row, raw, line, error in rows:
        line += line_offset
        last = line + max(raw.count("\n"), 1) - 1
        if row is None:
            # The header goes with the failure so a retry can read the row on its own.
            failures.append(
                FailedRecord(
                    "parse",
                    f"{path} line {line}: unreadable CSV row: {error}",
                    raw.rstrip("\r\n"),
                    {"url": url, "line": line, "csv_columns": columns},
                )
            )
        elif not row:
            continue  # a blank line, as csv.DictReader skips them
        elif columns is None:
            columns = row
            continue
        else:
            record: dict[str, Any] = dict(zip(columns, row, strict=False))
            for name in columns[len(row) :]:
                record.setdefault(name, None)
            if len(row) > len(columns):  # keep extra cells visible in the payload
                record["_extra"] = row[len(columns) :]
            records.append(record)
        if len(records) + len(failures) >= CHUNK:
            yield Page(records, url, failures=failures), last
            records, failures = [], []
    if records or failures:
        yield Page(records, url, failures=failures), last


# ---- long lines and big JSON documents ---------------------------------------------------

MAX_LINE = 64 * 1024 * 1024  # characters of one JSONL line held at once
MAX_DOCUMENT_PAYLOAD = 32 * 1024 * 1024  # characters of an unreadable JSON document kept
READ_SIZE = 1024 * 1024


def _bounded_lines(handle: io.TextIOBase) -> Iterator[tuple[int, str, int]]:
    """(number, line, characters cut) for each line; a line longer than MAX_LINE is
    cut there and the rest of it skipped, so one endless line cannot fill memory."""
    number = 0
    while True:
        line = handle.readline(MAX_LINE)
        if not line:
            return
        number += 1
        cut = 0
        if len(line) >= MAX_LINE and not line.endswith("\n"):
            while more := handle.readline(READ_SIZE):
                cut += len(more)
                if more.endswith("\n"):
                    break
        yield number, line, cut


def _document_body(path: Path, encoding: str) -> tuple[str, bool]:
    """The document as text for a failed record: whole, or its first part if huge."""
    with path.open("r", encoding=encoding, errors=FALLBACK, newline="") as handle:
        body = handle.read(MAX_DOCUMENT_PAYLOAD)
        return body, not handle.read(1)


_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")


class _JsonStream:
    """Reads the records of one JSON document from a text handle without holding it
    whole: follows the dotted `records` path through objects (and list indexes),
    then decodes the list's items one at a time with a buffer of a few MB."""

    def __init__(self, handle: io.TextIOBase) -> None:
        self.handle = handle
        self.buf = ""
        self.pos = 0
        self.lines_before = 0  # newlines in the text already dropped from the buffer
        self.eof = False
        self.error_at: int | None = None  # buffer position of a syntax error

    def line_of(self, pos: int | None) -> int:
        return self.lines_before + self.buf.count("\n", 0, pos or 0) + 1

    def _fill(self) -> bool:
        if self.eof:
            return False
        data = self.handle.read(max(READ_SIZE, len(self.buf) - self.pos))
        if not data:
            self.eof = True
            return False
        self.lines_before += self.buf.count("\n", 0, self.pos)
        self.buf = self.buf[self.pos :] + data
        self.pos = 0
        return True

    def _peek(self) -> str:
        """The next character that is not white space ("" at the end)."""
        while True:
            space = _SPACE.match(self.buf, self.pos)
            assert space is not None  # "[ \t\n\r]*" matches the empty string too
            self.pos = space.end()
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._fill():
                return ""

    def _expect(self, char: str) -> None:
        if self._peek() != char:
            self._fail(f"expected {char!r}")
        self.pos += 1

    def _fail(self, message: str) -> None:
        self.error_at = self.pos
        found = self.buf[self.pos : self.pos + 40]
        raise ValueError(
            f"invalid JSON: {message} at {found!r}"
            if found
            else f"invalid JSON: {message}, found the end of the file"
        )

    def _value(self) -> Any:
        """Decode the next complete value, reading more of the file as needed."""
        self._peek()
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buf, self.pos)
            except RecursionError:
                self._fail("nested too deeply to read (more than about 1,000 levels)")
            except json.JSONDecodeError as exc:
                if len(self.buf) - self.pos > MAX_LINE or not self._fill():
                    self.pos = exc.pos
                    self._fail(exc.msg.removesuffix(" at"))
                continue
            if end < len(self.buf) or self.eof or not self._fill():  # "12" may go on as "123"
                self.pos = end
                return value

    def records(self, path: str) -> Iterator[Any]:
        parts = path.split(".") if path else []
        for depth, part in enumerate(parts):
            char = self._peek()
            if char == "{":
                self.pos += 1
                while True:
                    if self._peek() == "}":
                        raise ValueError(
                            f"records path {path!r} not found "
                            f"(no key {'.'.join(parts[: depth + 1])!r})"
                        )
                    key = self._value()
                    self._expect(":")
                    if key == part:
                        break
                    self._value()
                    if self._peek() == ",":
                        self.pos += 1
            elif char == "[" and part.isdigit():
                self.pos += 1
                for _ in range(int(part)):
                    if self._peek() == "]":
                        raise ValueError(f"records path {path!r} not found")
                    self._value()
                    if self._peek() == ",":
                        self.pos += 1
                if self._peek() == "]":
                    raise ValueError(f"records path {path!r} not found")
            else:
                raise ValueError(f"records path {path!r} not found")
        if self._peek() != "[":
            shape = {"{": "an object", "": "nothing"}.get(self._peek(), "a single value")
            raise ValueError(f"records path {path!r} does not lead to a list (found {shape})")
        self.pos += 1
        if self._peek() == "]":
            return
        while True:
            yield self._value()
            char = self._peek()
            if char == "]":
                return
            if char != ",":
                self._fail("expected ',' or ']' after a record")
            self.pos += 1


def _header(line: str, delimiter: str) -> list[str]:
    """A CSV header line's column names; a stray carriage return or quote in it (which
    the csv module refuses) still gives names, split at the delimiter."""
    try:
        return next(csv.reader(io.StringIO(line, newline=""), delimiter=delimiter), [])
    except csv.Error:
        return [name.strip() for name in line.rstrip("\r\n").split(delimiter)]


def _head(path: Path, length: int) -> dict[str, Any]:
    with path.open("rb") as handle:
        return {"head": hashlib.sha1(handle.read(length)).hexdigest(), "head_len": length}


def _same_file(path: Path, st: os.stat_result, state: dict[str, Any]) -> bool:
    """The file the cursor describes, grown or unchanged, not a new one under its name."""
    if state.get("inode") != st.st_ino or st.st_size < state.get("offset", 0):
        return False
    return _head(path, state.get("head_len", 0)).get("head") == state.get("head")
