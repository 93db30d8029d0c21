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
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from sentitui.models import FailedRecord, Page
from sentitui.sources.base import (
    BaseSource,
    Option,
    SourceContext,
    get_path,
    map_fields,
    parse_json,
)

CHUNK = 500
SETTLE = 1.0  # seconds a file must be quiet before a last line without newline counts
HEAD = 64  # bytes fingerprinting a file's start, to notice a file replaced in place
FORMATS = ("jsonl", "json", "csv")


def guess_format(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    return {"ndjson": "jsonl", "jsonl": "jsonl", "json": "json", "csv": "csv", "tsv": "csv"}.get(suffix, "jsonl")


class FileSource(BaseSource):
    KIND = "file"
    OPTIONS = {
        "path": Option((str,), required=True, doc="glob, relative to the pipeline file"),
        "format": Option((str,), doc="jsonl | json | csv (default: from the extension)"),
        "records": Option((str,), default="", doc="for json: dotted path to the list"),
        "fields": Option((dict,), required=True),
        "watch": Option((bool,), default=False, doc="ingest new files as they land"),
        "encoding": Option((str,), default="utf-8-sig"),
    }

    @classmethod
    def check_config(cls, config: Any) -> list[str]:
        problems = []
        fmt = config.get("format")
        if fmt is not None and fmt not in FORMATS:
            problems.append(f"key 'format' must be one of {', '.join(FORMATS)}, not {fmt!r}")
        fields = config.get("fields") or {}
        for required in ("id", "text"):
            if required not in fields:
                problems.append(f"key 'fields.{required}' is required")
        encoding = config.get("encoding")
        if isinstance(encoding, str):
            try:
                codecs.lookup(encoding)
            except LookupError:
                problems.append(f"key 'encoding': unknown text encoding {encoding!r} "
                                f"(e.g. utf-8, utf-8-sig, cp1252, latin-1)")
        return problems

    def paths(self) -> list[Path]:
        pattern = self.options["path"]
        if not Path(pattern).is_absolute():
            pattern = str(self.pipeline.base_dir / pattern)
        return sorted(Path(p).resolve() for p in glob.glob(pattern, recursive=True) if Path(p).is_file())

    def map_record(self, payload: Any) -> dict[str, Any]:
        if not isinstance(payload, dict):
            raise ValueError(f"record is {type(payload).__name__}, not an object")
        return map_fields(payload, self.options["fields"])

    def reparse(self, body: str, context: dict[str, Any]) -> Page:
        value = parse_json(body)
        records = value if isinstance(value, list) else [value]
        return Page(records=records, url=context.get("url", ""))

    async def pages(self, ctx: SourceContext) -> AsyncIterator[Page]:
        paths = self.paths()
        if not paths:
            ctx.log("WARNING", f"no file matches {self.options['path']!r} "
                               f"(relative to {self.pipeline.base_dir})")
        if self.options.get("watch"):
            async for page in self._new_data_pages(paths, ctx.cursor):
                yield page
            return
        for path in paths:
            chunks = self._read_chunks(path)
            while True:
                page = await asyncio.to_thread(next, chunks, None)
                if page is None:
                    break
                yield page

    def _read_chunks(self, path: Path) -> Iterator[Page]:
        fmt = self.options.get("format") or guess_format(path)
        encoding = self.options.get("encoding", "utf-8-sig")
        url = str(path)
        if fmt == "json":
            body = path.read_text(encoding=encoding, errors="replace")
            try:
                records = get_path(parse_json(body), self.options.get("records", ""))
                if not isinstance(records, list):
                    raise ValueError(f"records path {self.options.get('records', '')!r} "
                                     f"does not lead to a list")
            except ValueError as exc:
                yield Page([], url, failures=[FailedRecord("parse", f"{path}: {exc}", body, {"url": url})])
                return
            for start in range(0, len(records), CHUNK):
                yield Page(records[start:start + CHUNK], url)
            return

        with path.open("r", encoding=encoding, errors="replace", newline="") as handle:
            if fmt == "csv":
                yield from self._csv_chunks(handle, url, path.suffix.lower() == ".tsv")
                return
            records: list[Any] = []
            failures: list[FailedRecord] = []
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    records.append(parse_json(line))
                except json.JSONDecodeError as exc:
                    failures.append(FailedRecord(
                        "parse", f"{path} line {number}: invalid JSON: {exc}", line.rstrip("\n"),
                        {"url": url, "line": number}))
                if len(records) + len(failures) >= CHUNK:
                    yield Page(records, url, failures=failures)
                    records, failures = [], []
            if records or failures:
                yield Page(records, url, failures=failures)

    @staticmethod
    def _csv_chunks(handle: io.TextIOBase, url: str, tabs: bool) -> Iterator[Page]:
        reader = csv.DictReader(handle, delimiter="\t" if tabs else ",")
        records: list[Any] = []
        for row in reader:
            # Extra cells land under the None key; keep them visible in the payload.
            if None in row:
                row["_extra"] = row.pop(None)
            records.append(row)
            if len(records) >= CHUNK:
                yield Page(records, url)
                records = []
        if records:
            yield Page(records, url)

    # ---- watch = true: a drop folder, read incrementally ----------------------------

    def watch_dirs(self) -> list[Path]:
        """The folders to watch for drops: the glob's leading part without wildcards."""
        pattern = Path(self.options["path"])
        if not pattern.is_absolute():
            pattern = self.pipeline.base_dir / pattern
        parts = []
        for part in pattern.parts:
            if glob.has_magic(part):
                break
            parts.append(part)
        folder = Path(os.path.normpath(Path(*parts)))
        return [folder if folder.is_dir() or folder == pattern.parent else folder.parent]

    def matches(self, path: str) -> bool:
        """Whether a changed path is one this source reads (so other files stay quiet)."""
        pattern = self.options["path"]
        if not Path(pattern).is_absolute():
            pattern = str(self.pipeline.base_dir / pattern)
        return fnmatch.fnmatch(os.path.normpath(path), os.path.normpath(pattern))

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

    async def _new_data_pages(self, paths: list[Path], cursor: dict[str, Any]) -> AsyncIterator[Page]:
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

    def _read_new(self, path: Path, state: dict[str, Any] | None) -> Iterator[tuple[Page, dict[str, Any] | None]]:
        try:
            st = path.stat()
        except FileNotFoundError:
            return
        same = state is not None and _same_file(path, st, state)
        offset, line = (state["offset"], state.get("line", 0)) if same else (0, 0)
        fmt = self.options.get("format") or guess_format(path)

        def mark(offset: int, line: int) -> dict[str, Any]:
            return {"inode": st.st_ino, "offset": offset, "line": line, "mtime": st.st_mtime,
                    **_head(path, min(offset, HEAD))}

        if fmt == "json":  # one document cannot be appended to: read it whole when it changed
            if same and state.get("mtime") == st.st_mtime and offset == st.st_size:
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
            text = (_decode(line_, encoding) for line_ in lines)
            reader = csv.reader(text, delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
            columns = next(csv.reader([_decode(header, encoding)]), [])
            records: list[Any] = []
            for row in reader:
                if not row:
                    continue  # a blank line, as csv.DictReader skips them
                record: dict[str, Any] = dict(zip(columns, row, strict=False))
                if len(row) > len(columns):
                    record["_extra"] = row[len(columns):]
                records.append(record)
                if len(records) >= CHUNK:
                    yield Page(records, url), mark(offset + lines.consumed, 0)
                    records = []
            if records:
                yield Page(records, url), mark(offset + lines.consumed, 0)
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
                failures.append(FailedRecord("parse", f"{path} line {line}: invalid JSON: {exc}",
                                             text.rstrip("\r\n"), {"url": url, "line": line}))
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
            line, self.consumed = self.data[self.consumed:end], end
            yield line


def _decode(raw: bytes, encoding: str) -> str:
    return raw.decode(encoding, errors="replace")


def _head(path: Path, length: int) -> dict[str, Any]:
    with path.open("rb") as handle:
        return {"head": hashlib.sha1(handle.read(length)).hexdigest(), "head_len": length}


def _same_file(path: Path, st: os.stat_result, state: dict[str, Any]) -> bool:
    """The file the cursor describes, grown or unchanged, not a new one under its name."""
    if state.get("inode") != st.st_ino or st.st_size < state.get("offset", 0):
        return False
    return _head(path, state.get("head_len", 0)).get("head") == state.get("head")
