"""The bench's end-to-end figures: a local paged JSON API -> the Engine -> SQLite, next
to TextBlob alone on one core over the same texts and a naive script (requests, a
TextBlob call and an INSERT + COMMIT per post), with the CPU the run used across
the main process and its scoring workers, and the event loop's lag meanwhile.

The API runs in its own process (`python -m sentitui.bench serve-api`), so it does
not share our event loop; it serves the records `bench.write_records` generates.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sqlite3
import time
from pathlib import Path
from typing import Any

from sentitui.bench import RECORD_FIELDS, ServerProcess, percentile, serve_until_stdin_closes

API_PAGE = 200  # records per API page, as social APIs page
LAG_TICK = 0.01  # the loop-lag probe's sleep, seconds


def api_records(records: int) -> list[dict[str, Any]]:
    """The API's records: `bench.write_records`' generated posts, in order."""
    import tempfile

    from sentitui.bench import write_records

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "records.jsonl"
        write_records(path, records)
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    # Every text distinct, so no scorer gains from repeats (real feeds do repeat).
    for row in rows:
        row["body"] += f" (order {row['id'] * 7919 % 1_000_003})"
    return rows


def serve_api(records: int) -> None:
    """Subprocess entry: serve /api/posts?page=N (1-based) on a free loopback port."""
    from aiohttp import web

    rows = api_records(records)
    pages = -(-len(rows) // API_PAGE)
    bodies = {
        n: json.dumps(
            {"items": rows[(n - 1) * API_PAGE : n * API_PAGE], "page": n, "pages": pages}
        ).encode()
        for n in range(1, pages + 2)
    }

    async def handle(request: web.Request) -> web.Response:
        try:
            number = int(request.query.get("page", "1"))
        except ValueError:
            return web.Response(status=400, text="bad page")
        body = bodies.get(number, bodies[pages + 1])
        return web.Response(body=body, content_type="application/json")

    serve_until_stdin_closes("/api/posts", handle)


def _cpu_seconds() -> float:
    """User + system CPU seconds of this process and of its live child processes (the
    scoring workers; read from /proc, so 0 for them where there is no /proc)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    total = me.ru_utime + me.ru_stime
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    try:
        entries = os.listdir("/proc")
    except OSError:
        return total
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after "(name)": state, ppid, …
        if int(fields[1]) == os.getpid():
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


async def _probe_lag(lags: list[float], stop: asyncio.Event) -> None:
    """Sleep LAG_TICK again and again; how late each wake-up is, is the loop's lag."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        start = loop.time()
        await asyncio.sleep(LAG_TICK)
        lags.append(max(0.0, loop.time() - start - LAG_TICK))


def api_source(url: str) -> dict[str, Any]:
    """The pipeline source reading the bench API at `url` (its /api/posts)."""
    return {
        "name": "api",
        "kind": "json_api",
        "url": url,
        "records": "items",
        "fields": RECORD_FIELDS,
        "pagination": {"type": "page", "param": "page", "total_path": "pages"},
    }


async def bench_engine_api(url: str, tmp: Path, records: int) -> dict[str, Any]:
    """`run --once` of a json_api source over the local API: posts/s, CPU used (main
    process + scoring workers, as a share of all cores) and event-loop lag."""
    from sentitui.bench import _pipeline
    from sentitui.engine.engine import Engine

    pipeline = _pipeline(tmp, "e2e", api_source(url))
    lags: list[float] = []
    stop = asyncio.Event()
    async with Engine(tmp / "e2e.db", [pipeline]) as engine:
        workers = engine.scorer.workers
        await engine.scorer.start()  # spawned and warm, as in the daemon, before timing
        cpu_before = _cpu_seconds()
        started = time.perf_counter()
        probe = asyncio.create_task(_probe_lag(lags, stop))
        stats = await engine.run_source("e2e", "api", "cli")
        seconds = time.perf_counter() - started
        cpu = _cpu_seconds() - cpu_before  # the workers are still alive here
        stop.set()
        await probe
    cores = os.cpu_count() or 1
    return {
        "records": records,
        "loaded": stats.loaded,
        "failed": stats.failed,
        "status": stats.status,
        "seconds": round(seconds, 2),
        "posts_per_s": round(stats.loaded / seconds, 1) if seconds else 0.0,
        "workers": workers,
        "cpu_share_of_all_cores": round(cpu / (seconds * cores), 2) if seconds else 0.0,
        "loop_lag_p99_ms": round(percentile(lags, 0.99) * 1000, 1),
        "loop_lag_max_ms": round(max(lags, default=0.0) * 1000, 1),
    }


def bench_textblob(texts: list[str]) -> dict[str, Any]:
    """TextBlob's sentiment over the texts on one core: the yardstick for e2e."""
    from textblob import TextBlob

    TextBlob("warm up the lexicon").sentiment  # noqa: B018 (loads the lexicon)
    started = time.perf_counter()
    for text in texts:
        TextBlob(text).sentiment  # noqa: B018
    seconds = time.perf_counter() - started
    return {
        "texts": len(texts),
        "seconds": round(seconds, 2),
        "posts_per_s": round(len(texts) / seconds, 1),
    }


def bench_naive(url: str, tmp: Path, records: int) -> dict[str, Any]:
    """What a first script does: requests each page, TextBlob per post, INSERT and COMMIT
    per post into SQLite (default journal). Over the first `records` records only: it
    is slow, and its rate does not change with the count."""
    import requests
    from textblob import TextBlob

    tmp.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(tmp / "naive.db")
    db.execute(
        "CREATE TABLE posts (id TEXT PRIMARY KEY, text TEXT, author TEXT, created_at TEXT, "
        "polarity REAL, subjectivity REAL)"
    )
    done = 0
    page = 1
    started = time.perf_counter()
    with requests.Session() as session:
        while done < records:
            items = session.get(url, params={"page": page}, timeout=30).json()["items"]
            if not items:
                break
            for item in items[: records - done]:
                sentiment = TextBlob(item["body"]).sentiment
                db.execute(
                    "INSERT OR IGNORE INTO posts VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        str(item["id"]),
                        item["body"],
                        item["user"],
                        item["ts"],
                        sentiment.polarity,
                        sentiment.subjectivity,
                    ),
                )
                db.commit()
                done += 1
            page += 1
    seconds = time.perf_counter() - started
    db.close()
    return {"records": done, "seconds": round(seconds, 2), "posts_per_s": round(done / seconds, 1)}


def _combined(parts: list[dict[str, Any]]) -> dict[str, Any]:
    count = sum(p.get("texts", p.get("records", 0)) for p in parts)
    seconds = sum(p["seconds"] for p in parts)
    return {
        "records": count,
        "seconds": round(seconds, 2),
        "posts_per_s": round(count / seconds, 1) if seconds else 0.0,
    }


def run_e2e(records: int, naive_records: int, tmp: Path, rounds: int = 1) -> dict[str, Any]:
    """Every end-to-end figure over one API server, with the ratios the goals use.

    A round runs the yardsticks half before and half after the engine, so load that
    changes during the round weighs on both sides of its ratios alike. Over several
    rounds the ratios are their medians (this machine's speed swings by a third
    within minutes, a one-core run most) and the rates those of the median round."""
    texts = [row["body"] for row in api_records(records)]
    api = ServerProcess("serve-api", "--records", str(records))
    try:
        played = []
        for number in range(rounds):
            folder = tmp / f"round-{number + 1}"
            folder.mkdir()
            played.append(_round(api.url + "/api/posts", folder, texts, records, naive_records))
    finally:
        api.close()
    ordered = sorted(played, key=lambda r: r["vs_textblob"] or 0.0)
    median = ordered[len(ordered) // 2]
    ratios = sorted(r["vs_naive"] or 0.0 for r in played)
    return median | {
        "vs_naive": ratios[len(ratios) // 2],
        "rounds": [
            {key: r[key] for key in ("vs_textblob", "vs_naive")}
            | {"posts_per_s": r["engine"]["posts_per_s"]}
            for r in played
        ],
        "distinct_texts": len(set(texts)),
    }


def _round(url: str, tmp: Path, texts: list[str], records: int, naive: int) -> dict[str, Any]:
    half = len(texts) // 2
    textblob = [bench_textblob(texts[:half])]
    scripts = [bench_naive(url, tmp / "naive-1", naive // 2)]
    engine = asyncio.run(bench_engine_api(url, tmp, records))
    scripts.append(bench_naive(url, tmp / "naive-2", naive - naive // 2))
    textblob.append(bench_textblob(texts[half:]))
    textblob_rate = _combined(textblob)["posts_per_s"]
    naive_figures = _combined(scripts)
    ours = engine["posts_per_s"]
    return {
        "engine": engine,
        "textblob_one_core": {"texts": len(texts), **_combined(textblob)},
        "naive_script": naive_figures,
        "vs_textblob": round(ours / textblob_rate, 2) if textblob_rate else None,
        "vs_naive": round(ours / naive_figures["posts_per_s"], 2)
        if naive_figures["posts_per_s"]
        else None,
    }
