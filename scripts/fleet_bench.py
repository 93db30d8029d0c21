"""Posts/s of 1, 2 and 3 `run --watch` daemons sharing one PostgreSQL, beside one
daemon on a SQLite file (the README's table). Everything is local and thrown away:
a PostgreSQL cluster made by tests/pg.py, and a paged JSON API in this process.

    .venv/bin/python scripts/fleet_bench.py [--sources 8] [--posts 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

from aiohttp import web

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from pg import Cluster  # noqa: E402

from sentitui.store import Store  # noqa: E402

PAGE = 100
WORDS = [
    "AquaSilk left my hair soft and shiny, love it",
    "the scent is far too strong and my scalp itches",
    "wish it came in a bigger bottle, runs out fast",
    "better than SilkPro for curls, worse than HairGlow on price",
]


def serve(sources: int, posts: int) -> str:
    """The API on a thread of its own; returns its base URL."""
    ready: list[str] = []
    started = threading.Event()

    async def feed(request: web.Request) -> web.Response:
        after = int(request.query.get("after") or 0)
        ids = range(after + 1, min(after + PAGE, posts) + 1)
        name = request.match_info["name"]
        items = [{"id": i, "text": f"{WORDS[i % len(WORDS)]} ({name} {i})"} for i in ids]
        return web.json_response(
            {"items": items, "next": str(ids[-1]) if ids and ids[-1] < posts else None}
        )

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/feed/{name}", feed)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        ready.append(f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}")  # type: ignore[union-attr]
        started.set()
        await asyncio.Event().wait()

    threading.Thread(target=lambda: asyncio.run(main()), daemon=True).start()
    started.wait(10)
    return ready[0]


def pipeline(folder: Path, base: str, sources: int) -> None:
    text = '[pipeline]\nname = "bench"\nschedule = "1s"\n'
    for n in range(sources):
        text += textwrap.dedent(f"""
            [[source]]
            name = "s{n}"
            kind = "json_api"
            url = "{base}/feed/s{n}"
            records = "items"
            pagination = {{ type = "cursor", cursor_path = "next", param = "after" }}
            [source.fields]
            id = "id"
            text = "text"
            """)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bench.toml").write_text(text, encoding="utf-8")


def measure(db: str, daemons: int, total: int, work: Path) -> float:
    Store(db).close()  # schema first, so daemons do not race to create it
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sentitui.cli",
                "run",
                "--watch",
                "--db",
                db,
                "--pipelines",
                str(work / "pipelines"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=(work / f"d{i}.err").open("ab"),
            cwd=work,
            env={**os.environ, "SENTITUI_LOG": str(work / f"d{i}.log")},
        )
        for i in range(daemons)
    ]
    store = Store(db, migrate=False)
    try:

        def count(sql: str) -> int:
            return int(store.conn.execute(sql).fetchone()[0])

        while count("SELECT COUNT(*) FROM daemons WHERE stopped_at IS NULL") < daemons:
            time.sleep(0.05)
        start = time.monotonic()
        while count("SELECT COUNT(*) FROM posts") < total:
            if time.monotonic() - start > 600:
                raise SystemExit(f"{db}: stuck at {count('SELECT COUNT(*) FROM posts')} posts")
            time.sleep(0.05)
        return total / (time.monotonic() - start)
    finally:
        store.close()
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(60)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sources", type=int, default=8)
    parser.add_argument("--posts", type=int, default=2500, help="per source")
    parser.add_argument("--repeat", type=int, default=3, help="runs per setup (median shown)")
    args = parser.parse_args()
    total = args.sources * args.posts
    base = serve(args.sources, args.posts)
    cluster = Cluster.start()
    figures: dict[str, list[float]] = {}
    load_before = os.getloadavg()[0]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            pipeline(work / "pipelines", base, args.sources)
            for round_ in range(args.repeat):  # setups interleaved: load swings hit all alike
                sqlite = f"sqlite:///{work / f'bench{round_}.db'}"
                figures.setdefault("sqlite, 1 daemon", []).append(measure(sqlite, 1, total, work))
                for n in (1, 2, 3):
                    url = cluster.create_database(f"bench{n}_{round_}")
                    figures.setdefault(f"postgresql, {n} daemon(s)", []).append(
                        measure(url, n, total, work)
                    )
    finally:
        cluster.stop()
    result = {
        "posts": total,
        "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)],
        "posts_per_s": {
            name: {
                "median": round(statistics.median(v)),
                "min": round(min(v)),
                "max": round(max(v)),
            }
            for name, v in figures.items()
        },
    }
    print(json.dumps(result))


if __name__ == "__main__":
    import faulthandler

    faulthandler.dump_traceback_later(float(os.environ.get("BENCH_DUMP", "0")) or 1e9, exit=True)
    main()
