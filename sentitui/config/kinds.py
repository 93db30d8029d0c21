"""Source kinds as config sees them: where each kind's code lives and what it declares.

Config validates [[source]] tables, but the kinds' code sits above it (sources/).
So the kinds are named here by module path, the way entry points name plugins, and
config asks a kind's class only for what this module's `SourceKind` protocol declares:
its TOML keys (`OPTIONS`) and its extra checks (`check_config`). Adding a kind: one
module under sources/ and one line in `KINDS`.
"""

from __future__ import annotations

import importlib
import types as pytypes
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Union, cast, get_args, get_origin

if TYPE_CHECKING:
    from sentitui.config import SourceConfig


@dataclass(frozen=True, slots=True)
class Option:
    """One TOML key a source kind accepts; config validates against these.

    `types` names what the value may be at the top (a table, a list). `shape` is the
    whole value's type when it holds more than one level, e.g. `dict[str, str]` for
    `headers`: every item inside is checked too, so a value a run would trip over
    (a table inside `params`, a number in `allowed_domains`) is a config error.
    `sentitui schema` describes each key from these (config/schema.py).
    """

    types: tuple[type, ...]
    required: bool = False
    default: Any = None
    doc: str = ""
    minimum: float | None = None  # numbers below it are a config error
    maximum: float | None = None  # numbers above it are a config error (a service's page cap)
    shape: Any = None  # e.g. dict[str, str], list[str], str | list[str]


# `fields` of every kind: post field -> path or selector, plus a `segments` table of them.
FIELDS = dict[str, str | dict[str, str]]

TYPE_NAMES: dict[type, str] = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    list: "a list",
    dict: "a table",
}


def type_name(types: tuple[type, ...]) -> str:
    """(str,) -> "a string"; (str, int, list) -> "a string, an integer or a list"."""
    names = [TYPE_NAMES.get(t, t.__name__) for t in types]
    return " or ".join(names) if len(names) < 3 else ", ".join(names[:-1]) + " or " + names[-1]


def is_instance(value: Any, types: tuple[type, ...]) -> bool:
    """isinstance as TOML means it: `true` is never a number, an integer is a float too."""
    if isinstance(value, bool):
        return bool in types
    if float in types and isinstance(value, int):
        return True
    return isinstance(value, types)


def shape_problems(value: Any, shape: Any, path: str = "") -> list[tuple[str, str]]:
    """(dotted path inside the value, what it must be) for each item that does not fit
    `shape`, a type built from str, int, float, bool, `X | Y`, `list[X]`, `dict[str, X]`."""
    options = _alternatives(shape)
    outer = tuple(get_origin(o) or o for o in options)
    if not is_instance(value, outer):
        return [(path, type_name(tuple(dict.fromkeys(outer))))]
    for option in options:
        origin, args = get_origin(option), get_args(option)
        if origin is list and isinstance(value, list):
            return [
                found
                for index, item in enumerate(value)
                for found in shape_problems(item, args[0], f"{path}[{index}]")
            ]
        if origin is dict and isinstance(value, dict):
            return [
                found
                for key, item in value.items()
                for found in shape_problems(item, args[1], f"{path}.{key}")
            ]
    return []


def _alternatives(shape: Any) -> tuple[Any, ...]:
    if get_origin(shape) in (Union, pytypes.UnionType):
        return get_args(shape)
    return (shape,)


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
    # Push sources (sources/streams/): always streaming.
    "bluesky_jetstream": ("sentitui.sources.streams.jetstream", "JetstreamSource"),
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
