"""Source kinds, looked up by the `kind` key of a [[source]] table.

Adding a kind: write one module with a class implementing `base.Source` and list
it in `_KINDS` (module path, class name). Modules load lazily so the CLI stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sentitui.config import PipelineConfig, SourceConfig
    from sentitui.sources.base import Source

_KINDS: dict[str, tuple[str, str]] = {
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
# Presets that stream with `stream = true`: the class that adds `stream()` to the preset.
_STREAMS: dict[str, tuple[str, str]] = {
    "mastodon": ("sentitui.sources.streams.mastodon", "MastodonStream"),
    "x": ("sentitui.sources.streams.x", "XStream"),
}


def kinds() -> list[str]:
    return sorted(_KINDS)


def source_class(kind: str) -> type:
    try:
        module_name, class_name = _KINDS[kind]
    except KeyError:
        raise KeyError(f"unknown kind {kind!r} (known kinds: {', '.join(kinds())})") from None
    return getattr(importlib.import_module(module_name), class_name)


def is_streaming(config: SourceConfig) -> bool:
    """Whether `run --watch` keeps this source's stream open instead of polling it."""
    return config.kind == "bluesky_jetstream" or (
        config.kind in _STREAMS and bool(config.options.get("stream"))
    )


def make_source(config: SourceConfig, pipeline: PipelineConfig) -> Source:
    if config.kind in _STREAMS and config.options.get("stream"):
        module_name, class_name = _STREAMS[config.kind]
        cls = getattr(importlib.import_module(module_name), class_name)
        return cls(config, pipeline)  # type: ignore[no-any-return]
    return source_class(config.kind)(config, pipeline)
