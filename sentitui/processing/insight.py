"""From a worker's `Analysis` to the columns a post stores: label, feedback,
competitors and aspects. Used when posts are loaded (engine/runner.py) and when
stored posts are rescored (`sentitui rescore`), so both follow the same rules.

Two verdicts can stand side by side: the text scorer's (`text_label`, and the
polarity it computed) and the customer's own star rating. `label_from = "rating"`
in a pipeline makes the rating decide the label of a rated post; the text's verdict
is kept in `text_label`, so `stats` can say how often the two agree. A post no
scorer can read is `unscored`: no polarity, no subjectivity, left out of averages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sentitui.models import Label
from sentitui.processing.classify import classify
from sentitui.processing.ratings import rating_label
from sentitui.processing.score import Analysis, label_for

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
    @property
    def label_from(self) -> str: ...


@dataclass(slots=True)
class Insight:
    polarity: float | None
    subjectivity: float | None
    label: Label
    feedback: str
    competitors: list[str] = field(default_factory=list)
    aspects: dict[str, dict[str, Any]] = field(default_factory=dict)
    text_label: Label = "neutral"  # the text scorer's verdict, whatever decided `label`


def insight_for(
    text: str, analysis: Analysis, pipeline: InsightRules, rating: float | None = None
) -> Insight:
    """Label with the pipeline's thresholds (or the rating, with `label_from = "rating"`),
    classify, and label each aspect the same way."""
    positive, negative = pipeline.positive_threshold, pipeline.negative_threshold
    feedback, competitors = classify(
        text, analysis.polarity, list(pipeline.competitors), pipeline.competitor_aliases
    )
    if not analysis.scored:
        label: Label = (
            rating_label(rating)
            if pipeline.label_from == "rating" and rating is not None
            else "unscored"
        )
        return Insight(None, None, label, feedback, competitors, {}, text_label="unscored")
    aspects = {
        name: {"polarity": polarity, "label": label_for(polarity, positive, negative)}
        for name, polarity in analysis.aspects.items()
    }
    text_label = label_for(analysis.polarity, positive, negative)
    use_rating = pipeline.label_from == "rating" and rating is not None
    return Insight(
        analysis.polarity,
        analysis.subjectivity,
        rating_label(rating) if use_rating and rating is not None else text_label,
        feedback,
        competitors,
        aspects,
        text_label=text_label,
    )


def public_handles(pipeline: InsightRules) -> list[str]:
    """Handles that are brands, not people: kept in text when mentions are pseudonymised."""
    handles = list(pipeline.competitors)
    for aliases in pipeline.competitor_aliases.values():
        handles.extend(aliases)
    return handles
