"""What the streaming sources share: the `StreamSource` protocol, opening a long-lived
response, reading it as server-sent events or newline-delimited JSON, and backoff.

A stream source is a source like any other (it maps records, keeps a cursor, and its
`pages()` serves `run --once`), plus `stream(ctx)`: an endless iterator of `Page`s,
one per event (or per back-filled REST page), that reconnects by itself. The engine's
StreamRunner groups those pages into small batches and commits each batch with the
cursor of its last page, so a restart resumes where the last commit stood.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from sentitui.models import Page
from sentitui.net.http import AuthError, FetchError
from sentitui.sources.base import Option, SourceContext
from sentitui.textcodec import decode

if TYPE_CHECKING:
    import aiohttp

MAX_LINE = 1024 * 1024  # bytes of one SSE/NDJSON line; longer ones are failed records
BODY_START = 2000

STREAM_OPTIONS: dict[str, Option] = {
    "stream": Option(
        (bool,), default=False, doc="push: keep a streaming connection open in run --watch"
    ),
    "stall_timeout": Option(
        (int, float),
        default=90.0,
        doc="seconds without a byte (heartbeats count) before a stream reconnects",
        minimum=0.1,
    ),
    "fail_after": Option(
        (int, float),
        default=300.0,
        doc="seconds a stream may stay disconnected before its run ends failed (and restarts)",
        minimum=0.1,
    ),
    "max_backoff": Option(
        (int, float),
        default=60.0,
        doc="longest wait in seconds between reconnection attempts",
        minimum=0.01,
    ),
}


@runtime_checkable
class StreamSource(Protocol):
    """A source that can push: `stream()` yields pages until cancelled."""

    def stream(self, ctx: SourceContext) -> AsyncIterator[Page]: ...


def is_stream(source: object) -> bool:
    return isinstance(source, StreamSource) and bool(getattr(source, "streaming", False))


class StreamDropped(Exception):
    """The connection ended or went quiet; the source reconnects after a backoff."""


@dataclass(slots=True)
class Backoff:
    """Exponential reconnection delays with jitter: first, 2×first, … up to `cap`.
    `reset()` after a connection that delivered something."""

    first: float = 1.0
    cap: float = 60.0
    attempt: int = 0

    def next(self) -> float:
        delay = min(self.cap, self.first * 2.0**self.attempt)
        self.attempt += 1
        return delay * (0.5 + random.random() / 2)

    def reset(self) -> None:
        self.attempt = 0


def stream_timeout(stall: float, connect: float = 10.0) -> aiohttp.ClientTimeout:
    """No total limit (the response lasts for days); a read that waits longer than
    `stall` seconds for a byte raises, which the source takes as a dropped stream."""
    import aiohttp

    return aiohttp.ClientTimeout(total=None, connect=connect, sock_connect=connect, sock_read=stall)


async def check_response(resp: aiohttp.ClientResponse, hint: str) -> None:
    """Raise AuthError on 401/403 (reconnecting will not help) and StreamDropped on any
    other status than 200, with the start of the body for the log."""
    import aiohttp

    if resp.status == 200:
        return
    try:
        body = decode((await resp.content.read(BODY_START * 2))[:BODY_START], resp.charset)
    except (aiohttp.ClientError, TimeoutError):
        body = ""
    message = f"HTTP {resp.status} {resp.reason or ''}".strip()
    if resp.status in (401, 403):
        raise AuthError(str(resp.url), f"{message}: {hint}", resp.status, body, resp.headers)
    if 300 <= resp.status < 400:
        message += f" to {resp.headers.get('Location', '?')} (redirects are not followed)"
    raise StreamDropped(f"{message}: {' '.join(body.split())[:200]}")


async def lines(resp: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    """The body's lines without their line ends ("\\n" or "\\r\\n"). A line longer
    than MAX_LINE is cut and handed on as it is (its reader fails it); a last line
    without its end is dropped, since the connection broke in the middle of it."""
    pending, skipping = b"", False  # skipping: the rest of a line already cut
    async for chunk in resp.content.iter_any():
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for line in complete:
            if skipping:
                skipping = False
                continue
            yield line.removesuffix(b"\r")
        if len(pending) > MAX_LINE:
            if not skipping:
                yield pending[:MAX_LINE]
            pending, skipping = b"", True


@dataclass(slots=True)
class SseEvent:
    event: str
    data: str
    id: str | None = None


async def sse_events(resp: aiohttp.ClientResponse) -> AsyncIterator[SseEvent]:
    """Server-sent events (the WHATWG event-stream format): `event:`/`data:`/`id:` fields,
    an event dispatched on a blank line, `:` comments (heartbeats) skipped. An event the
    connection cut off before its blank line is never dispatched."""
    event, last_id = "message", None
    data: list[str] = []
    async for raw in lines(resp):
        line = raw.decode("utf-8", "replace")
        if line == "":
            if data:
                yield SseEvent(event, "\n".join(data), last_id)
            event, data = "message", []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
        elif name == "id":
            last_id = value


async def post_json(
    ctx: SourceContext,
    url: str,
    body: dict[str, Any],
    headers: Mapping[str, str],
    timeout: float = 30.0,
) -> Any:
    """POST a JSON body and return the decoded answer (stream rules endpoints). Raises
    AuthError on 401/403 and FetchError on any other failure."""
    import aiohttp

    try:
        async with ctx.http.session.post(
            url,
            json=body,
            headers=dict(headers),
            timeout=aiohttp.ClientTimeout(total=timeout),
            allow_redirects=False,
        ) as resp:
            text = await resp.text(errors="replace")
            if resp.status in (401, 403):
                raise AuthError(url, f"HTTP {resp.status}", resp.status, text, resp.headers)
            if resp.status >= 300:
                raise FetchError(url, f"HTTP {resp.status} {resp.reason or ''}", resp.status, text)
            return await resp.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise FetchError(url, f"request failed: {exc}") from None


async def wait_before_reconnect(ctx: SourceContext, backoff: Backoff, why: str) -> None:
    """Show the wait in the source's state and log, then sleep it."""
    delay = backoff.next()
    ctx.set_status("backing_off", f"reconnecting in {delay:.1f}s: {why}")
    ctx.log("WARNING", f"stream dropped ({why}); reconnecting in {delay:.1f}s")
    await asyncio.sleep(delay)
