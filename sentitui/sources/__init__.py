"""Source kinds, looked up by the `kind` key of a [[source]] table.

Adding a kind: write one module with a class implementing `base.Source` and list
it in `config.kinds.KINDS` (module path, class name); config validates its TOML
keys from there. Modules load lazily so the CLI stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from sentitui.config.kinds import KINDS, kind_class, kinds

if TYPE_CHECKING:
    from sentitui.config import PipelineConfig, SourceConfig
    from sentitui.sources.base import BaseSource, Source

__all__ = ["KINDS", "is_streaming", "kinds", "make_source", "source_class"]

# Presets that stream with `stream = true`: the class that adds `stream()` to the preset.
# (Kinds that always stream, like bluesky_jetstream, are ordinary entries of KINDS.)
_STREAMS: dict[str, tuple[str, str]] = {
    "mastodon": ("sentitui.sources.streams.mastodon", "MastodonStream"),
    "x": ("sentitui.sources.streams.x", "XStream"),
}


def source_class(kind: str) -> type[BaseSource]:
    """The class implementing `kind`; KeyError names the known kinds."""
    return kind_class(kind)


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
