"""From a worker's `Analysis` to the columns a post stores: label, feedback,
competitors and aspects. Used when posts are loaded (engine/runner.py) and when
stored posts are rescored (`sentitui rescore`), so both follow the same rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from sentitui.processing.classify import classify
from sentitui.processing.score import Analysis, label_for

if TYPE_CHECKING:
    from sentitui.config import PipelineConfig

__all__ = ["Insight", "insight_for", "public_handles"]


class InsightRules(Protocol):
    """What `insight_for` reads: a PipelineConfig, or the workers' RecordRules."""

    @property
    def positive_threshold(self) -> float: ...
    @property
    def negative_threshold(self) -> float: ...
    @property
    def competitors(self) -> Sequence[str]: ...
    @property
    def competitor_aliases(self) -> Mapping[str, Sequence[str]]: ...


@dataclass(slots=True)
class Insight:
    polarity: float
    subjectivity: float
    label: str
    feedback: str
    competitors: list[str] = field(default_factory=list)
    aspects: dict[str, dict[str, Any]] = field(default_factory=dict)


def insight_for(text: str, analysis: Analysis, pipeline: InsightRules) -> Insight:
    """Label with the pipeline's thresholds, classify, and label each aspect the same way."""
    positive, negative = pipeline.positive_threshold, pipeline.negative_threshold
    feedback, competitors = classify(
        text, analysis.polarity, list(pipeline.competitors), pipeline.competitor_aliases
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
