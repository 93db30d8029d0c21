"""The scorers by name: which exist, the languages each reads, and what an optional one
needs installed. Apart from `score.py` so that checking a pipeline's `scorer` loads no
lexicon and no process pool.
"""

from __future__ import annotations

import importlib.util

DEFAULT_SCORER = "sentitui"
SCORERS = ("sentitui", "textblob", "vader", "textblob-fr")
# The languages each scorer's lexicon is written for (ISO 639-1).
SCORER_LANGUAGES: dict[str, frozenset[str]] = {
    "sentitui": frozenset({"en"}),
    "textblob": frozenset({"en"}),
    "vader": frozenset({"en"}),
    "textblob-fr": frozenset({"fr"}),
}
# Optional scorers: the module they need and the extra that installs it.
_EXTRAS = {"vader": ("vaderSentiment", "vader"), "textblob-fr": ("textblob_fr", "fr")}


def scorer_problem(name: str) -> str | None:
    """Why a scorer name cannot be used here, or None when it can."""
    if name not in SCORERS:
        return f"unknown scorer {name!r} (known: {', '.join(SCORERS)})"
    if name in _EXTRAS and importlib.util.find_spec(_EXTRAS[name][0]) is None:
        return (
            f"scorer {name!r} needs the optional extra: pip install 'sentitui[{_EXTRAS[name][1]}]'"
        )
    return None
