"""Nothing leaked, nothing drives the terminal (issue 11 §2 and §4).

A raw local server (aiohttp's own server refuses to send what this one sends) answers
with a reason phrase carrying an OSC window-title sequence and a clear-screen, a
content type with an escape in it, and a body that echoes the request line and its
Authorization header. The pipeline takes a token and a key parameter from the
environment. Then every sink is grepped for the secret bytes and for ESC: the SQLite
file (and its WAL), stderr and the log lines of `run -v`, `run --json`, `failed show`,
`failed list --json`, and a real `run --watch` daemon's log file, stderr and events.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys
import textwrap
import time
from pathlib import Path

import pytest

from sentitui.processing.redact import redact, register_secret, restore_params, safe_line

TOKEN = "tok-5e6f7a8b9c0d1e2f"
PARAM = "prm-1a2b3c4d5e6f7a8b"
SECRETS = (TOKEN.encode(), PARAM.encode())
TERMINAL_TRICKS = b"\x1b]0;pwned\x07\x1b[2J"


async def raw_server() -> tuple[asyncio.Server, str]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        request_line = head.split(b"\r\n")[0]
        if b" /html" in request_line:
            body = b"<html><body>Maintenance</body></html>"
            status = b"200 OK"
            kind = b"text/html" + TERMINAL_TRICKS
        else:
            body = b"refused " + head  # echoes the URL and the Authorization header
            status = b"500 Oops " + TERMINAL_TRICKS
            kind = b"text/plain"
        writer.write(
            b"HTTP/1.1 " + status + b"\r\nContent-Type: " + kind + b"\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


PIPELINE = """
    [pipeline]
    name = "leaky"
    schedule = "1h"

    [[source]]
    name = "api"
    kind = "json_api"
    url = "{url}/api"
    retries = 0
    headers = {{ Authorization = "Bearer ${{LEAK_TOKEN}}" }}
    params = {{ api_key = "${{LEAK_PARAM}}", q = "aquasilk" }}
    fields = {{ id = "id", text = "text" }}

    [[source]]
    name = "page"
    kind = "json_api"
    url = "{url}/html"
    retries = 0
    params = {{ key = "${{LEAK_PARAM}}" }}
    fields = {{ id = "id", text = "text" }}
"""


def env() -> dict[str, str]:
    return {**os.environ, "LEAK_TOKEN": TOKEN, "LEAK_PARAM": PARAM, "SENTITUI_LOG": ""}


async def sentitui(*args: str, cwd: Path) -> tuple[int, bytes, bytes]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sentitui.cli",
        *args,
        cwd=cwd,
        env=env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode is not None
    return proc.returncode, out, err


def database_bytes(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*") if p.is_file())


def assert_clean(where: str, data: bytes, *, text: bool = True) -> None:
    for secret in SECRETS:
        assert secret not in data, f"a secret reached {where}"
    if text:  # a binary file holds 0x1b bytes of its own
        assert b"\x1b" not in data and b"\x07" not in data, f"a terminal escape reached {where}"


@pytest.fixture
async def server_url():
    server, url = await raw_server()
    yield url
    server.close()
    await server.wait_closed()


async def test_no_secret_or_escape_reaches_the_db_stderr_or_cli_output(tmp_path, server_url):
    folder = tmp_path / "pipelines"
    folder.mkdir()
    (folder / "leaky.toml").write_text(textwrap.dedent(PIPELINE.format(url=server_url)))
    db = tmp_path / "run.db"
    common = ("--db", str(db))

    code, out, err = await sentitui(
        "-v", "run", "--json", *common, "--pipelines", str(folder), cwd=tmp_path
    )
    assert code == 1
    summary = json.loads(out)
    errors = {r["source"]: r["error"] for r in summary["runs"]}
    assert errors["api"] == "HTTP 500 Oops"  # the text, without its escape sequences
    assert_clean("run --json", out)
    assert_clean("run stderr", err)
    assert b"api_key=***" in err  # the URL is logged, its key redacted

    _, listed, _ = await sentitui("failed", "list", "--json", *common, cwd=tmp_path)
    [api_id] = [str(r["id"]) for r in json.loads(listed) if r["source"] == "api"]
    _, shown, _ = await sentitui("failed", "show", api_id, *common, cwd=tmp_path)
    _, shown_json, _ = await sentitui("failed", "show", api_id, "--json", *common, cwd=tmp_path)
    for where, data in [("failed show", shown), ("show --json", shown_json), ("list", listed)]:
        assert_clean(where, data)
    assert b"refused GET /api?" in shown  # the echoed request, its key redacted
    assert_clean("the database file", database_bytes(db), text=False)
    with sqlite3.connect(db) as conn:
        [(context,)] = conn.execute("SELECT context FROM failed_records WHERE source = 'api'")
        errors = conn.execute("SELECT error FROM failed_records UNION ALL SELECT error FROM runs")
        stored = "".join(e or "" for (e,) in errors)
    assert "api_key=***" in json.loads(context)["url"]
    assert "Oops" in stored and "expected JSON, got text/html (HTTP 200): '<html>" in stored
    assert_clean("stored errors", stored.encode())  # other tools print these columns


async def test_the_daemon_log_file_and_events_hold_no_secret_or_escape(tmp_path, server_url):
    folder = tmp_path / "pipelines"
    folder.mkdir()
    (folder / "leaky.toml").write_text(textwrap.dedent(PIPELINE.format(url=server_url)))
    db, log = tmp_path / "live.db", tmp_path / "live.log"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sentitui.cli",
        "run",
        "--watch",
        "--db",
        str(db),
        "--pipelines",
        str(folder),
        cwd=tmp_path,
        env=env(),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30  # another process's effects: poll, bounded
        while not _finished_runs(db) >= 2:
            assert proc.returncode is None and time.monotonic() < deadline, "no runs finished"
            await asyncio.sleep(0.1)
        while b"api_key=***" not in _events(db):  # the daemon flushes events every 0.5 s
            assert time.monotonic() < deadline, "events not flushed"
            await asyncio.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0
    assert b"Oops" in log.read_bytes()
    assert_clean("the daemon's log file", log.read_bytes())
    assert_clean("the daemon's stderr", err)
    assert_clean("the events table", _events(db))
    assert_clean("the database file", database_bytes(db), text=False)


def _finished_runs(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=10) as conn:
            return conn.execute("SELECT COUNT(*) FROM runs WHERE ended_at IS NOT NULL").fetchone()[
                0
            ]
    except sqlite3.OperationalError:
        return 0


def _events(db: Path) -> bytes:
    try:
        with sqlite3.connect(db, timeout=10) as conn:
            found = conn.execute("SELECT message, data FROM events").fetchall()
    except sqlite3.OperationalError:
        return b""
    return repr(found).encode()


def test_redact_names_values_userinfo_and_bearer():
    register_secret("s3cr3t-value-42")
    text = (
        "GET https://u:hunter22@api.test/v1?q=shampoo&api_key=abc123&pageToken=CAUQAA"
        "&X-Amz-Signature=ffee&accessToken=zz&keyword=hair&sig=1 failed: Bearer abc.def "
        "echo s3cr3t-value-42 s3cr3t%2Dvalue-42"
    )
    assert redact(text) == (
        "GET https://u:***@api.test/v1?q=shampoo&api_key=***&pageToken=CAUQAA"
        "&X-Amz-Signature=***&accessToken=***&keyword=hair&sig=*** failed: Bearer *** "
        "echo *** s3cr3t%2Dvalue-42"
    )
    assert safe_line("HTTP 500 Oops \x1b]0;pwned\x07\x1b[2J key=s3cr3t-value-42") == (
        "HTTP 500 Oops  key=***"
    )


def test_a_redacted_parameter_is_restored_from_the_configuration():
    url = "https://api.test/v1?q=x&api_key=***&page=2"
    assert restore_params(url, {"api_key": "real"}) == "https://api.test/v1?q=x&api_key=real&page=2"
    with pytest.raises(ValueError, match="'api_key'"):
        restore_params(url, {})
