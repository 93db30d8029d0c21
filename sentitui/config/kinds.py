"""Source kinds as config sees them: where each kind's code lives and what it declares.

Config validates [[source]] tables, but the kinds' code sits above it (sources/).
So the kinds are named here by module path, the way entry points name plugins, and
config asks a kind's class only for what this module's `SourceKind` protocol declares:
its TOML keys (`OPTIONS`) and its extra checks (`check_config`). Adding a kind: one
module under sources/ and one line in `KINDS`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, cast

if TYPE_CHECKING:
    from sentitui.config import SourceConfig


@dataclass(frozen=True, slots=True)
class Option:
    """One TOML key a source kind accepts; config validates against these."""

    types: tuple[type, ...]
    required: bool = False
    default: Any = None
    doc: str = ""
    minimum: float | None = None  # numbers below it are a config error
    maximum: float | None = None  # numbers above it are a config error (a service's page cap)


class SourceKind(Protocol):
    """What config needs from a source kind's class."""

    KIND: ClassVar[str]
    OPTIONS: ClassVar[dict[str, Option]]

    @classmethod
    def check_config(cls, config: SourceConfig) -> list[str]:
        """Problems the key-by-key checks cannot see (bad URLs, missing fields.text)."""
        ...


# kind -> (module, class name). Modules load on first use so the CLI stays fast.
KINDS: dict[str, tuple[str, str]] = {
    "json_api": ("sentitui.sources.json_api", "JsonApiSource"),
    "file": ("sentitui.sources.files", "FileSource"),
    "scrape": ("sentitui.sources.scrape", "ScrapeSource"),
    # Social API presets, one module each (sources/presets/).
    "x": ("sentitui.sources.presets.x", "XSource"),
    "mastodon": ("sentitui.sources.presets.mastodon", "MastodonSource"),
    "reddit": ("sentitui.sources.presets.reddit", "RedditSource"),
    "bluesky": ("sentitui.sources.presets.bluesky", "BlueskySource"),
    "hackernews": ("sentitui.sources.presets.hackernews", "HackerNewsSource"),
    "youtube": ("sentitui.sources.presets.youtube", "YouTubeSource"),
    "instagram": ("sentitui.sources.presets.instagram", "InstagramSource"),
    "facebook": ("sentitui.sources.presets.facebook", "FacebookSource"),
}


def kinds() -> list[str]:
    return sorted(KINDS)


def kind_class(kind: str) -> type[Any]:
    """The class implementing `kind`; KeyError names the known kinds."""
    try:
        module_name, class_name = KINDS[kind]
    except KeyError:
        raise KeyError(f"unknown kind {kind!r} (known kinds: {', '.join(kinds())})") from None
    return cast(type[Any], getattr(importlib.import_module(module_name), class_name))


def source_kind(kind: str) -> type[SourceKind]:
    """`kind_class` seen through what config may use of it."""
    return kind_class(kind)
