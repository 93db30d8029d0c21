"""A customer's star rating as a label, so it can stand beside the text scorer's verdict.

Ratings are stored normalised to 0..1 (processing/clean.py `normalise_rating`): 4 or 5
stars of 5 (and 7/10 up) are praise, 1 or 2 of 5 (and 5/10 down) a complaint, 3 of 5
and 6/10 neither.
"""

from __future__ import annotations

from sentitui.models import Label

__all__ = ["RATING_NEGATIVE", "RATING_POSITIVE", "rating_label"]

RATING_POSITIVE = 0.7
RATING_NEGATIVE = 0.5


def rating_label(rating: float) -> Label:
    """The label a customer's own rating (0..1) gives."""
    if rating >= RATING_POSITIVE:
        return "positive"
    if rating <= RATING_NEGATIVE:
        return "negative"
    return "neutral"
