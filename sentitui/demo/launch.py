"""What `sentitui demo` does: fresh database, demo server, live pipeline, console.

The server runs on a loop of its own in a background thread (DemoThread), so the
console needs no hook to host it and a slow UI frame never delays the API. The
pipeline file is rendered from live.toml.template with the server's URL into a
folder next to the database, so `sentitui failed retry … --pipelines` and
friends work on the same file while the demo runs.
"""

from __future__ import annotations

import sys
from pathlib import Path
from string import Template

from sentitui.config import load_pipelines
from sentitui.demo.server import DemoServer, DemoThread, FaultPlan
from sentitui.store import Store

TEMPLATE = Path(__file__).resolve().parent / "live.toml.template"
DEMO_MARK = "demo_database"  # meta key: this file was made by `sentitui demo`, safe to reset


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def pipelines_dir_for(db: Path) -> Path:
    return db.parent / f"{db.stem}-pipelines"


def render_pipeline(url: str, folder: Path) -> Path:
    """Write the live pipeline for a server at `url`; returns the folder to load."""
    folder.mkdir(parents=True, exist_ok=True)
    text = Template(TEMPLATE.read_text(encoding="utf-8")).substitute(url=url)
    (folder / "live.toml").write_text(text, encoding="utf-8")
    return folder


def is_demo_database(db: Path) -> bool:
    store = Store(db)
    try:
        return store.meta(DEMO_MARK) == "1"
    finally:
        store.close()


def prepare_database(db: Path, keep: bool = False) -> bool:
    """Start from an empty database, unless told to keep it. Only a file that an earlier
    demo made is deleted; any other existing database is kept and used as it is.
    Returns True when the database starts empty."""
    fresh = not db.exists()
    if db.exists() and not keep:
        if is_demo_database(db):
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
            fresh = True
        else:
            say(f"note: {db} was not made by `sentitui demo`; using it as it is, not resetting it")
    if fresh:
        store = Store(db)  # creates the schema
        try:
            with store.transaction():
                store.set_meta(DEMO_MARK, "1")
        finally:
            store.close()
    return fresh


def run_demo(db_path: str, port: int = 0, *, keep: bool = False, seed: int = 2026) -> None:
    db = Path(db_path)
    prepare_database(db, keep)
    server = DemoServer(seed=seed, faults=FaultPlan.live())
    thread = DemoThread(server, port=port)
    try:
        url = thread.start()
    except OSError as exc:
        say(f"error: cannot start the demo server on port {port}: {exc.strerror or exc}")
        sys.exit(2)
    try:
        folder = render_pipeline(url, pipelines_dir_for(db))
        pipelines = load_pipelines(folder)
        say(f"demo server: {url}   pipelines: {folder}   database: {db}")
        from sentitui.tui.app import run_console

        status = run_console(str(db), pipelines, schedules=True, title="SentiTUI demo")
        say(f"the demo's data stays in {db}: try `sentitui stats --db {db}`")
        if status:
            sys.exit(status)
    finally:
        thread.stop()
