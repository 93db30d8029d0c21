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
import email.utils
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from sentitui import __version__

USER_AGENT = f"SentiTUI/{__version__} (sentiment ingestion console; +https://pypi.org/project/sentitui/)"
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504, 520, 521, 522, 524})
BODY_START = 2000  # characters of a failing body kept in the failed record


class FetchError(Exception):
    """A request that failed for good; carries what the failed record needs."""

    def __init__(self, url: str, message: str, status: int | None = None, body: str = "") -> None:
        self.url = url
        self.status = status
        self.body = body[:BODY_START]
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
        """Decode with the declared charset, else UTF-8; undecodable bytes fall back
        to cp1252 rather than failing, since a page of mojibake beats a lost page."""
        encoding = self.charset or "utf-8"
        try:
            return self.body.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            try:
                return self.body.decode("utf-8")
            except UnicodeDecodeError:
                return self.body.decode("cp1252", errors="replace")


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
        min_delay: float = 0.2,
        max_retry_after: float = 300.0,
        user_agent: str = USER_AGENT,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.connect_timeout = connect_timeout
        self.limit_per_host = limit_per_host
        self.min_delay = min_delay
        self.max_retry_after = max_retry_after
        self.user_agent = user_agent
        self.sleep = sleep
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
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
    ) -> Response:
        """GET with the retry policy above; raises FetchError after the last attempt."""
        client_timeout = aiohttp.ClientTimeout(total=None, connect=self.connect_timeout,
                                               sock_connect=self.connect_timeout,
                                               sock_read=timeout)
        clean_params = {k: str(v).lower() if isinstance(v, bool) else v
                        for k, v in (params or {}).items() if v is not None}
        attempt = 0
        while True:
            failure: FetchError
            retry_after: float | None = None
            try:
                async with self.session.get(url, params=clean_params, headers=headers,
                                            timeout=client_timeout) as resp:
                    body = await resp.read()
                    final_url = str(resp.url)
                    if resp.status in ok_statuses or 200 <= resp.status < 300:
                        return Response(final_url, resp.status, resp.headers, body, resp.charset)
                    text = body.decode(resp.charset or "utf-8", errors="replace")
                    message = f"HTTP {resp.status} {resp.reason or ''}".strip()
                    if resp.status in (401, 403):
                        raise AuthError(final_url, f"{message}: check the source's credentials",
                                        resp.status, text)
                    failure = FetchError(final_url, message, resp.status, text)
                    if resp.status not in RETRY_STATUSES:
                        raise failure
                    retry_after = parse_retry_after(resp.headers.get("Retry-After"))
            except FetchError:
                raise
            except TimeoutError:
                failure = FetchError(url, f"timed out after {timeout:g}s waiting for the server")
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
                failure.args = (f"{failure.args[0]}: server asks to wait {retry_after:.0f}s, "
                                f"more than the {self.max_retry_after:.0f}s allowed",)
                raise failure
            if retry_after is not None:
                delay = max(retry_after, self.min_delay)
            else:
                delay = max(self.min_delay, backoff * (2**attempt) * (0.5 + random.random() / 2))
            attempt += 1
            if on_wait is not None:
                on_wait(delay, f"{failure.args[0]}; retry {attempt}/{retries} in {delay:.1f}s")
            await self.sleep(delay)
