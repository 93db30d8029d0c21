"""`kind = "file"`: CSV, JSONL and JSON-array exports (survey tools, partners, dumps).

Each file is read in chunks of `CHUNK` records; a chunk is one page. A JSONL line
that is not JSON becomes a parse failure carrying the line as written, and the
rest of the file still loads.
"""

from __future__ import annotations

import asyncio
import csv
import glob
import io
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from sentitui.models import FailedRecord, Page
from sentitui.sources.base import BaseSource, Option, SourceContext, get_path, map_fields

CHUNK = 500
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
        value = json.loads(body)
        records = value if isinstance(value, list) else [value]
        return Page(records=records, url=context.get("url", ""))

    async def pages(self, ctx: SourceContext) -> AsyncIterator[Page]:
        paths = self.paths()
        if not paths:
            ctx.log("WARNING", f"no file matches {self.options['path']!r} "
                               f"(relative to {self.pipeline.base_dir})")
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
                records = get_path(json.loads(body), self.options.get("records", ""))
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
                    records.append(json.loads(line))
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
