"""Where a source's credentials may go: the origin (scheme, host, port) it was
configured for, plus the hosts its pipeline lists in `allowed_hosts`.

The HTTP client refuses a request, a pagination link or a redirect hop outside the
scope (a `fetch` failure naming the host), so a token or an `X-Api-Key` header is
never sent anywhere else. An entry of `allowed_hosts` is `host`, `host:port` or a
full origin `https://host:port`; a bare host matches https and the scheme of the
configured URL, on that scheme's default port unless a port is given. A redirect
from http to https on the same host (an upgrade) stays in scope.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class Origin:
    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = "" if DEFAULT_PORTS.get(self.scheme) == self.port else f":{self.port}"
        return f"{self.scheme}://{host}{port}"


def origin_of(url: str) -> Origin | None:
    """The origin of an http(s) URL; None for anything else (or a URL with a bad port)."""
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS or not parts.hostname:
            return None
        return Origin(scheme, parts.hostname.lower(), parts.port or DEFAULT_PORTS[scheme])
    except ValueError:
        return None


def host_of(url: str) -> str:
    """The host[:port] of a URL for messages ("the link goes to evil.example:8443")."""
    origin = origin_of(url)
    if origin is None:
        try:
            return urlsplit(url).netloc or url
        except ValueError:
            return url
    return str(origin).split("://", 1)[1]


@dataclass(frozen=True, slots=True)
class CredentialScope:
    origins: frozenset[Origin]
    allowed_hosts: tuple[str, ...] = ()

    @classmethod
    def of(cls, urls: str | Iterable[str], allowed_hosts: Iterable[str] = ()) -> CredentialScope:
        found = [origin_of(u) for u in ([urls] if isinstance(urls, str) else urls)]
        return cls(
            frozenset(o for o in found if o is not None),
            tuple(h.strip().lower() for h in allowed_hosts if isinstance(h, str) and h.strip()),
        )

    def allows(self, url: str) -> bool:
        origin = origin_of(url)
        if origin is None:
            return False
        if origin in self.origins:
            return True
        upgrade = origin.scheme == "https" and origin.port == 443  # http -> https, same host
        if upgrade and any(o.host == origin.host and o.port == 80 for o in self.origins):
            return True
        return any(self._listed(entry, origin) for entry in self.allowed_hosts)

    def _listed(self, entry: str, origin: Origin) -> bool:
        if "://" in entry:
            return origin_of(entry) == origin
        schemes = {"https"} | {o.scheme for o in self.origins}
        listed = origin_of(f"{origin.scheme}://{entry}")
        return listed is not None and origin.scheme in schemes and listed == origin

    def refusal(self, url: str, what: str) -> str:
        """Why `url` is refused, naming its host and how to allow it."""
        host = host_of(url)
        configured = ", ".join(sorted(str(o) for o in self.origins)) or "none"
        return (
            f"refused {what} {host}: the source's credentials are only sent to "
            f'{configured}; add "{host}" to the source\'s allowed_hosts to allow it'
        )
