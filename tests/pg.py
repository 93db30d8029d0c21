"""A throwaway PostgreSQL cluster for tests, started by the tests themselves.

`initdb` into a temp folder, `pg_ctl start` on a free loopback port (its Unix socket in
the same folder), torn down at the end of the session: one cluster per xdist worker.
Each test gets a database of its own (CREATE DATABASE is fast on a cluster that never
fsyncs). As root, the server runs as the `postgres` user (PostgreSQL refuses root).
Where `initdb` is absent the tests that need it skip, saying so in one line.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SUPERUSER = "sentitui"


def find_bin(name: str) -> str | None:
    """`name` from PATH, else from Debian's versioned folder (not on PATH there)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Cluster:
    """A running PostgreSQL server in `root`; `url(db)` names one of its databases."""

    root: Path
    port: int
    bindir: Path
    user: str | None  # the OS user it runs as when we are root

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            args, user=self.user, capture_output=True, text=True, check=True, timeout=120
        )

    @classmethod
    def start(cls) -> Cluster:
        initdb = find_bin("initdb")
        if initdb is None:
            raise FileNotFoundError("initdb")
        bindir = Path(initdb).parent
        root = Path(tempfile.mkdtemp(prefix="sentitui-pg-"))
        user = None
        if os.geteuid() == 0:
            user = "postgres"
            entry = pwd.getpwnam(user)
            os.chown(root, entry.pw_uid, entry.pw_gid)
        os.chmod(root, 0o700)
        cluster = cls(root=root, port=free_port(), bindir=bindir, user=user)
        try:
            cluster._run(
                str(bindir / "initdb"),
                "-D",
                str(root / "data"),
                "-U",
                SUPERUSER,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            )
            options = (
                f"-p {cluster.port} -k {root} -c listen_addresses=127.0.0.1 "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c max_connections=300 -c shared_buffers=32MB"
            )
            cluster._run(
                str(bindir / "pg_ctl"),
                "start",
                "-w",
                "-D",
                str(root / "data"),
                "-l",
                str(root / "server.log"),
                "-o",
                options,
            )
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        return cluster

    def stop(self) -> None:
        try:
            self._run(
                str(self.bindir / "pg_ctl"),
                "stop",
                "-m",
                "immediate",
                "-D",
                str(self.root / "data"),
            )
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0 STRATEGY FILE_COPY')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """One server per test process (so one per xdist worker), removed at the end."""
    if find_bin("initdb") is None:
        pytest.skip("PostgreSQL's initdb is not installed (apt-get install postgresql)")
    cluster = Cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


_numbers = itertools.count(1)


@pytest.fixture
def pg_url(pg_cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A `postgresql://` URL of an empty database of this test's own. Its author key
    file (store/author_key.py: under the user's config folder) goes to the test's own
    folder, for the daemons the test starts too."""
    from sentitui.store.postgres import close_pools

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    name = f"t{os.getpid()}_{next(_numbers)}"
    url = pg_cluster.create_database(name)
    try:
        yield url
    finally:
        close_pools()
        pg_cluster.drop_database(name)
