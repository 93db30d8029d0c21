"""Credentials that last as long as the daemon: OAuth tokens and sessions obtained
from long-lived secrets, renewed before they expire, and each source's credential
expiry noted for Pipelines and `sentitui stats` (`expiry.py`).

- Reddit: `client_id` + `client_secret` (an app's client credentials, or a script
  app with `username` + `password`) -> a bearer token from the token endpoint,
  obtained again REFRESH_MARGIN seconds before `expires_in` runs out.
- Bluesky: `handle` + `app_password` -> `com.atproto.server.createSession`; the
  access JWT is renewed with `refreshSession` (a new session when that fails).

Tokens live in this process only (never in the database, a log or an event); each
goes only to the host it was issued for. Secrets come from ${VARS}.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sentitui.net.http import AuthError, FetchError
from sentitui.processing.redact import register_secret
from sentitui.sources.base import SourceContext
from sentitui.sources.expiry import Expiry, note_expiry, now

REFRESH_MARGIN = 300.0  # seconds before expiry a token is renewed


@dataclass(slots=True)
class Token:
    access: str
    expires_at: float | None = None
    refresh: str | None = None

    def fresh(self) -> bool:
        return self.expires_at is None or self.expires_at - now() > REFRESH_MARGIN


_TOKENS: dict[tuple[str, ...], Token] = {}


async def cached(key: tuple[str, ...], obtain: Callable[[Token | None], Awaitable[Token]]) -> Token:
    """The token under `key`, obtained again (from the old one, if any) when it is
    within REFRESH_MARGIN of expiring."""
    token = _TOKENS.get(key)
    if token is None or not token.fresh():
        token = await obtain(token)
        # Obtained tokens are secrets like the configured ones: redacted wherever they
        # might surface (an error body echoing a header, a log line).
        register_secret(token.access)
        if token.refresh:
            register_secret(token.refresh)
        _TOKENS[key] = token
    return token


def forget(key: tuple[str, ...]) -> None:
    """Drop a token the service refused, so the next request obtains a new one."""
    _TOKENS.pop(key, None)


async def post_for_token(
    ctx: SourceContext,
    url: str,
    *,
    what: str,
    json_body: dict[str, Any] | None = None,
    form: dict[str, str] | None = None,
    basic: tuple[str, str] | None = None,
    bearer: str | None = None,
    timeout: float = 30.0,
) -> dict[str, Any]:
    """POST to a token endpoint; the JSON answer, or AuthError/FetchError whose
    message names the endpoint and the service's error, never a secret."""
    import aiohttp

    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    if basic is not None:
        pair = base64.b64encode(f"{basic[0]}:{basic[1]}".encode()).decode()
        headers["Authorization"] = f"Basic {pair}"
    try:
        async with ctx.http.session.post(
            url,
            json=json_body,
            data=form,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=timeout),
            allow_redirects=False,
        ) as resp:
            text = await resp.text(errors="replace")
            try:
                answer = json.loads(text) if text.strip() else {}
            except ValueError:
                answer = {}
            error = answer.get("error") if isinstance(answer, dict) else None
            if resp.status in (400, 401, 403) or (resp.status < 300 and error):
                detail = error or f"HTTP {resp.status}"
                message = answer.get("message") if isinstance(answer, dict) else None
                raise AuthError(
                    url,
                    f"{what} refused: {detail}" + (f" ({message})" if message else ""),
                    resp.status,
                )
            if resp.status >= 300 or not isinstance(answer, dict):
                raise FetchError(url, f"{what}: HTTP {resp.status}", resp.status)
            return answer
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise FetchError(url, f"{what}: request failed: {type(exc).__name__}") from None


def jwt_expiry(token: str) -> float | None:
    """The `exp` claim of a JWT (not verified: only to know when to renew it)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        exp = claims.get("exp")
        return float(exp) if isinstance(exp, int | float) else None
    except (IndexError, ValueError, AttributeError):
        return None


# ---- Reddit -----------------------------------------------------------------------------

REDDIT_TOKEN_URL = "https://www.reddit.com/api/v1/access_token"


def reddit_key(options: dict[str, Any]) -> tuple[str, ...]:
    return (
        "reddit",
        str(options.get("token_url") or REDDIT_TOKEN_URL),
        str(options.get("client_id")),
        str(options.get("username") or ""),
    )


async def reddit_token(ctx: SourceContext, options: dict[str, Any], where: tuple[str, str]) -> str:
    """A bearer token from the app's client credentials (a script app's password
    grant when `username` is set), renewed before it expires."""

    async def obtain(_: Token | None) -> Token:
        form = {"grant_type": "client_credentials"}
        if options.get("username"):
            form = {
                "grant_type": "password",
                "username": str(options["username"]),
                "password": str(options.get("password") or ""),
            }
        answer = await post_for_token(
            ctx,
            str(options.get("token_url") or REDDIT_TOKEN_URL),
            what="Reddit OAuth token",
            form=form,
            basic=(str(options["client_id"]), str(options["client_secret"])),
        )
        access = answer.get("access_token")
        if not isinstance(access, str) or not access:
            raise AuthError(REDDIT_TOKEN_URL, "Reddit OAuth token: no access_token in the answer")
        expires_in = answer.get("expires_in")
        expires = now() + float(expires_in) if isinstance(expires_in, int | float) else None
        note_expiry(*where, Expiry("OAuth token", expires, renews=True))
        ctx.log("INFO", "Reddit OAuth token obtained")
        return Token(access, expires)

    return (await cached(reddit_key(options), obtain)).access


# ---- Bluesky ----------------------------------------------------------------------------

BLUESKY_AUTH_URL = "https://bsky.social"


def bluesky_key(options: dict[str, Any]) -> tuple[str, ...]:
    return ("bluesky", str(options.get("auth_url") or BLUESKY_AUTH_URL), str(options.get("handle")))


async def bluesky_token(ctx: SourceContext, options: dict[str, Any], where: tuple[str, str]) -> str:
    """An access JWT from `createSession` (handle + app password), renewed with
    `refreshSession` before it expires; a new session when the refresh is refused."""
    base = str(options.get("auth_url") or BLUESKY_AUTH_URL).rstrip("/")

    async def create() -> dict[str, Any]:
        return await post_for_token(
            ctx,
            f"{base}/xrpc/com.atproto.server.createSession",
            what="Bluesky createSession",
            json_body={
                "identifier": str(options["handle"]),
                "password": str(options.get("app_password") or ""),
            },
        )

    async def obtain(old: Token | None) -> Token:
        answer = None
        if old is not None and old.refresh:
            try:
                answer = await post_for_token(
                    ctx,
                    f"{base}/xrpc/com.atproto.server.refreshSession",
                    what="Bluesky refreshSession",
                    bearer=old.refresh,
                )
                ctx.log("INFO", "Bluesky session refreshed")
            except AuthError:
                answer = None  # the refresh token expired too: start a new session
        if answer is None:
            answer = await create()
            ctx.log("INFO", "Bluesky session opened")
        access, refresh = answer.get("accessJwt"), answer.get("refreshJwt")
        if not isinstance(access, str) or not access:
            raise AuthError(base, "Bluesky session: no accessJwt in the answer")
        expires = jwt_expiry(access)
        note_expiry(*where, Expiry("session", expires, renews=True))
        return Token(access, expires, refresh if isinstance(refresh, str) else None)

    return (await cached(bluesky_key(options), obtain)).access
