"""The bench at the size of a real launch: a database of 1M or 10M posts over 30 days,
and how long `stats` and the dashboard's queries take on it.

The database is built through the product's write path (`Store.write_pages`, the
writer's batched commits with rollups and full-text index) from generated, already
scored posts: scoring 10M texts would measure the scorer again, not the store. A built
database is cached by size under the cache folder, so a second bench reuses it.
With `bench --db postgresql://…` the database is built in that (empty) PostgreSQL
database the same way, marked as built (meta `bench_posts`) and reused next time.
"""

from __future__ import annotations

import compileall
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sentitui.bench import percentile
from sentitui.models import Post, RunStats
from sentitui.store import PageWrite, Store, StoreError
from sentitui.store.backend import describe, is_postgres

BUILT = "bench_posts"  # meta key: a PostgreSQL database this bench built, and its size
DAYS = 30
PAGE = 500
PAGES_PER_COMMIT = 64  # the writer's MAX_BATCH
START = 1_793_491_200  # 2026-11-01T00:00:00Z
_WORDS = [
    "love",
    "hate",
    "scent",
    "price",
    "curls",
    "frizz",
    "bottle",
    "pump",
    "shiny",
    "soft",
    "greasy",
    "cheap",
    "lather",
    "rinse",
    "residue",
    "fragrance",
    "itchy",
    "scalp",
    "volume",
    "dry",
    "smooth",
    "silky",
    "broke",
    "leaked",
    "week",
    "bag",
    "lasts",
]
_LABELS = ("positive", "neutral", "negative")
_FEEDBACK = ("praise", "complaint", "question", "suggestion", "comparison", "other")
_REGIONS = ("UK", "EU", "US-East", "US-West", "APAC", "LATAM")
_AGES = ("18-24", "25-34", "35-44", "45-54", "55+")


def _post(n: int, rng: random.Random, source: str) -> Post:
    polarity = round(rng.uniform(-1, 1), 4)
    label = "positive" if polarity >= 0.05 else "negative" if polarity <= -0.05 else "neutral"
    moment = START + rng.randrange(DAYS * 86400)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))
    competitors = ["SilkPro"] if n % 9 == 0 else ["HairGlow"] if n % 13 == 0 else []
    aspects = {}
    if n % 4 == 0:
        aspect_polarity = round(rng.uniform(-1, 1), 4)
        aspect_label = "negative" if aspect_polarity <= -0.05 else "positive"
        aspects[("scent", "price", "texture")[n % 3]] = {
            "polarity": aspect_polarity,
            "label": aspect_label,
        }
    return Post(
        pipeline="launch",
        source=source,
        external_id=str(n),
        text=" ".join(rng.choices(_WORDS, k=rng.randint(6, 24))),
        author_hash=f"{rng.getrandbits(64):016x}",
        lang="en",
        created_at=stamp,
        fetched_at=stamp,
        polarity=polarity,
        subjectivity=round(rng.random(), 4),
        label=label,  # type: ignore[arg-type]
        feedback=rng.choice(_FEEDBACK),
        competitors=competitors,
        segments={"region": rng.choice(_REGIONS), "age_group": rng.choice(_AGES)},
        aspects=aspects,
    )


def build_db(path: Path | str, posts: int, seed: int = 14) -> float:
    """Write `posts` generated posts over DAYS days into a new database at `path` (or
    into the empty PostgreSQL database it names), in pages through `Store.write_pages`;
    returns the posts/s of the writing alone."""
    if isinstance(path, str):  # PostgreSQL: no file to swap in; marked once complete
        return _write_posts(Store(path), posts, seed, mark=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    for leftover in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
        leftover.unlink(missing_ok=True)
    rate = _write_posts(Store(partial), posts, seed)
    partial.rename(path)
    for suffix in ("-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    return rate


def _write_posts(store: Store, posts: int, seed: int, mark: bool = False) -> float:
    """The build itself, on `store` (closed at the end); `mark`: record it in meta
    and refresh the planner's statistics, as after any bulk load on PostgreSQL."""
    rng = random.Random(seed)
    runs: dict[str, RunStats] = {}
    writing = 0.0
    n = 0
    try:
        while n < posts:
            writes = []
            for _ in range(PAGES_PER_COMMIT):
                if n >= posts:
                    break
                source = ("x", "reddit", "reviews")[n // PAGE % 3]
                stats = runs.get(source) or runs.setdefault(
                    source, store.start_run("launch", source, "cli")
                )
                count = min(PAGE, posts - n)
                writes.append(
                    PageWrite(stats, [_post(n + i, rng, source) for i in range(count)], [])
                )
                n += count
            started = time.perf_counter()
            store.write_pages(writes)
            writing += time.perf_counter() - started
        for stats in runs.values():
            stats.status = "ok"
            store.finish_run(stats)
        if mark:
            store.conn.execute("ANALYZE")
            with store.transaction():
                store.set_meta(BUILT, str(posts))
    finally:
        store.close()
    return round(posts / writing, 1) if writing else 0.0


def cached_db(cache: Path, posts: int, db: str | None = None) -> tuple[Path | str, float | None]:
    """The cached database of `posts` posts, built first if missing; (path, posts/s of
    the build, or None when it was cached). `db`: a PostgreSQL URL to build in instead,
    empty or holding this bench's build of `posts` (anything else is refused)."""
    if db is not None:
        if not is_postgres(db):
            raise StoreError(f"bench --db takes a postgresql:// URL, not {describe(db)}")
        store = Store(db)
        try:
            built = store.meta(BUILT)
            held = store.conn.execute("SELECT COUNT(*) FROM posts").fetchone()[0]
        finally:
            store.close()
        if built == str(posts):
            return db, None
        if held:
            raise StoreError(  # the CLI's usage error: never write into someone's data
                f"bench --db {describe(db)}: the database holds {held} posts that are not "
                f"this bench's build of {posts}; give it an empty database"
            )
        return db, build_db(db, posts)
    path = cache / f"posts-{posts}.db"
    if path.exists():
        return path, None
    return path, build_db(path, posts)


def _timed(fn: Any) -> float:
    started = time.perf_counter()
    fn()
    return round(time.perf_counter() - started, 3)


STATS_RUNS = 3  # `stats --json` runs; the figure is their median


def _stats_command(path: Path | str) -> tuple[float, bool]:
    """Seconds for one `sentitui stats --json` in a new process, and whether it answered."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "sentitui.cli", "stats", "--json", "--db", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = round(time.perf_counter() - started, 3)
    return seconds, done.returncode == 0 and "posts" in json.loads(done.stdout or "{}")


def time_queries(path: Path | str) -> dict[str, Any]:
    """Seconds for `stats --json` (the whole command, and its queries alone) and for the
    dashboard's first load in each chart window, each on a freshly opened reader."""
    from sentitui.report import stats_figures
    from sentitui.store import Store
    from sentitui.tui.queries import WINDOWS, load_dashboard, with_store

    figures: dict[str, Any] = {}
    # Timed as installed: pip compiles a package's bytecode at install, and an editable
    # install writes it on first run (unless PYTHONDONTWRITEBYTECODE says not to).
    compileall.compile_dir(Path(__file__).parent, quiet=1)
    runs = [_stats_command(path) for _ in range(STATS_RUNS)]
    figures["stats_command_s"] = statistics.median(seconds for seconds, _ in runs)
    figures["stats_command_first_s"] = runs[0][0]
    figures["stats_ok"] = all(ok for _, ok in runs)
    figures["stats_queries_s"] = _timed(lambda: stats_figures(Store(path)))
    for window in WINDOWS:
        figures[f"dashboard_{window}_s"] = _timed(
            lambda window=window: with_store(path, lambda s: load_dashboard(s, window, None))
        )
    figures["posts_page_s"] = _timed(
        lambda: with_store(path, lambda s: s.search_posts(label="negative", limit=100))
    )
    return figures


KEYS = ("w", "w", "w", "5", "1", "2", "3", "4", "1", "w", "5", "1")


async def console_figures(path: Path | str, size: tuple[int, int] = (120, 40)) -> dict[str, Any]:
    """The console on the database, driven headless by Textual's Pilot: seconds from
    start to the first full dashboard (its query answered, drawn and refreshed), and
    per key press, once the other screens are composed, the time to a redrawn screen
    (the key answered from what is loaded) and to the data behind it (its queries
    done and drawn)."""
    from sentitui.tui.app import SentiApp

    started = time.perf_counter()
    app = SentiApp(path, [], score_workers=0)
    async with app.run_test(size=size) as pilot:
        await app.first_drawn.wait()
        await app.screen.wait_for_refresh()
        first = time.perf_counter() - started
        await app.screens_ready.wait()
        await pilot.pause()
        redraw: list[float] = []
        data: list[float] = []
        for key in KEYS:
            pressed = time.perf_counter()
            await pilot.press(key)
            await pilot.pause()
            redraw.append(time.perf_counter() - pressed)
            await app.workers.wait_for_complete()
            await pilot.pause()
            data.append(time.perf_counter() - pressed)
    return {
        "first_dashboard_s": round(first, 3),
        "keys": len(KEYS),
        "key_redraw_median_ms": round(percentile(redraw, 0.5) * 1000, 1),
        "key_redraw_p90_ms": round(percentile(redraw, 0.9) * 1000, 1),
        "key_data_median_ms": round(percentile(data, 0.5) * 1000, 1),
        "key_data_p90_ms": round(percentile(data, 0.9) * 1000, 1),
    }
