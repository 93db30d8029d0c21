"""Helpers for the preset conformance tests: read the real recordings in
../shared/fixtures/real/api, write a one-source pipeline, and read back what landed in
SQLite. A test module importing this is skipped as a whole where the recordings are
absent (a fresh clone); tests/test_presets_fixtures.py covers every preset without them."""

from __future__ import annotations

import gzip
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import CONFORMANCE_SKIP, SHARED_FIXTURES

from sentitui.models import LogLine, SourceStateChanged
from sentitui.processing.clean import clean_record, hash_author, parse_time
from sentitui.store import Store

API = SHARED_FIXTURES / "api"
if not API.is_dir():
    pytest.skip(CONFORMANCE_SKIP, allow_module_level=True)


def recording(path: str) -> Any:
    """A recorded JSON body (or a whole JSON/YAML cassette) under fixtures/real/api."""
    file = API / path
    text = file.read_text(encoding="utf-8")
    return yaml.safe_load(text) if file.suffix in (".yaml", ".yml") else json.loads(text)


def cassette_bodies(path: str) -> list[tuple[str, dict[str, Any], Any]]:
    """(uri, response headers, decoded JSON body) of each GET in a VCR cassette, in
    vcrpy's (`interactions`) or R vcr's (`http_interactions`) format. Bodies that
    vcrpy stored as `!!binary` are gzip-compressed bytes."""
    data = recording(path)
    out = []
    for interaction in data.get("interactions") or data.get("http_interactions") or []:
        request, response = interaction["request"], interaction["response"]
        if request["method"].upper() != "GET":
            continue
        body = response["body"]["string"]
        if isinstance(body, bytes):
            body = gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body
            body = body.decode("utf-8")
        headers = {k: v[0] if isinstance(v, list) else v for k, v in response["headers"].items()}
        out.append((request["uri"], headers, json.loads(body)))
    return out


def source_toml(kind: str, base_url: str, extra: str = "") -> str:
    return f"""
    [pipeline]
    name = "launch"

    [[source]]
    name = "{kind}"
    kind = "{kind}"
    base_url = "{base_url}"
    retries = 1
    backoff = 0.01
    {extra}
    """


def posts(db_path: Path) -> dict[str, dict[str, Any]]:
    with sqlite3.connect(db_path) as conn:
        conn.row_factory = sqlite3.Row
        return {r["external_id"]: dict(r) for r in conn.execute("SELECT * FROM posts")}


def failures(db_path: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(db_path) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM failed_records ORDER BY id")]


def cursor(db_path: Path) -> dict[str, Any]:
    with sqlite3.connect(db_path) as conn:
        row = conn.execute("SELECT cursor FROM source_state").fetchone()
    return json.loads(row[0]) if row else {}


def author_secret(db_path: Path) -> bytes:
    store = Store(db_path)
    try:
        return store.author_secret()
    finally:
        store.close()


def expected_row(text: str, created_at: Any, author: str | None, secret: bytes) -> dict[str, Any]:
    """The row a recorded post should become, given the text, time and author the preset
    should read from it. The text is put through the cleaner (HTML, entities, PII and
    handles are its business); the author hash is computed here with `hash_author`."""
    cleaned = clean_record(
        {"id": "expected", "text": text, "author": author},
        pipeline="launch",
        source="expected",
        author_secret=secret,
        fetched_at="",
    )
    return {
        "text": cleaned.text,
        "created_at": parse_time(created_at),
        "author_hash": hash_author(author, secret) if author else None,
    }


def landed(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("text", "created_at", "author_hash")}


class Events:
    """Collects the engine's state changes and log lines for one test."""

    def __init__(self) -> None:
        self.states: list[SourceStateChanged] = []
        self.logs: list[LogLine] = []

    def __call__(self, event: Any) -> None:
        if isinstance(event, SourceStateChanged):
            self.states.append(event)
        elif isinstance(event, LogLine):
            self.logs.append(event)

    def backoffs(self) -> list[str]:
        return [s.detail for s in self.states if s.status == "backing_off"]


def epoch_in(seconds: float) -> int:
    """An epoch-seconds reset at least `seconds` away (headers carry whole seconds)."""
    return int(time.time() + seconds) + 1
