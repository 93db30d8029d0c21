"""The engine's side of a fleet (store/fleet.py): this daemon's row, its leases and
their heartbeat. The Engine asks `acquire` before each run and `release` after it, so
a source is pulled by one daemon at a time however many share the database."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable
from typing import Any

from sentitui.engine.writer import StoreThread
from sentitui.store import fleet

logger = logging.getLogger("sentitui")
LEASE_TTL = 30.0  # seconds a lease outlives its holder's last heartbeat


def lease_ttl() -> float:
    """$SENTITUI_LEASE_TTL (seconds) or LEASE_TTL: how soon a dead daemon's sources move."""
    return float(os.environ.get("SENTITUI_LEASE_TTL") or LEASE_TTL)


class Fleet:
    def __init__(self, writer: StoreThread, ttl: float | None = None) -> None:
        self.writer = writer
        self.ttl = ttl or lease_ttl()
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.daemon_id = 0
        self.held: set[tuple[str, str]] = set()
        self.peers = 0  # other daemons alive at the last heartbeat
        self._beats: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        return f"daemon {self.daemon_id} ({self.host}, pid {self.pid})"

    async def join(
        self,
        snapshot: Callable[[], dict[str, Any] | None] = lambda: None,
        on_lost: Callable[[str, str], None] = lambda pipeline, source: None,
    ) -> None:
        """Register, and beat until leave(): `snapshot()` is published with each beat,
        `on_lost(pipeline, source)` is told of a lease that lapsed under us."""
        self.daemon_id = await self.writer.call(fleet.register, self.host, self.pid)
        self._beats = asyncio.create_task(self.heartbeats(snapshot, on_lost), name="heartbeat")

    async def acquire(self, pipeline: str, source: str) -> str | None:
        """None once the source is ours; else who holds it, for the log."""
        holder = await self.writer.call(fleet.acquire, self.daemon_id, pipeline, source, self.ttl)
        if holder is None:
            self.held.add((pipeline, source))
            return None
        return f"daemon {holder} is pulling it"

    async def release(self, pipeline: str, source: str) -> None:
        self.held.discard((pipeline, source))
        await self.writer.call(fleet.release, self.daemon_id, pipeline, source)

    async def beat(
        self, snapshot: dict[str, Any] | None, on_lost: Callable[[str, str], None]
    ) -> None:
        """Renew; a lease another daemon took meanwhile (ours lapsed: a stalled host)
        is lost: `on_lost` ends our run of it (Daemon._lease_lost drops it)."""
        found, self.peers = await self.writer.call(
            fleet.heartbeat, self.daemon_id, self.ttl, snapshot
        )
        held = set(found)
        for key in self.held - held:
            logger.warning("%s/%s: lease lost (heartbeat too late); stopping", *key)
            on_lost(*key)
        self.held &= held

    async def heartbeats(
        self, snapshot: Callable[[], dict[str, Any] | None], on_lost: Callable[[str, str], None]
    ) -> None:
        """Beat every third of the lease time until cancelled."""
        while True:
            try:
                await self.beat(snapshot(), on_lost)
            except Exception:
                logger.exception("fleet heartbeat failed")
            await asyncio.sleep(self.ttl / 3)

    async def leave(self) -> int:
        """Stop beating, give the leases back, end our own open runs `cancelled`;
        returns how many."""
        if self._beats is not None:
            self._beats.cancel()
            await asyncio.gather(self._beats, return_exceptions=True)
            self._beats = None
        closed = await self.writer.call(fleet.close_own_runs, self.daemon_id)
        await self.writer.call(fleet.leave, self.daemon_id)
        return closed
