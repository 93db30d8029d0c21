"""Chaos suite fixtures (the servers and runners are in chaos_feeds.py)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from chaos_feeds import Chaos, ChaosServer, Feed


@pytest.fixture
def chaos_server() -> Iterator[ChaosServer]:
    server = ChaosServer(Feed(total=0))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def chaos(tmp_path: Path, chaos_server: ChaosServer) -> Chaos:
    return Chaos(tmp_path, chaos_server, "mastodon")
