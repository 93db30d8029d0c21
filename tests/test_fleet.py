"""A fleet of `sentitui run --watch` daemons on one PostgreSQL (issue 15's done-when).

Three real daemon processes pull four sources of a local paged API that keeps
publishing; one is killed with SIGKILL while it holds a source. The API records which
daemon asked (a header set from each daemon's environment) and when, so the test can
check that every post was stored exactly once, that every source went on being pulled
after the kill, and that no two daemons ever fetched the same source at once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web
from test_daemon import until

from sentitui.store import Store

SOURCES = ("alpha", "beta", "gamma", "delta")
PAGE = 5
TTL = 3.0  # seconds: how soon the killed daemon's sources move to another

PIPELINE = """
    [pipeline]
    name = "fleet"
    schedule = "1s"
"""
SOURCE = """
    [[source]]
    name = "{name}"
    kind = "json_api"
    url = "{base}/feed/{name}"
    records = "items"
    headers = {{ X-Daemon = "${{DAEMON_NAME}}" }}
    pagination = {{ type = "cursor", cursor_path = "next", param = "after" }}
    incremental = {{ param = "since", field = "id" }}
    [source.fields]
    id = "id"
    text = "text"
"""


@dataclass
class Feeds:
    """Paged feeds that grow while the test runs; every request is logged with who
    asked and when it started and ended."""

    published: dict[str, list[int]] = field(default_factory=lambda: {s: [] for s in SOURCES})
    asked: list[tuple[str, str, float, float]] = field(default_factory=list)
    in_flight: dict[str, set[str]] = field(default_factory=lambda: {s: set() for s in SOURCES})
    overlaps: list[str] = field(default_factory=list)

    def publish(self, n: int) -> None:
        for source, ids in self.published.items():
            ids.extend(range(len(ids) + 1, len(ids) + n + 1))
            del source

    async def handle(self, request: web.Request) -> web.Response:
        name, who = request.match_info["name"], request.headers.get("X-Daemon", "?")
        started = time.monotonic()
        others = self.in_flight[name] - {who}
        if others:
            self.overlaps.append(f"{who} fetched {name} while {sorted(others)} did")
        self.in_flight[name].add(who)
        try:
            after = int(request.query.get("after") or request.query.get("since") or 0)
            newer = [i for i in self.published[name] if i > after]
            page = newer[:PAGE]
            await asyncio.sleep(0.05)  # a real API takes a moment: runs span many requests
            body = {
                "items": [{"id": i, "text": f"AquaSilk {name} post {i} is lovely"} for i in page],
                "next": str(page[-1]) if len(newer) > PAGE else None,
            }
            return web.json_response(body)
        finally:
            self.in_flight[name].discard(who)
            self.asked.append((name, who, started, time.monotonic()))


def start_daemon(tmp_path: Path, url: str, name: str, ttl: float = TTL) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "sentitui.cli", "run", "--watch", "--db", url]
        + ["--pipelines", str(tmp_path / "pipelines")],
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / f"{name}.stderr").open("ab"),
        cwd=tmp_path,
        env={
            **os.environ,
            "DAEMON_NAME": name,
            "SENTITUI_LOG": str(tmp_path / f"{name}.log"),
            "SENTITUI_LEASE_TTL": str(ttl),
        },
    )


def rows(url: str, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    store = Store(url, migrate=False)
    try:
        return [tuple(r) for r in store.conn.execute(sql, params).fetchall()]
    except Exception:  # the first daemon has not created the tables yet
        return []
    finally:
        store.close()


async def test_three_daemons_share_sources_and_survive_a_kill(tmp_path, serve, pg_url):
    feeds = Feeds()
    app = web.Application()
    app.router.add_get("/feed/{name}", feeds.handle)
    server = await serve(app)
    text = PIPELINE + "".join(SOURCE.format(name=s, base=server.url) for s in SOURCES)
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "fleet.toml").write_text(textwrap.dedent(text), encoding="utf-8")

    feeds.publish(12)
    publishing = True

    async def keep_publishing() -> None:
        while publishing:
            feeds.publish(2)
            await asyncio.sleep(0.2)

    publisher = asyncio.create_task(keep_publishing())
    names = ("a", "b", "c")
    procs = {n: start_daemon(tmp_path, pg_url, n) for n in names}
    try:
        # Wait for a daemon that holds a source right now, and kill it mid-run.
        def holding() -> list[tuple[object, ...]]:
            return rows(
                pg_url,
                "SELECT d.pid FROM leases l JOIN daemons d ON d.id = l.daemon_id "
                "WHERE d.stopped_at IS NULL",
            )

        await until(lambda: len({w for _, w, _, _ in feeds.asked}) == 3, "all three pulling")
        await until(lambda: bool(holding()), "a daemon holding a lease", timeout=30)
        victim_pid = int(holding()[0][0])  # type: ignore[arg-type]
        victim = next(n for n, p in procs.items() if p.pid == victim_pid)
        procs[victim].send_signal(signal.SIGKILL)
        procs[victim].wait()
        killed_at = time.monotonic()

        # The survivors keep every source flowing, the dead daemon's ones after its TTL.
        def pulled_since_kill() -> set[str]:
            return {s for s, w, start, _ in feeds.asked if w != victim and start > killed_at}

        await until(
            lambda: pulled_since_kill() == set(SOURCES), "every source pulled again", timeout=60
        )
        await until(
            lambda: time.monotonic() > killed_at + 2 * TTL, "the survivors to go on a while"
        )
        publishing = False
        await publisher
        total = sum(len(ids) for ids in feeds.published.values())

        def stored() -> int:
            return int(rows(pg_url, "SELECT COUNT(*) FROM posts")[0][0])  # type: ignore[arg-type]

        await until(lambda: stored() == total, f"all {total} posts stored", timeout=90)
        for name in names:
            if name != victim:
                procs[name].send_signal(signal.SIGTERM)
                assert procs[name].wait(timeout=60) == 0
    finally:
        publishing = False
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        await asyncio.gather(publisher, return_exceptions=True)

    # Every published post exactly once (the unique key forbids twins; count each id).
    per_source = dict(
        rows(pg_url, "SELECT source, COUNT(DISTINCT external_id) FROM posts GROUP BY source")
    )
    assert per_source == {s: len(ids) for s, ids in feeds.published.items()}
    assert stored() == total
    # No two daemons ever fetched one source at once, by the API's own clock.
    assert feeds.overlaps == []
    for source in SOURCES:
        spans = sorted((start, end, who) for s, who, start, end in feeds.asked if s == source)
        for (_, end, who), (start, _, other) in zip(spans, spans[1:], strict=False):
            assert who == other or end <= start, f"{source}: {who} and {other} overlapped"
    # The runs say who ran them; one the kill cut short is `interrupted`, none is left open.
    statuses = dict(rows(pg_url, "SELECT status, COUNT(*) FROM runs GROUP BY status"))
    assert set(statuses) <= {"ok", "interrupted", "cancelled"}, statuses  # cancelled: SIGTERM
    for (error,) in rows(pg_url, "SELECT error FROM runs WHERE status = 'interrupted'"):
        assert "another daemon took over" in str(error)
    ran = {r[0] for r in rows(pg_url, "SELECT DISTINCT daemon_id FROM runs WHERE status = 'ok'")}
    assert len(ran) >= 2
    fleet = rows(pg_url, "SELECT pid, stopped_at FROM daemons ORDER BY id")
    assert sorted(p.pid for p in procs.values()) == sorted(int(r[0]) for r in fleet)  # type: ignore[arg-type]
    assert [r for r in fleet if r[1] is None] == [(victim_pid, None)]


async def test_attached_console_sees_the_fleet_and_hears_notify_not_polling(
    tmp_path, serve, pg_url, monkeypatch
):
    from sentitui.config import load_pipelines
    from sentitui.engine import remote
    from sentitui.engine.remote import RemoteEngine
    from sentitui.models import RunFinished

    feeds = Feeds()
    feeds.publish(7)
    app = web.Application()
    app.router.add_get("/feed/{name}", feeds.handle)
    server = await serve(app)
    text = PIPELINE.replace('schedule = "1s"', "") + SOURCE.format(name="alpha", base=server.url)
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "fleet.toml").write_text(textwrap.dedent(text), encoding="utf-8")
    procs = [start_daemon(tmp_path, pg_url, n) for n in ("a", "b")]
    # Reading on a timer would take a minute: what arrives sooner came by NOTIFY.
    monkeypatch.setattr(remote, "IDLE", 60.0)
    monkeypatch.setenv("DAEMON_NAME", "console")  # the console only reads the file
    console = RemoteEngine(pg_url, load_pipelines(tmp_path / "pipelines"), poll=60.0)
    finished: list[RunFinished] = []
    console.subscribe(lambda e: finished.append(e) if isinstance(e, RunFinished) else None)
    try:
        await until(
            lambda: len(rows(pg_url, "SELECT id FROM daemons WHERE heartbeat IS NOT NULL")) == 2,
            "two daemons registered",
        )
        await console.start()
        await until(lambda: console.daemon_alive, "a daemon heartbeat heard")
        await until(lambda: len([d for d in console.fleet if d["alive"]]) == 2, "fleet shown")
        stats = await asyncio.wait_for(console.run_source("fleet", "alpha"), timeout=30)
        assert (stats.status, stats.loaded) == ("ok", 7)
        await until(lambda: [e.stats.run_id for e in finished] == [stats.run_id], "run event")
        [(daemon_id,)] = rows(pg_url, "SELECT daemon_id FROM runs WHERE id = ?", (stats.run_id,))
        assert daemon_id in {d["id"] for d in console.fleet}
        assert {d["pid"] for d in console.fleet} == {p.pid for p in procs}
        asked_by = {who for _, who, _, _ in feeds.asked}
        assert len(asked_by) == 1  # one daemon pulled it, not both
    finally:
        await console.close()
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        assert [proc.wait(timeout=60) for proc in procs] == [0, 0]


async def test_fleet_dialog_lists_daemons_their_sources_and_who_ran_each_run(db_url):
    from textual.widgets import DataTable

    from sentitui.store import fleet
    from sentitui.tui.app import SentiApp
    from sentitui.tui.screens.fleet import FleetScreen

    store = Store(db_url)
    first = fleet.register(store, "host-a", 101)
    second = fleet.register(store, "[bold]host-b[/]", 202)  # drawn as written
    assert fleet.acquire(store, first, "launch", "shop", 30.0) is None
    assert fleet.acquire(store, second, "launch", "shop", 30.0) == first  # held: no
    run = store.start_run("launch", "shop", "schedule")
    run.status = "ok"
    store.finish_run(run)
    fleet.heartbeat(store, first, 30.0)
    fleet.heartbeat(store, second, 30.0)
    store.close()

    app = SentiApp(db_url, [], theme="textual-dark")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("F")
        await pilot.pause()
        assert isinstance(app.screen, FleetScreen)
        await app.workers.wait_for_complete()
        await pilot.pause()
        daemons = app.screen.query_one("#fleet-daemons", DataTable)
        rows = {
            str(daemons.get_row(key)[1]): [str(c) for c in daemons.get_row(key)]
            for key in daemons.rows
        }
        assert rows["host-a"][2] == "101" and rows["host-a"][5] == "alive"
        assert rows["host-a"][6] == "launch/shop"
        assert rows["[bold]host-b[/]"][6] == "-"
        runs = app.screen.query_one("#fleet-runs", DataTable)
        assert [str(c) for c in runs.get_row(str(run.run_id))][5] == "host-a pid 101"
        await pilot.press("escape")
        assert not isinstance(app.screen, FleetScreen)


def test_a_lease_goes_to_one_daemon_and_moves_only_once_it_lapses(db_url):
    from sentitui.engine import commands
    from sentitui.store import fleet

    store = Store(db_url)
    a, b = fleet.register(store, "host", 1), fleet.register(store, "host", 2)
    assert fleet.acquire(store, a, "p", "s", 30.0) is None
    assert fleet.acquire(store, b, "p", "s", 30.0) == a  # held: b must not pull it
    assert fleet.acquire(store, a, "p", "s", 30.0) is None  # a renews its own
    run = store.start_run("p", "s", "schedule")
    pull = commands.submit(store, "pull", "p", "s")
    assert commands.claim(store, daemon_id=b) == []  # left for the holder
    assert [c.id for c in commands.claim(store, daemon_id=a)] == [pull]

    assert fleet.heartbeat(store, a, -1.0)[0] == [("p", "s")]  # a stalls: its lease lapses
    assert fleet.heartbeat(store, b, 30.0) == ([], 1)  # b holds nothing, sees one peer
    assert fleet.holder(store, "p", "s") is None
    assert fleet.acquire(store, b, "p", "s", 30.0) is None  # b takes the source over
    [row] = store.rows("SELECT status, daemon_id, error FROM runs WHERE id = ?", (run.run_id,))
    assert (row["status"], row["daemon_id"]) == ("interrupted", a)
    assert "another daemon took over" in row["error"]
    assert fleet.heartbeat(store, a, 30.0)[0] == []  # a learns it lost the source
    assert fleet.holder(store, "p", "s") == b

    fleet.release(store, b, "p", "s")
    assert fleet.holder(store, "p", "s") is None
    fleet.leave(store, a)
    assert [d["id"] for d in fleet.daemons(store, 30.0)] == [b]


async def test_run_once_on_a_shared_server_leaves_alone_a_source_a_daemon_holds(
    tmp_path, serve, pg_url
):
    import json

    from sentitui.store import fleet

    feeds = Feeds()
    feeds.publish(3)
    app = web.Application()
    app.router.add_get("/feed/{name}", feeds.handle)
    server = await serve(app)
    text = PIPELINE + "".join(SOURCE.format(name=s, base=server.url) for s in ("alpha", "beta"))
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "fleet.toml").write_text(textwrap.dedent(text), encoding="utf-8")
    store = Store(pg_url)
    elsewhere = fleet.register(store, "elsewhere", 999)
    assert fleet.acquire(store, elsewhere, "fleet", "alpha", 120.0) is None
    store.close()

    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "sentitui.cli", "run", "--once", "--json", "--db", pg_url),
        *("--pipelines", str(tmp_path / "pipelines")),
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "DAEMON_NAME": "cli"},
        cwd=tmp_path,
    )
    stdout, _ = await asyncio.wait_for(proc.communicate(), timeout=120)
    runs = {r["source"]: r for r in json.loads(stdout)["runs"]}
    assert (runs["beta"]["status"], runs["beta"]["loaded"]) == ("ok", 3)
    assert runs["alpha"]["status"] == "cancelled"
    assert f"daemon {elsewhere} is pulling it" in runs["alpha"]["error"]
    assert {source for source, *_ in feeds.asked} == {"beta"}
    assert rows(pg_url, "SELECT id FROM daemons WHERE stopped_at IS NULL") == [(elsewhere,)]


def events(url: str, like: str) -> list[tuple[object, ...]]:
    return rows(url, "SELECT at, message FROM events WHERE message LIKE ? ORDER BY id", (like,))


async def test_a_daemon_on_postgresql_claims_a_command_on_notify_not_by_polling(tmp_path, pg_url):
    from sentitui.engine import commands

    (tmp_path / "pipelines").mkdir()
    text = PIPELINE.replace('schedule = "1s"', "") + SOURCE.format(
        name="alpha", base="http://127.0.0.1:9"
    )
    (tmp_path / "pipelines" / "fleet.toml").write_text(textwrap.dedent(text), encoding="utf-8")
    fallback = 60.0  # the daemon reads `commands` unprompted only this often
    proc = subprocess.Popen(
        [sys.executable, "-m", "sentitui.cli", "run", "--watch", "--db", pg_url]
        + ["--pipelines", str(tmp_path / "pipelines")],
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "a.stderr").open("ab"),
        cwd=tmp_path,
        env={
            **os.environ,
            "DAEMON_NAME": "a",
            "SENTITUI_LOG": str(tmp_path / "a.log"),
            "SENTITUI_COMMAND_FALLBACK": str(fallback),
        },
    )
    try:
        await until(lambda: events(pg_url, "listening for commands%"), "the daemon's LISTEN")
        [(listening_at, _)] = events(pg_url, "listening for commands%")
        store = Store(pg_url)
        try:
            command_id = commands.submit(store, "pause", "fleet", "alpha")
        finally:
            store.close()
        await until(lambda: events(pg_url, f"command {command_id}: pause%"), "the command claimed")
        [(claimed_at, _)] = events(pg_url, f"command {command_id}: pause%")
        # Its only look since LISTEN came from the NOTIFY: the fallback had not elapsed.
        assert float(claimed_at) - float(listening_at) < fallback  # type: ignore[arg-type]
        [(status, outcome)] = rows(
            pg_url, "SELECT status, outcome FROM commands WHERE id = ?", (command_id,)
        )
        assert (status, outcome) == ("done", "paused")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0


async def heard(url: str, check: Callable[[], object], what: str, timeout: float = 120) -> None:
    """Until `check()` holds, looking again at each NOTIFY the fleet's commits send
    (LISTEN comes first, so no commit between a look and the wait goes unheard).
    `timeout` only bounds a broken run; nothing here waits for time to pass."""
    import psycopg

    conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
    try:
        await conn.execute("LISTEN sentitui")
        async with asyncio.timeout(timeout):
            while not check():
                async for _ in conn.notifies(stop_after=1):
                    pass
    except TimeoutError:
        raise AssertionError(f"no NOTIFY brought {what} within {timeout:.0f} s") from None
    finally:
        await conn.close()


def seed_failed_record(tmp_path: Path, url: str) -> int:
    """fleet/alpha (its API unreachable: a retry needs only the stored payload) and one
    open failed record of it, stage `clean`, that loads when retried."""
    import json

    from sentitui.models import FailedRecord
    from sentitui.store import PageWrite

    (tmp_path / "pipelines").mkdir()
    text = PIPELINE.replace('schedule = "1s"', "") + SOURCE.format(
        name="alpha", base="http://127.0.0.1:9"
    )
    (tmp_path / "pipelines" / "fleet.toml").write_text(textwrap.dedent(text), encoding="utf-8")
    store = Store(url)
    try:
        run = store.start_run("fleet", "alpha", "cli")
        payload = json.dumps({"id": 99, "text": "AquaSilk retried post is lovely"})
        store.write_pages([PageWrite(run, [], [FailedRecord("clean", "boom", payload)])])
        run.status = "ok"
        store.finish_run(run)
        [record_id] = [r.id for r in store.failed_records(status="open")]
    finally:
        store.close()
    return int(record_id)


async def retry_cli(tmp_path: Path, url: str, record_id: int, wait: float) -> tuple[int, dict]:
    """`sentitui failed retry ID --json --wait W`: its exit status and output. The
    bound on communicate() is the test's guard only: the CLI ends by itself at --wait."""
    import json

    cli = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "sentitui.cli", "failed", "retry", str(record_id), "--json"),
        *("--wait", str(wait), "--db", url, "--pipelines", str(tmp_path / "pipelines")),
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "DAEMON_NAME": "cli"},
        cwd=tmp_path,
    )
    try:
        stdout, _ = await asyncio.wait_for(cli.communicate(), timeout=wait + 90)
    finally:
        if cli.returncode is None:
            cli.kill()
            await cli.wait()
    return int(cli.returncode or 0), json.loads(stdout)


async def test_failed_retry_goes_to_the_daemon_holding_the_records_source(
    tmp_path, pg_url, monkeypatch
):
    import json

    from sentitui.store import fleet

    record_id = seed_failed_record(tmp_path, pg_url)
    monkeypatch.setenv("SENTITUI_AUTHOR_KEY", "fleet-key")  # shared, as across machines
    # A lease outlives a stalled heartbeat by 30 s: a loaded machine cannot make
    # b lose alpha (and the retry go elsewhere) while the test runs.
    procs = {n: start_daemon(tmp_path, pg_url, n, ttl=30.0) for n in ("a", "b")}
    try:
        # Both daemons claim commands and publish their heartbeat from here on.
        await heard(
            pg_url,
            lambda: len(events(pg_url, "listening for commands%")) == 2,
            "both daemons listening for commands",
        )
        by_pid = {int(pid): int(i) for i, pid in rows(pg_url, "SELECT id, pid FROM daemons")}
        holder = by_pid[procs["b"].pid]
        store = Store(pg_url)
        try:
            # b holds alpha (as while it pulls it); its heartbeats keep the lease alive.
            assert fleet.acquire(store, holder, "fleet", "alpha", 120.0) is None
        finally:
            store.close()

        code, out = await retry_cli(tmp_path, pg_url, record_id, wait=60)
        assert out == {"resolved": [record_id], "failed": {}, "pending": {}}
        assert code == 0
        [(status, result)] = rows(
            pg_url, "SELECT status, result FROM commands WHERE action = 'retry'"
        )
        assert status == "done"
        assert json.loads(str(result))["daemon_id"] == holder  # b carried it out, not a
        assert rows(pg_url, "SELECT status FROM failed_records") == [("resolved",)]
        assert rows(pg_url, "SELECT COUNT(*) FROM posts WHERE text LIKE 'AquaSilk retried%'") == [
            (1,)
        ]
        # The retry's run is b's too, once b's heartbeat tags the runs under its lease.
        await heard(
            pg_url,
            lambda: (
                rows(pg_url, "SELECT daemon_id FROM runs WHERE trigger = 'manual'") == [(holder,)]
            ),
            "the retry's run tagged with its daemon",
        )
    finally:
        for proc in procs.values():
            proc.send_signal(signal.SIGTERM)
        assert [proc.wait(timeout=60) for proc in procs.values()] == [0, 0]


# A daemon the test controls: it joins the fleet, holds fleet/alpha and publishes its
# heartbeat like `run --watch`, but carries nothing out; with `claim` it claims commands
# (on their NOTIFY) and then sits on them, as a daemon that hangs or dies with one would.
STAND_IN = """
import os, socket, sys, time
import psycopg
from sentitui.engine import commands
from sentitui.store import Store, fleet

url, claim = sys.argv[1], sys.argv[2] == "claim"
store = Store(url)
me = fleet.register(store, socket.gethostname(), os.getpid())
assert fleet.acquire(store, me, "fleet", "alpha", 600.0) is None
listener = psycopg.connect(url, autocommit=True)
listener.execute("LISTEN sentitui")
print(me, flush=True)
while True:
    beat = {"pid": os.getpid(), "host": socket.gethostname(), "heartbeat": time.time()}
    commands.publish(store, {**beat, "stopped": False}, me)
    if claim:
        commands.claim(store, daemon_id=me)
    for note in listener.notifies(timeout=1.0):
        if note.payload == "commands":
            break
"""


async def stand_in(url: str, claim: bool) -> tuple[asyncio.subprocess.Process, int]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-c", STAND_IN, url, "claim" if claim else "hold"),
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), timeout=120)
    return proc, int(line)


def retry_command(url: str) -> tuple[str, int | None, str | None]:
    [(status, daemon_id, outcome)] = rows(
        url, "SELECT status, daemon_id, outcome FROM commands WHERE action = 'retry'"
    ) or [("", None, None)]
    return str(status), daemon_id, outcome  # type: ignore[return-value]


@pytest.mark.parametrize("claimed", [False, True], ids=["before-claiming", "holding-it"])
async def test_failed_retry_falls_back_here_when_the_holder_dies(tmp_path, pg_url, claimed):
    """The daemon holding the source dies (SIGKILL) with the retry command pending, or
    claimed and in hand; no daemon is left, so the CLI takes the command back and
    retries the record itself."""
    record_id = seed_failed_record(tmp_path, pg_url)
    daemon, daemon_id = await stand_in(pg_url, claim=claimed)
    cli = asyncio.ensure_future(retry_cli(tmp_path, pg_url, record_id, wait=120))
    try:
        expected = ("running", daemon_id) if claimed else ("pending", None)
        await heard(
            pg_url, lambda: retry_command(pg_url)[:2] == expected, f"the command {expected[0]}"
        )
        daemon.kill()
        await daemon.wait()
        code, out = await cli
    finally:
        if daemon.returncode is None:
            daemon.kill()
            await daemon.wait()
        await asyncio.gather(cli, return_exceptions=True)
    assert (code, out) == (0, {"resolved": [record_id], "failed": {}, "pending": {}})
    status, _, outcome = retry_command(pg_url)
    assert status == "failed"
    name = f"daemon {daemon_id} ({socket.gethostname()}, pid {daemon.pid}) died"
    assert outcome == name + (
        " while carrying it out" if claimed else " before taking it; no daemon is left"
    )
    assert rows(pg_url, "SELECT status FROM failed_records") == [("resolved",)]
    assert rows(pg_url, "SELECT COUNT(*) FROM posts") == [(1,)]


@pytest.mark.parametrize("claimed", [False, True], ids=["unclaimed", "in-hand"])
async def test_failed_retry_gives_up_at_its_wait_and_says_where_the_record_is(
    tmp_path, pg_url, claimed
):
    """A live holder that does not finish in --wait seconds: the CLI exits 1 naming the
    daemon. A command nobody claimed is withdrawn (it will not run behind our back);
    one a daemon has in hand stays with it, to finish there."""
    record_id = seed_failed_record(tmp_path, pg_url)
    daemon, daemon_id = await stand_in(pg_url, claim=claimed)
    try:
        code, out = await retry_cli(tmp_path, pg_url, record_id, wait=4 if claimed else 1)
        status, claimer, outcome = retry_command(pg_url)
    finally:
        daemon.kill()
        await daemon.wait()
    name = f"daemon {daemon_id} ({socket.gethostname()}, pid {daemon.pid})"
    assert code == 1
    assert (out["resolved"], out["failed"], list(out["pending"])) == ([], {}, [str(record_id)])
    [where] = out["pending"].values()
    if claimed:
        assert (status, claimer) == ("running", daemon_id)
        assert where.endswith(f"running on {name}: it finishes there")
    else:
        assert status == "failed" and str(outcome).startswith("withdrawn: ")
        assert where.endswith(f"(it was waiting for {name})")
    assert rows(pg_url, "SELECT status FROM failed_records") == [("open",)]


def test_a_claim_that_takes_nothing_wakes_no_daemon(pg_url):
    """Every UPDATE of `commands` NOTIFYs the fleet: an empty claim must send none, or
    daemons woken by each other's claims would never sleep."""
    import psycopg

    from sentitui.engine import commands
    from sentitui.store import fleet

    store = Store(pg_url)
    listener = psycopg.connect(pg_url, autocommit=True)
    try:
        listener.execute("LISTEN sentitui")
        a, b = fleet.register(store, "host", 1), fleet.register(store, "host", 2)
        assert fleet.acquire(store, a, "p", "s", 30.0) is None
        pull = commands.submit(store, "pull", "p", "s")
        listener.execute("NOTIFY sentitui, 'mark 1'")
        assert commands.claim(store, daemon_id=b) == []  # a's source: left for a
        listener.execute("NOTIFY sentitui, 'mark 2'")
        assert [c.id for c in commands.claim(store, daemon_id=a)] == [pull]
        assert commands.claim(store, daemon_id=a) == []  # nothing left
        listener.execute("NOTIFY sentitui, 'mark 3'")
        heard: list[str] = []
        for note in listener.notifies(timeout=10):
            heard += [note.payload] if note.payload != "daemons" else []
            if note.payload == "mark 3":
                break
        assert heard == ["commands", "mark 1", "mark 2", "commands", "mark 3"]
    finally:
        listener.close()
        store.close()


async def test_a_run_whose_lease_lapses_ends_at_once_and_the_new_holder_resumes(
    tmp_path, serve, db_url, monkeypatch
):
    """Daemon a stalls past its lease; b takes the source over. a's next heartbeat
    finds the lease gone and a's run ends there and then, while its page-2 request is
    still at the server: that page is not written by a. b resumes from a's committed
    cursor (page 2), and every post is stored once."""
    from sentitui.config import load_pipelines
    from sentitui.engine.engine import Engine
    from sentitui.engine.fleet import Fleet
    from sentitui.models import RunProgress
    from sentitui.store import fleet

    asked: list[str] = []
    page_two_asked, release = asyncio.Event(), asyncio.Event()

    async def handle(request: web.Request) -> web.Response:
        after = int(request.query.get("after") or 0)
        asked.append(request.query.get("after") or "")
        if after == PAGE and not page_two_asked.is_set():  # a's page 2: held at the server
            page_two_asked.set()
            await release.wait()
        page = list(range(after + 1, min(after + PAGE, 3 * PAGE) + 1))
        body = {
            "items": [{"id": i, "text": f"AquaSilk post {i} is lovely"} for i in page],
            "next": str(page[-1]) if page and page[-1] < 3 * PAGE else None,
        }
        return web.json_response(body)

    app = web.Application()
    app.router.add_get("/feed/{name}", handle)
    server = await serve(app)
    monkeypatch.setenv("DAEMON_NAME", "test")
    text = PIPELINE.replace('schedule = "1s"', "") + SOURCE.format(name="alpha", base=server.url)
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "fleet.toml").write_text(textwrap.dedent(text), encoding="utf-8")
    pipelines = load_pipelines(tmp_path / "pipelines")

    async def daemon(on_lost: Callable[[str, str], None]) -> tuple[Engine, Fleet]:
        engine = Engine(db_url, pipelines, score_workers=0)
        await engine.start()
        engine.fleet = Fleet(engine.writer, ttl=300.0)  # beats at join, then not for 100 s
        await engine.fleet.join(lambda: None, on_lost)
        return engine, engine.fleet

    lost: list[tuple[str, str]] = []

    def a_lost(pipeline: str, source: str) -> None:
        lost.append((pipeline, source))
        a.drop(pipeline, source, "lease lost: another daemon took over")

    a, a_fleet = await daemon(a_lost)
    b, b_fleet = await daemon(lambda pipeline, source: None)
    committed = asyncio.Event()
    a.subscribe(lambda e: committed.set() if isinstance(e, RunProgress) else None)
    store = Store(db_url)
    try:
        run_a = asyncio.create_task(a.run_source("fleet", "alpha", "schedule"))
        await asyncio.wait_for(asyncio.gather(committed.wait(), page_two_asked.wait()), 60)

        fleet.heartbeat(store, a_fleet.daemon_id, -1.0)  # a stalls: its lease lapses
        assert await b_fleet.acquire("fleet", "alpha") is None  # b takes the source over
        await a_fleet.beat(None, a_lost)  # a's next heartbeat: the lease is gone
        stats_a = await asyncio.wait_for(run_a, 30)
        assert not release.is_set()  # a's run ended with its page-2 request in flight
        assert lost == [("fleet", "alpha")]
        assert (stats_a.status, stats_a.loaded) == ("cancelled", PAGE)
        assert stats_a.error == "lease lost: another daemon took over"
        assert [r[0] for r in store.conn.execute("SELECT external_id FROM posts")] == [
            str(i) for i in range(1, PAGE + 1)
        ]

        release.set()
        stats_b = await asyncio.wait_for(b.run_source("fleet", "alpha", "schedule"), 60)
        assert (stats_b.status, stats_b.loaded, stats_b.duplicates) == ("ok", 2 * PAGE, 0)
        assert asked == ["", str(PAGE), str(PAGE), str(2 * PAGE)]  # b began at page 2
        ids = [int(r[0]) for r in store.conn.execute("SELECT external_id FROM posts")]
        assert sorted(ids) == list(range(1, 3 * PAGE + 1))
        [(status, error)] = store.conn.execute(
            "SELECT status, error FROM runs WHERE id = ?", (stats_a.run_id,)
        ).fetchall()
        assert (status, error) == ("cancelled", "lease lost: another daemon took over")
    finally:
        release.set()
        store.close()
        for engine, its_fleet in ((a, a_fleet), (b, b_fleet)):
            await its_fleet.leave()
            await engine.close()
