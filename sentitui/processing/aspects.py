"""Aspect sentiment: how a post feels about each thing the business cares about.

A pipeline lists its aspects with keywords:

    aspects = { scent = ["smell", "fragrance", "scent"], price = ["price", "expensive"] }

`aspect_polarities(text, aspects, score)` splits the text into clauses — sentences,
further cut at "but", "however", "though", "although" and ";" — and gives each
aspect the mean polarity of the clauses that mention one of its keywords. "Love the
scent but the price is a joke" gives scent a positive and price a negative score,
not one mixed number for both. An aspect no clause mentions is left out.

Keywords match case-insensitively on word boundaries, also as `#hashtag` and with
a plural "s"/"es" ("bottle" matches "bottles"); multi-word keywords ("hair feel")
match across any run of spaces or hyphens.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache

__all__ = ["aspect_polarities", "split_clauses"]

_CLAUSE_BREAK = re.compile(
    r"(?<=[.!?])\s+|[\n;]+|\s*(?:,\s*)?\b(?:but|however|though|although)\b\s*", re.I
)


def split_clauses(text: str) -> list[str]:
    """Sentences, cut again at contrast words; empty pieces dropped."""
    return [part.strip() for part in _CLAUSE_BREAK.split(text) if part and part.strip()]


@lru_cache(maxsize=128)
def _pattern(keywords: tuple[str, ...]) -> re.Pattern[str] | None:
    bodies = []
    for keyword in keywords:
        words = keyword.strip().lstrip("#").split()
        if words:
            bodies.append(r"[\s_-]*".join(re.escape(w) for w in words))
    if not bodies:
        return None
    return re.compile(rf"(?<!\w)#?(?:{'|'.join(bodies)})(?:e?s)?(?!\w)", re.I)


def aspect_polarities(
    text: str, aspects: Mapping[str, Sequence[str]], score: Callable[[str], float]
) -> dict[str, float]:
    """{aspect: mean polarity of the clauses that mention it}, in config order."""
    clauses = split_clauses(text)
    found: dict[str, float] = {}
    scored: dict[int, float] = {}
    for name, keywords in aspects.items():
        pattern = _pattern(tuple(keywords))
        if pattern is None:
            continue
        polarities = []
        for index, clause in enumerate(clauses):
            if pattern.search(clause):
                if index not in scored:
                    scored[index] = score(clause)
                polarities.append(scored[index])
        if polarities:
            found[name] = round(sum(polarities) / len(polarities), 4) + 0.0
    return found
