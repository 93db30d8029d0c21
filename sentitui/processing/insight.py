"""From a worker's `Analysis` to the columns a post stores: label, feedback,
competitors and aspects. Used when posts are loaded (engine/runner.py) and when
stored posts are rescored (`sentitui rescore`), so both follow the same rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from sentitui.models import Label
from sentitui.processing.classify import classify
from sentitui.processing.score import Analysis, label_for


class PipelineConfig(Protocol):
    """The settings of a pipeline this module reads (config.PipelineConfig has them;
    processing sits below config, so it names only what it needs)."""

    @property
    def positive_threshold(self) -> float: ...
    @property
    def negative_threshold(self) -> float: ...
    @property
    def competitors(self) -> list[str]: ...
    @property
    def competitor_aliases(self) -> dict[str, list[str]]: ...


__all__ = ["Insight", "insight_for", "public_handles"]


@dataclass(slots=True)
class Insight:
    polarity: float
    subjectivity: float
    label: Label
    feedback: str
    competitors: list[str] = field(default_factory=list)
    aspects: dict[str, dict[str, Any]] = field(default_factory=dict)


def insight_for(text: str, analysis: Analysis, pipeline: PipelineConfig) -> Insight:
    """Label with the pipeline's thresholds, classify, and label each aspect the same way."""
    positive, negative = pipeline.positive_threshold, pipeline.negative_threshold
    feedback, competitors = classify(
        text, analysis.polarity, pipeline.competitors, pipeline.competitor_aliases
    )
    aspects = {
        name: {"polarity": polarity, "label": label_for(polarity, positive, negative)}
        for name, polarity in analysis.aspects.items()
    }
    return Insight(
        analysis.polarity,
        analysis.subjectivity,
        label_for(analysis.polarity, positive, negative),
        feedback,
        competitors,
        aspects,
    )


def public_handles(pipeline: PipelineConfig) -> list[str]:
    """Handles that are brands, not people: kept in text when mentions are pseudonymised."""
    handles = list(pipeline.competitors)
    for aliases in pipeline.competitor_aliases.values():
        handles.extend(aliases)
    return handles
