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
from typing import (
    TYPE_CHECKING,
    Any,
    ClassVar,
    Literal,
    Protocol,
    Union,
    cast,
    get_args,
    get_origin,
    get_type_hints,
    is_typeddict,
)

if TYPE_CHECKING:
    from sentitui.config import SourceConfig


@dataclass(frozen=True, slots=True)
class Option:
    """One TOML key a source kind accepts; config validates against these.

    `types` names what the value may be at the top (a table, a list). `shape` is the
    whole value's type when it holds more than one level, e.g. `dict[str, str]` for
    `headers`: every item inside is checked too, so a value a run would trip over
    (a table inside `params`, a number in `allowed_domains`) is a config error. A
    `Literal` shape lists the values allowed, a TypedDict the keys of a table.
    `sentitui schema` describes each key from these (config/schema.py).
    """

    types: tuple[type, ...]
    required: bool = False
    default: Any = None
    doc: str = ""
    minimum: float | None = None  # numbers below it are a config error
    maximum: float | None = None  # numbers above it are a config error (a service's page cap)
    shape: Any = None  # e.g. dict[str, str], list[str], str | list[str], Literal["a", "b"]
    unit: str = ""  # what a bound counts, in messages: "must be at least 1 day"


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
    return _one_of([TYPE_NAMES.get(t, t.__name__) for t in types])


def _one_of(names: list[str]) -> str:
    return " or ".join(names) if len(names) < 3 else ", ".join(names[:-1]) + " or " + names[-1]


def is_instance(value: Any, types: tuple[type, ...]) -> bool:
    """isinstance as TOML means it: `true` is never a number, an integer is a float too."""
    if isinstance(value, bool):
        return bool in types
    if float in types and isinstance(value, int):
        return True
    return isinstance(value, types)


def out_of_bounds(option: Option, value: Any) -> str | None:
    """ "must be at least 1, not 0" when a number lies outside the option's bounds."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    low, high = option.minimum, option.maximum
    if (low is None or value >= low) and (high is None or value <= high):
        return None
    bound = (
        f"between {low:g} and {high:g}"
        if low is not None and high is not None
        else f"at least {low:g}"
        if low is not None
        else f"at most {high:g}"
    )
    unit = f" {option.unit}" if option.unit else ""
    return f"must be {bound}{unit}, not {value!r}"


def shape_problems(value: Any, shape: Any, key: str = "") -> list[str]:
    """What is wrong inside `value` for `shape`, each naming the key path
    ("key 'headers.X' must be a string, not int 7"). A shape is built from str, int,
    float, bool, `X | Y`, `list[X]`, `dict[str, X]`, `Literal["a", "b"]` (one of these
    values) and TypedDicts (a table with known keys, `total=False` for optional ones)."""
    options = _alternatives(shape)
    outer = tuple(dict.fromkeys(_outer(o) for o in options))
    if not is_instance(value, outer):
        return [f"key '{key}' must be {type_name(outer)}, not {type(value).__name__} {value!r}"]
    choices = [c for o in options if get_origin(o) is Literal for c in get_args(o)]
    if choices and not any(get_origin(o) is not Literal for o in options):
        if value in choices and not isinstance(value, bool):
            return []
        quoted = _one_of([f'"{c}"' if isinstance(c, str) else repr(c) for c in choices])
        return [f"key '{key}' must be {quoted}, not {value!r}"]
    for option in options:
        origin, args = get_origin(option), get_args(option)
        if origin is list and isinstance(value, list):
            return [
                found
                for index, item in enumerate(value)
                for found in shape_problems(item, args[0], f"{key}[{index}]")
            ]
        if origin is dict and isinstance(value, dict):
            return [
                found
                for name, item in value.items()
                for found in shape_problems(item, args[1], f"{key}.{name}")
            ]
        if is_typeddict(option) and isinstance(value, dict):
            return _table_problems(value, option, key)
    return []


def _table_problems(value: dict[str, Any], table: Any, key: str) -> list[str]:
    """A TypedDict's keys: none unknown, the required ones there, each of its shape."""
    shapes = get_type_hints(table)
    found: list[str] = []
    for name, item in value.items():
        if name not in shapes:
            known = ", ".join(sorted(shapes))
            found.append(f"unknown key '{key}.{name}' (known keys: {known})")
        else:
            found.extend(shape_problems(item, shapes[name], f"{key}.{name}"))
    found.extend(
        f"missing required key '{key}.{name}'"
        for name in shapes
        if name in table.__required_keys__ and name not in value
    )
    return found


def _alternatives(shape: Any) -> tuple[Any, ...]:
    if get_origin(shape) in (Union, pytypes.UnionType):
        return get_args(shape)
    return (shape,)


def _outer(shape: Any) -> type:
    """The TOML type of a value of `shape` at the top: `list[str]` -> list."""
    if is_typeddict(shape):
        return dict
    if get_origin(shape) is Literal:
        return type(get_args(shape)[0])
    return cast(type, get_origin(shape) or shape)


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
