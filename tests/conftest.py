"""Shared fixtures: real local HTTP servers, pipeline files on disk, a real SQLite file."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from pg import pg_cluster, pg_url  # noqa: F401  (the throwaway PostgreSQL fixtures)

from sentitui.config import PipelineConfig, load_pipeline_file
from sentitui.engine.engine import Engine
from sentitui.net.http import HttpClient
from sentitui.store import Store

REPO = Path(__file__).resolve().parent.parent
SHARED_FIXTURES = REPO.parent / "shared" / "fixtures" / "real"
OWN_FIXTURES = REPO / "tests" / "fixtures"
CONFORMANCE_SKIP = "conformance: third-party recordings in ../shared/fixtures/real are absent"
# Tests over the third-party recordings are a second layer: the main tests read the
# project's own fixtures in tests/fixtures, so a fresh clone passes without ../shared.
conformance = pytest.mark.skipif(not SHARED_FIXTURES.is_dir(), reason=CONFORMANCE_SKIP)


@dataclass
class LocalServer:
    """An aiohttp app on a free loopback port that records every request it serves."""

    app: web.Application
    url: str = ""
    requests: list[web.Request] = field(default_factory=list)
    runner: web.AppRunner | None = None

    def queries(self, path: str | None = None) -> list[dict[str, str]]:
        return [dict(r.query) for r in self.requests if path is None or r.path == path]


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[web.Application], Any]]:
    """`server = await serve(app)` starts `app` on 127.0.0.1:<free port>."""
    started: list[LocalServer] = []

    async def start(app: web.Application) -> LocalServer:
        server = LocalServer(app)

        @web.middleware
        async def record(request: web.Request, handler: Any) -> web.StreamResponse:
            server.requests.append(request)
            return await handler(request)

        app.middlewares.append(record)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        server.url = f"http://127.0.0.1:{port}"
        server.runner = runner
        started.append(server)
        return server

    yield start
    for server in started:
        assert server.runner is not None
        await server.runner.cleanup()


@pytest.fixture
def write_pipeline(tmp_path: Path) -> Callable[[str, str], PipelineConfig]:
    """Write a pipeline TOML into tmp_path/pipelines and load it."""
    folder = tmp_path / "pipelines"
    folder.mkdir(exist_ok=True)

    def write(text: str, name: str = "test") -> PipelineConfig:
        path = folder / f"{name}.toml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return load_pipeline_file(path)

    return write


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "both_backends: run on SQLite and on PostgreSQL (db_path becomes a URL)"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests marked `both_backends` run twice: `db_path` is a SQLite file, then the URL
    of a database on the throwaway PostgreSQL cluster."""
    if "db_path" in metafunc.fixturenames and metafunc.definition.get_closest_marker(
        "both_backends"
    ):
        metafunc.parametrize("db_path", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def db_path(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    if getattr(request, "param", "sqlite") == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return tmp_path / "test.db"


@contextmanager
def connect_db(db: Path | str) -> Iterator[Any]:
    """A plain connection to a test's database, SQLite file or PostgreSQL URL alike
    (`conn.execute(sql with ?, params)`), for asserting on rows."""
    store = Store(db, migrate=False)
    try:
        yield store.conn
    finally:
        store.close()


def readable(row: Any) -> tuple[Any, ...]:
    """A row read with connect_db as the store's readers see it: a raw payload (bytea
    on PostgreSQL, store/sql.py) back as the text it was received as."""
    from sentitui.store.sql import payload_text

    return tuple(payload_text(v) if isinstance(v, bytes | memoryview) else v for v in row)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The database, on each backend in turn: a SQLite file, or a PostgreSQL database
    on the session's throwaway cluster (skipped where PostgreSQL is not installed)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def make_engine(db_path: Path) -> Callable[..., Engine]:
    """An engine with fast retries and scoring in a thread (tests use few records)."""

    def make(*pipelines: PipelineConfig, **kwargs: Any) -> Engine:
        kwargs.setdefault("score_workers", 0)
        kwargs.setdefault("http", HttpClient(min_delay=0.01))
        return Engine(db_path, pipelines, **kwargs)

    return make
