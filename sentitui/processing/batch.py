"""Clean -> score -> classify for a batch of mapped records, in one call.

This is the unit of work the engine sends to the scorer's worker processes, so the
CPU-heavy steps (HTML and PII cleaning, scoring, classifying) run on every core and
the event loop only fetches, maps and commits. `process_records` is a plain
top-level function of picklable arguments; the rules travel as one small dataclass.

Each record comes back as a `Post` (scored and classified; `fields` left empty, the
caller still holds them) or a `Rejected` naming the stage that refused it, in input
order, so the caller can commit posts and failures of a page together.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sentitui.models import Post
from sentitui.processing.clean import CleanError, clean_record
from sentitui.processing.insight import insight_for
from sentitui.processing.score import Analysis, analyse_batch

__all__ = ["RecordRules", "Rejected", "process_records", "reject_unscored"]


@dataclass(frozen=True, slots=True)
class RecordRules:
    """What a worker needs from the pipeline and the run to turn records into posts.
    Its threshold/competitor attributes are those `insight_for` reads from a pipeline."""

    pipeline: str
    source: str
    author_secret: bytes
    fetched_at: str
    keep_authors: bool
    redact_pii: bool
    public_handles: tuple[str, ...]
    scorer: str
    aspects: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    positive_threshold: float = 0.05
    negative_threshold: float = -0.05
    competitors: tuple[str, ...] = ()
    competitor_aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    scorer_by_language: Mapping[str, str] = field(default_factory=dict)
    label_from: str = "text"
    run_id: int | None = None


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record that did not become a post: the stage and an error naming what/where."""

    stage: Literal["clean", "score"]
    error: str


def _clean(fields: dict[str, Any], rules: RecordRules) -> Post | Rejected:
    try:
        post = clean_record(
            fields,
            pipeline=rules.pipeline,
            source=rules.source,
            author_secret=rules.author_secret,
            fetched_at=rules.fetched_at,
            keep_authors=rules.keep_authors,
            redact=rules.redact_pii,
            public_handles=rules.public_handles,
        )
    except CleanError as exc:
        record_id = fields.get("id") if isinstance(fields, dict) else None
        where = f"record {record_id!r}: " if record_id not in (None, "") else ""
        return Rejected("clean", f"{where}{exc}")
    except Exception as exc:  # a bug in cleaning must not lose the record
        return Rejected("clean", f"unexpected {type(exc).__name__}: {exc}")
    post.run_id = rules.run_id
    post.fields = {}  # the caller keeps the mapped fields; do not ship them back
    return post


def process_records(batch: list[dict[str, Any]], rules: RecordRules) -> list[Post | Rejected]:
    """Clean, score and classify mapped records; one result per record, in order."""
    results = [_clean(fields, rules) for fields in batch]
    posts = [result for result in results if isinstance(result, Post)]
    if not posts:
        return results
    try:
        analyses: list[Analysis | Rejected] = list(_analyse(posts, rules))
    except Exception:
        # A text the scorer cannot read must not fail the others of its batch: each
        # is scored alone, and only the one that fails again is rejected.
        analyses = [_analyse_alone(post, rules) for post in posts]
    outcomes = iter(analyses)
    done: list[Post | Rejected] = []
    for result in results:
        if isinstance(result, Post):
            analysis = next(outcomes)
            if isinstance(analysis, Rejected):
                done.append(analysis)
                continue
            _fill(result, analysis, rules)
        done.append(result)
    return done


def _analyse(posts: list[Post], rules: RecordRules) -> list[Analysis]:
    return analyse_batch(
        [p.text for p in posts],
        rules.scorer,
        rules.aspects,
        [p.lang for p in posts],
        rules.scorer_by_language,
    )


def _analyse_alone(post: Post, rules: RecordRules) -> Analysis | Rejected:
    try:
        [analysis] = _analyse([post], rules)
    except Exception as exc:
        return Rejected("score", f"scoring failed: {type(exc).__name__}: {exc}")
    return analysis


def _fill(post: Post, analysis: Analysis, rules: RecordRules) -> None:
    """The post's scores, label, language and feedback from its analysis."""
    found = insight_for(post.text, analysis, rules, post.rating)
    post.polarity, post.subjectivity, post.label = (
        found.polarity,
        found.subjectivity,
        found.label,
    )
    post.text_label, post.lang = found.text_label, analysis.lang
    post.feedback, post.competitors, post.aspects = (
        found.feedback,
        found.competitors,
        found.aspects,
    )


def reject_unscored(
    batch: list[dict[str, Any]], rules: RecordRules, error: str
) -> list[Post | Rejected]:
    """When the workers could not run a batch at all: records that clean are score
    failures with `error`, the others keep their own clean error."""
    return [
        Rejected("score", error) if isinstance(result, Post) else result
        for result in (_clean(fields, rules) for fields in batch)
    ]
