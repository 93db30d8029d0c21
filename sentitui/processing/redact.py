"""Secrets stay out of everything we record or print, and servers cannot drive a terminal.

Two choke points, used by every sink (failed records, runs, events, log handlers, CLI
output):
- `redact(text)` replaces secrets with `***`: every value a pipeline file took from
  the environment (`${VAR}`, registered by the config loader) and the author key;
  the value of any URL query parameter named like a credential (`token`, `key`,
  `secret`, `sig`, `signature`, `password`, `access_token`, `api_key` …); the
  password in `user:password@host`; and what follows `Bearer `.
- `safe_line(text)` is `redact` plus the console's control-character filter
  (`strip_controls`): a reason phrase carrying an OSC title or a clear-screen is
  drawn as plain text.

Paging tokens (`pageToken`, `next_token` …) are not secrets and stay readable, so a
stored URL can still be fetched again; a redacted parameter is restored from the
source's own configuration when it is (see `restore_params`).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from typing import Any, overload
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

from sentitui.processing.clean import strip_controls

REDACTED = "***"
MIN_SECRET = 6  # shorter values are not credentials and would blank out ordinary words

_lock = threading.Lock()
_secrets: tuple[str, ...] = ()  # longest first, with their URL-encoded forms

# Words that make a query parameter a credential, matched against the parts of its
# name ("api_key", "X-Amz-Signature", "accessToken" -> access, token).
_SECRET_WORDS = frozenset(
    {
        "token",
        "key",
        "apikey",
        "secret",
        "sig",
        "signature",
        "password",
        "passwd",
        "pwd",
        "accesstoken",
        "auth",
        "credential",
        "credentials",
    }
)
# Cursors that services name like tokens: not credentials, and needed to fetch again.
_PAGING_TOKENS = frozenset(
    {
        "page_token",
        "pagetoken",
        "next_token",
        "nexttoken",
        "next_page_token",
        "pagination_token",
        "continuation_token",
        "sync_token",
        "cursor_token",
    }
)
_QUERY_PARAM = re.compile(r"(?P<lead>[?&;])(?P<name>[^=&#\s?;\"'<>]+)=(?P<value>[^&#\s;\"'<>]*)")
_USERINFO = re.compile(r"(?P<lead>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/@\s:]*):(?P<pw>[^/@\s]+)@")
_BEARER = re.compile(r"(?P<lead>\b[Bb]earer\s+)[A-Za-z0-9._~+/=-]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def register_secret(value: str) -> None:
    """Remember a value that must never be recorded or printed (as written and as it
    appears URL-encoded inside a request URL)."""
    global _secrets
    if not isinstance(value, str) or len(value) < MIN_SECRET:
        return
    with _lock:
        forms = set(_secrets) | {value, quote(value, safe=""), quote_plus(value)}
        _secrets = tuple(sorted(forms, key=len, reverse=True))


def is_secret_param(name: str) -> bool:
    """True for query parameter names that carry credentials (not for paging tokens)."""
    snake = _CAMEL.sub("_", name).lower().replace("-", "_")
    if snake in _PAGING_TOKENS:
        return False
    parts = set(re.split(r"[^a-z0-9]+", snake))
    return bool(parts & _SECRET_WORDS) or snake.replace("_", "") in _SECRET_WORDS


def _param(match: re.Match[str]) -> str:
    if not match["value"] or not is_secret_param(match["name"]):
        return match.group()
    return f"{match['lead']}{match['name']}={REDACTED}"


@overload
def redact(text: str) -> str: ...
@overload
def redact(text: None) -> None: ...
def redact(text: str | None) -> str | None:
    """`text` with every secret replaced by `***` (see the module docstring)."""
    if not text:
        return text
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    if "=" in text:
        text = _QUERY_PARAM.sub(_param, text)
    if "@" in text:
        text = _USERINFO.sub(rf"\g<lead>:{REDACTED}@", text)
    if "earer" in text:
        text = _BEARER.sub(rf"\g<lead>{REDACTED}", text)
    return text


def redact_data(value: Any) -> Any:
    """`redact` applied to every string inside a JSON-like value (a failed record's
    context, an event's data); keys are kept as they are."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list | tuple):
        return [redact_data(v) for v in value]
    if isinstance(value, dict):
        return {k: redact_data(v) for k, v in value.items()}
    return value


@overload
def redact_exact(text: str) -> str: ...
@overload
def redact_exact(text: None) -> None: ...
def redact_exact(text: str | None) -> str | None:
    """Only the registered secret values: for raw payloads, which must stay as received
    except for a credential a server echoed back."""
    if not text:
        return text
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def safe_line(text: Any) -> str:
    """What may be written to a terminal or a log file: secrets redacted, escape
    sequences and control characters removed (newlines and tabs kept)."""
    return strip_controls(redact("" if text is None else str(text)))


def restore_params(url: str, params: Mapping[str, Any] | None) -> str:
    """A recorded URL made fetchable again: each query parameter that reads `***` gets
    the value the source's configuration gives it. Raises ValueError naming a
    parameter that cannot be restored (the URL would fail with `***` in it)."""
    if REDACTED not in url:
        return url
    parts = urlsplit(url)
    configured = {str(k): v for k, v in (params or {}).items() if v is not None}
    query = []
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if value == REDACTED:
            if name not in configured:
                raise ValueError(
                    f"the recorded URL's parameter {name!r} was redacted and the "
                    f"source's configuration does not give it"
                )
            value = str(configured[name])
        query.append((name, value))
    return urlunsplit(parts._replace(query=urlencode(query)))


class SafeFormatter(logging.Formatter):
    """A log formatter whose every line passes `safe_line` (file and stderr handlers)."""

    def format(self, record: logging.LogRecord) -> str:
        return safe_line(super().format(record))


LOG_FORMAT = "%(asctime)s %(levelname)s %(message)s"
