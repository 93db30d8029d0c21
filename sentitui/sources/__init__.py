"""Source kinds, looked up by the `kind` key of a [[source]] table.

Adding a kind: write one module with a class implementing `base.Source` and list
it in `config.kinds.KINDS` (module path, class name); config validates its TOML
keys from there. Modules load lazily so the CLI stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sentitui.config.kinds import KINDS, kind_class, kinds

if TYPE_CHECKING:
    from sentitui.config import PipelineConfig, SourceConfig
    from sentitui.sources.base import BaseSource, Source

__all__ = ["KINDS", "kinds", "make_source", "source_class"]


def source_class(kind: str) -> type[BaseSource]:
    """The class implementing `kind`; KeyError names the known kinds."""
    return kind_class(kind)


def make_source(config: SourceConfig, pipeline: PipelineConfig) -> Source:
    return source_class(config.kind)(config, pipeline)
