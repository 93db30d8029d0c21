"""Chaos suite helpers: newest-first paged APIs on a loopback port (a thread in the
test process) and real `sentitui run --once` processes that the tests kill.

Feeds: `mastodon` (max_id / min_id, Link header), `x` (opaque next_token, since_id)
and `offset` (a generic json_api with offset paging and an incremental since_id).
Faults are set per page (keyed by the paging parameter) and are served by the same
thread, so a test waits for "page N served" as an event, never for a time.
"""

from __future__ import annotations

import json
import os
import resource
import select
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

Fault = str  # "error" (HTTP 500), "cut" (JSON cut off, once), "garbage" (until cleared)


@dataclass
class Feed:
    """`total` posts with ids 1..total, served newest first."""

    total: int
    served: int = 0  # pages answered with 200
    faults: dict[str, Fault] = field(default_factory=dict)
    lock: threading.Condition = field(default_factory=threading.Condition)

    def newest_first(self, above: int = 0, below: int | None = None) -> list[int]:
        top = self.total if below is None else min(self.total, below - 1)
        return list(range(top, above, -1))

    def fault(self, key: str) -> Fault | None:
        with self.lock:
            found = self.faults.get(key)
            if found == "cut":
                del self.faults[key]
            return found

    def count_page(self) -> None:
        with self.lock:
            self.served += 1
            self.lock.notify_all()


def status(number: int) -> dict[str, Any]:
    return {
        "id": str(number),
        "created_at": f"2026-01-01T00:{number // 60 % 60:02d}:{number % 60:02d}Z",
        "content": f"<p>Post {number}: the new serum is lovely</p>",
        "language": "en",
        "account": {"acct": f"user{number % 97}", "url": "https://social.example/@u"},
    }


class Handler(BaseHTTPRequestHandler):
    server: ChaosServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        feed = self.server.feed
        if parts.path.startswith("/api/v1/timelines/tag/"):
            key, body, headers = self.mastodon(feed, query)
        elif parts.path == "/2/tweets/search/recent":
            key, body, headers = self.x(feed, query)
        elif parts.path == "/items":
            key, body, headers = self.offset(feed, query)
        else:
            self.send_error(404)
            return
        fault = feed.fault(key)
        if fault == "error":
            self.send_error(500, "chaos")
            return
        data = json.dumps(body).encode()
        if fault == "cut":
            data = data[: len(data) // 2]
        elif fault == "garbage":
            data = b'{"oops": [1, 2'
        feed.count_page()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def mastodon(self, feed: Feed, query: dict[str, str]) -> tuple[str, Any, dict[str, str]]:
        limit = min(int(query.get("limit", 20)), 40)
        if "min_id" in query:  # the statuses just newer than min_id, newest first
            ids = sorted(feed.newest_first(above=int(query["min_id"])))[:limit][::-1]
            key = f"min_id={query['min_id']}"
        else:
            below = int(query["max_id"]) if "max_id" in query else None
            ids = feed.newest_first(below=below)[:limit]
            key = f"max_id={query.get('max_id', '')}"
        headers = {}
        if ids:
            base = f"http://{self.headers['Host']}{urlsplit(self.path).path}"
            headers["Link"] = (
                f'<{base}?{urlencode({"limit": limit, "max_id": ids[-1]})}>; rel="next", '
                f'<{base}?{urlencode({"limit": limit, "min_id": ids[0]})}>; rel="prev"'
            )
        return key, [status(i) for i in ids], headers

    def x(self, feed: Feed, query: dict[str, str]) -> tuple[str, Any, dict[str, str]]:
        limit = int(query.get("max_results", 100))
        above = int(query.get("since_id", 0))
        below = int(query["next_token"].removeprefix("t")) if "next_token" in query else None
        ids = feed.newest_first(above=above, below=below)[:limit]
        more = ids and ids[-1] - 1 > above
        meta: dict[str, Any] = {"result_count": len(ids)}
        if more:
            meta["next_token"] = f"t{ids[-1]}"
        tweets = [
            {
                "id": str(i),
                "text": f"Tweet {i}: the serum is lovely",
                "author_id": str(i % 97),
                "created_at": status(i)["created_at"],
                "lang": "en",
            }
            for i in ids
        ]
        body = {"data": tweets, "meta": meta} if tweets else {"meta": meta}
        return f"next_token={query.get('next_token', '')}", body, {}

    def offset(self, feed: Feed, query: dict[str, str]) -> tuple[str, Any, dict[str, str]]:
        start, limit = int(query.get("offset", 0)), int(query.get("limit", 50))
        ids = feed.newest_first(above=int(query.get("since_id", 0)))
        items = [{"id": i, "text": f"Item {i}: lovely serum"} for i in ids[start : start + limit]]
        return f"offset={start}", {"items": items, "total": len(ids)}, {}


class ChaosServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, feed: Feed) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.feed = feed

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


PIPELINES = {
    "mastodon": """
        [pipeline]
        name = "chaos"
        [[source]]
        name = "feed"
        kind = "mastodon"
        base_url = "{url}"
        hashtag = "serum"
        limit = 40
        retries = {retries}
        backoff = 0.05
        max_pages = 100000
    """,
    "x": """
        [pipeline]
        name = "chaos"
        [[source]]
        name = "feed"
        kind = "x"
        base_url = "{url}"
        query = "serum"
        token = "${{CHAOS_X_TOKEN}}"
        max_results = 100
        retries = {retries}
        backoff = 0.05
        max_pages = 100000
    """,
    "offset": """
        [pipeline]
        name = "chaos"
        [[source]]
        name = "feed"
        kind = "json_api"
        url = "{url}/items"
        records = "items"
        fields = {{ id = "id", text = "text" }}
        pagination = {{ type = "offset", limit = 50, total_path = "total" }}
        incremental = {{ param = "since_id", field = "id" }}
        retries = {retries}
        backoff = 0.05
        max_pages = 100000
    """,
}


@dataclass
class Chaos:
    """A pipeline folder and database for one feed style, and ways to run it."""

    tmp: Path
    server: ChaosServer
    style: str
    retries: int = 1
    family: list[int] = field(default_factory=list)  # the last killed run's descendants

    @property
    def db(self) -> Path:
        return self.tmp / "chaos.db"

    def write_pipeline(self) -> Path:
        folder = self.tmp / "pipelines"
        folder.mkdir(exist_ok=True)
        text = PIPELINES[self.style].format(url=self.server.url, retries=self.retries)
        (folder / "chaos.toml").write_text(
            "\n".join(line.strip() for line in text.splitlines()), encoding="utf-8"
        )
        return folder

    def start(self, *options: str, limit_bytes: int | None = None) -> subprocess.Popen[str]:
        """A `run --once --json` process; `limit_bytes` caps the size of every file it
        writes (RLIMIT_FSIZE), which the database meets as a full disk."""
        folder = self.write_pipeline()

        def full_disk() -> None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write fails, no signal kills
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

        return subprocess.Popen(
            [sys.executable, "-m", "sentitui.cli", *options, "run", "--once", "--json"]
            + ["--db", str(self.db), "--pipelines", str(folder)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "CHAOS_X_TOKEN": "chaos-token", "PYTHONUNBUFFERED": "1"},
            preexec_fn=full_disk if limit_bytes is not None else None,
        )

    def run(self, limit_bytes: int | None = None) -> tuple[int, dict[str, Any]]:
        """One whole run: (exit status, its JSON summary)."""
        process = self.start(limit_bytes=limit_bytes)
        stdout, stderr = process.communicate(timeout=300)
        assert stdout.strip(), f"no JSON summary (exit {process.returncode}): {stderr[-2000:]}"
        return process.returncode, json.loads(stdout)

    def kill_after(
        self, pages: int, sig: signal.Signals, *, committed: bool = True, strict: bool = True
    ) -> int:
        """Start a run and send it `sig` once it has committed `pages` pages (read from
        its log), or once the server has answered `pages` more (`committed=False`);
        wait for it and return its exit status. Its descendants must die with it. A run
        that ends before that point fails the test if `strict`, else is just waited for."""
        feed = self.server.feed
        process = self.start("-v")
        if committed:
            assert process.stderr is not None
            marker = f"chaos/feed: page {pages}: "
            while marker not in (line := process.stderr.readline()) and line:
                pass
            reached = bool(line)
        else:
            target = feed.served + pages

            def notify_on_exit() -> None:
                process.wait()
                with feed.lock:
                    feed.lock.notify_all()

            threading.Thread(target=notify_on_exit, daemon=True).start()
            with feed.lock:
                feed.lock.wait_for(lambda: feed.served >= target or process.poll() is not None)
                reached = feed.served >= target
        assert reached or not strict, f"the run ended before the kill point ({pages} pages)"
        family = self.family = descendants(process.pid)
        if process.poll() is None:
            process.send_signal(sig)
        try:
            process.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise
        wait_gone(family)
        return process.returncode

    def stored_ids(self) -> list[str]:
        with sqlite3.connect(self.db) as conn:
            return [r[0] for r in conn.execute("SELECT external_id FROM posts")]

    def runs(self) -> list[tuple[str, str | None]]:
        with sqlite3.connect(self.db) as conn:
            return conn.execute("SELECT status, error FROM runs ORDER BY id").fetchall()

    def assert_complete(self) -> None:
        """Every post of the feed stored exactly once; no run left `running`."""
        ids = self.stored_ids()
        assert len(ids) == len(set(ids))
        assert sorted(map(int, ids)) == list(range(1, self.server.feed.total + 1))
        assert "running" not in [status for status, _ in self.runs()]


def descendants(pid: int) -> list[int]:
    """The pids below `pid` (scorer workers, the resource tracker), from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def wait_gone(pids: list[int], timeout: float = 30) -> None:
    """Wait for the processes to exit (a pidfd turns readable when one does); kill and
    fail for any still there after `timeout` seconds."""
    left = []
    deadline = time.monotonic() + timeout
    for pid in pids:
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            continue
        try:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                left.append(pid)
                signal.pidfd_send_signal(fd, signal.SIGKILL)
        finally:
            os.close(fd)
    assert not left, f"processes {left} outlived their parent"
