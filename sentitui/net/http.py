"""The one shared HTTP client: timeouts, retries with backoff and jitter, Retry-After.

Retry policy (after Scrapy's RetryMiddleware): 429, 5xx, timeouts, refused
connections and truncated bodies are retried with exponential backoff and jitter;
a `Retry-After` header sets the wait instead (never below `min_delay`, so
`Retry-After: 0` cannot burn every retry at once). 401/403 stop at once with an
AuthError; other 4xx fail without retry. The last failure raises FetchError,
which the runner turns into a `fetch`-stage failed record.
"""

from __future__ import annotations

import asyncio
import random
import time
import zlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from sentitui import __version__
from sentitui.net.ratelimit import DEFAULT_RULES, RateLimitRules, Wait, next_allowed
from sentitui.net.scope import CredentialScope, host_of, origin_of
from sentitui.processing.clean import strip_controls
from sentitui.textcodec import decode

if TYPE_CHECKING:
    import aiohttp

USER_AGENT = (
    f"SentiTUI/{__version__} (sentiment ingestion console; +https://pypi.org/project/sentitui/)"
)
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504, 520, 521, 522, 524})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 10
BODY_START = 2000  # characters of a failing body kept in the failed record
MAX_BODY = 64 * 1024 * 1024  # bytes of one response (after decompression) read at most
GZIP_MAGIC = b"\x1f\x8b"


class FetchError(Exception):
    """A request that failed for good; carries what the failed record needs."""

    def __init__(
        self,
        url: str,
        message: str,
        status: int | None = None,
        body: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.url = url
        self.status = status
        self.body = body[:BODY_START]
        self.headers = dict(headers or {})  # rate-limit headers of the refusal, if any
        super().__init__(message)


class AuthError(FetchError):
    """401/403: retrying will not help until someone fixes the credentials."""


@dataclass(slots=True)
class Response:
    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes
    charset: str | None = None

    def text(self) -> str:
        """Decode with the declared charset, else UTF-8; bytes that do not fit it are
        read as cp1252 rather than failing, since a page with a stray byte beats a lost
        page (textcodec.py)."""
        return decode(self.body, self.charset)


class _BodyError(Exception):
    """The body could not be read as sent; `retry` says whether trying again may help."""

    def __init__(self, message: str, retry: bool, body: bytes = b"") -> None:
        super().__init__(message)
        self.retry = retry
        self.body = body


async def read_body(resp: aiohttp.ClientResponse, limit: int) -> bytes:
    """The body as sent (still compressed), refusing more than `limit` bytes."""
    if resp.content_length is not None and resp.content_length > limit:
        raise _BodyError(
            f"response body of {resp.content_length:,} bytes is over the "
            f"{limit:,}-byte limit; not read",
            retry=False,
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_any():
        size += len(chunk)
        if size > limit:
            raise _BodyError(
                f"response body is over the {limit:,}-byte limit; stopped reading",
                retry=False,
                body=b"".join(chunks),
            )
        chunks.append(chunk)
    return b"".join(chunks)


def undo_content_encoding(body: bytes, content_encoding: str, limit: int) -> bytes:
    """Decompress a body, trusting its bytes over its label: servers send gzip marked
    `deflate`, plain text marked `gzip`, and .json.gz files with no label at all. gzip
    and zlib streams are recognised by their header; a body the declared coding cannot
    undo is taken as sent. Output is capped at `limit` bytes (no decompression bombs)."""
    codings = {c.strip().lower() for c in content_encoding.split(",")} - {"", "identity"}
    if body[:2] == GZIP_MAGIC or codings & {"gzip", "x-gzip", "deflate"}:
        # 47: a gzip or zlib header, detected; -15: raw deflate, which some servers
        # send as `deflate`. Plain text fails both at once and is kept as it is.
        for wbits in (47, -15) if "deflate" in codings else (47,):
            inflater = zlib.decompressobj(wbits)
            try:
                out = inflater.decompress(body, limit + 1)
            except zlib.error:
                continue
            if len(out) > limit:
                raise _BodyError(
                    f"response body inflates past the {limit:,}-byte limit", retry=False
                )
            if not inflater.eof:
                raise _BodyError(
                    "truncated response body: the compressed stream ends early", retry=True
                )
            return out
    elif "br" in codings:
        try:
            import brotli  # aiohttp's optional dependency for `br`

            return bytes(brotli.decompress(body))
        except Exception:  # not installed, or not brotli after all: keep the bytes
            pass
    return body


def redirect_error(hops: list[str]) -> str:
    """'redirect loop: a -> b -> a' or 'too many redirects (10): a -> b -> c -> … -> z'."""
    for index, hop in enumerate(hops):
        if hop in hops[:index]:
            return f"redirect loop: {' -> '.join(hops[: index + 1])}"
    shown = hops if len(hops) <= 6 else hops[:3] + ["…"] + hops[-2:]
    return f"too many redirects ({len(hops)}): {' -> '.join(shown)}"


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After is either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        import email.utils  # 8 ms at import, for the rare Retry-After given as a date

        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


WaitCallback = Callable[[float, str], None]


class HttpClient:
    """Owns one aiohttp session for the whole engine (connection reuse, one pool)."""

    def __init__(
        self,
        *,
        connect_timeout: float = 10.0,
        limit_per_host: int = 8,
        max_body: int = MAX_BODY,
        min_delay: float = 0.2,
        max_retry_after: float = 300.0,
        max_rate_wait: float = 900.0,
        user_agent: str = USER_AGENT,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.connect_timeout = connect_timeout
        self.limit_per_host = limit_per_host
        self.max_body = max_body
        self.min_delay = min_delay
        self.max_retry_after = max_retry_after
        self.max_rate_wait = max_rate_wait  # longest wait for a spent rate-limit budget
        self.user_agent = user_agent
        self.sleep = sleep
        self._session: aiohttp.ClientSession | None = None
        # host -> when its rate-limit budget allows the next request (see ratelimit.py)
        self._not_before: dict[str, Wait] = {}
        # Told (url, seconds, HTTP status) after each response is read: the metrics.
        self.on_fetch: Callable[[str, float, int], None] | None = None

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            import aiohttp  # here, not at import: loading a pipeline needs no HTTP client

            connector = aiohttp.TCPConnector(limit=64, limit_per_host=self.limit_per_host)
            self._session = aiohttp.ClientSession(
                connector=connector, headers={"User-Agent": self.user_agent}
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def get(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        retries: int = 4,
        timeout: float = 30.0,
        backoff: float = 1.0,
        on_wait: WaitCallback | None = None,
        ok_statuses: frozenset[int] = frozenset({200, 203, 304}),
        rate_limit: RateLimitRules = DEFAULT_RULES,
        scope: CredentialScope | None = None,
    ) -> Response:
        """GET with the retry policy above; raises FetchError after the last attempt.

        `timeout` bounds the whole request, body included, so a server trickling a
        byte at a time cannot hold a run forever. Before each attempt it waits while
        the host's rate-limit budget is spent, as the last response's headers said
        (`rate_limit` says how to read them). With a `scope`, `url` and every redirect
        hop must lie inside it (net/scope.py): a request that carries a source's
        credentials goes nowhere else. Without one, a redirect to another origin is
        followed without the caller's `headers`."""
        import aiohttp

        if scope is not None and not scope.allows(url):
            raise FetchError(url, scope.refusal(url, "a request to"))
        client_timeout = aiohttp.ClientTimeout(
            total=timeout,
            connect=self.connect_timeout,
            sock_connect=self.connect_timeout,
            sock_read=timeout,
        )
        clean_params = {
            k: str(v).lower() if isinstance(v, bool) else v
            for k, v in (params or {}).items()
            if v is not None
        }
        attempt = 0
        while True:
            failure: FetchError
            retry_after: float | None = None
            await self._wait_for_budget(url, on_wait)
            started = time.monotonic()
            try:
                async with await self._open(
                    url, clean_params, headers, client_timeout, scope
                ) as resp:
                    final_url = str(resp.url)
                    try:
                        body = undo_content_encoding(
                            await read_body(resp, self.max_body),
                            resp.headers.get("Content-Encoding", ""),
                            self.max_body,
                        )
                    except _BodyError as exc:
                        failure = FetchError(
                            final_url,
                            str(exc),
                            resp.status,
                            decode(exc.body[: BODY_START * 4], resp.charset),
                            resp.headers,
                        )
                        if not exc.retry:
                            raise failure from None
                        body = None
                if body is not None:
                    if self.on_fetch is not None:
                        self.on_fetch(url, time.monotonic() - started, resp.status)
                    self._note_budget(url, resp.headers, rate_limit)
                    if resp.status in ok_statuses or 200 <= resp.status < 300:
                        return Response(final_url, resp.status, resp.headers, body, resp.charset)
                    text = decode(body, resp.charset)
                    # The reason phrase is the server's text: no escapes reach a terminal.
                    message = f"HTTP {resp.status} {strip_controls(resp.reason or '')}".strip()
                    if resp.status in (401, 403):
                        raise AuthError(
                            final_url,
                            f"{message}: check the source's credentials",
                            resp.status,
                            text,
                            resp.headers,
                        )
                    failure = FetchError(final_url, message, resp.status, text, resp.headers)
                    if resp.status not in RETRY_STATUSES:
                        raise failure
                    retry_after = parse_retry_after(resp.headers.get("Retry-After"))
            except FetchError:
                raise
            except TimeoutError:
                failure = FetchError(
                    url,
                    f"timed out after {timeout:g}s waiting for the server "
                    "to send the whole response",
                )
            except aiohttp.ClientPayloadError as exc:
                failure = FetchError(url, f"truncated response body: {exc}")
            except aiohttp.ClientConnectionError as exc:
                failure = FetchError(url, f"connection failed: {exc}")
            except aiohttp.ClientError as exc:
                failure = FetchError(url, f"request failed: {exc}")

            if attempt >= retries:
                if attempt:
                    failure.args = (f"{failure.args[0]} (gave up after {attempt + 1} attempts)",)
                raise failure
            if retry_after is not None and retry_after > self.max_retry_after:
                failure.args = (
                    f"{failure.args[0]}: server asks to wait {retry_after:.0f}s, "
                    f"more than the {self.max_retry_after:.0f}s allowed",
                )
                raise failure
            if retry_after is not None:
                delay = max(retry_after, self.min_delay)
            else:
                delay = max(self.min_delay, backoff * (2**attempt) * (0.5 + random.random() / 2))
            attempt += 1
            if on_wait is not None:
                on_wait(delay, f"{failure.args[0]}; retry {attempt}/{retries} in {delay:.1f}s")
            await self.sleep(delay)

    async def _open(
        self,
        url: str,
        params: Mapping[str, Any],
        headers: Mapping[str, str] | None,
        timeout: aiohttp.ClientTimeout,
        scope: CredentialScope | None,
    ) -> aiohttp.ClientResponse:
        """Send the request and follow redirects here rather than in aiohttp, which
        carries custom key headers (X-Api-Key) to any host a redirect names. A hop out
        of `scope` is refused; without a scope, a hop to another origin drops the
        caller's headers. A redirect chain is the same every time: its errors are not
        retried."""
        first = origin_of(url)
        hops: list[str] = []
        target, query, send = url, params, dict(headers or {})
        while True:
            resp = await self.session.get(
                target,
                params=query,
                headers=send,
                timeout=timeout,
                auto_decompress=False,
                allow_redirects=False,
            )
            location = resp.headers.get("Location")
            if resp.status not in REDIRECT_STATUSES or not location:
                return resp
            here = str(resp.url)
            resp.release()
            hops.append(here)
            if len(hops) >= MAX_REDIRECTS:
                raise FetchError(url, redirect_error(hops))
            try:
                target = urljoin(here, location.strip())
            except ValueError:  # "http://[x": not even a URL
                target = location
            if origin_of(target) is None:
                raise FetchError(
                    url,
                    f"bad redirect: {here} -> {strip_controls(location)!r} is not an http(s) URL",
                )
            if scope is not None and not scope.allows(target):
                raise FetchError(
                    here, scope.refusal(target, f"a redirect from {host_of(here)} to"), resp.status
                )
            if scope is None and origin_of(target) != first:
                send = {}
            query = {}

    def _note_budget(self, url: str, headers: Mapping[str, str], rules: RateLimitRules) -> None:
        wait = next_allowed(headers, rules=rules)
        if wait is not None:
            self._not_before[urlsplit(url).netloc] = wait

    async def _wait_for_budget(self, url: str, on_wait: WaitCallback | None) -> None:
        """Sleep while the host's rate-limit budget is spent; refuse waits longer than
        `max_rate_wait` (the run fails with the time to come back, the cursor is kept)."""
        host = urlsplit(url).netloc
        wait = self._not_before.get(host)
        if wait is None:
            return
        delay = wait.delay()
        if delay > self.max_rate_wait:
            raise FetchError(
                url,
                f"{wait.reason}: {delay:.0f}s away, more than the "
                f"{self.max_rate_wait:.0f}s a run waits; the next run resumes",
            )
        if delay > 0:
            if on_wait is not None:
                on_wait(delay, wait.reason)
            await self.sleep(delay)
        if self._not_before.get(host) is wait:
            del self._not_before[host]
