"""Which language a post is written in, so a scorer never reads a language it cannot.

py3langid (langid.py's model, shipped inside the package: nothing is downloaded) tells
97 languages apart in about 0.03 ms a text. Short posts are often ambiguous ("ok",
"Super Produkt"), so a guess below `MIN_CONFIDENCE` is no answer: the post's language
stays null and it is scored like any other.

Sources state a language too (Mastodon, X and Bluesky send one; a page has its
`lang` attribute), but a stated language is often a default or a template's: a real
Swedish recipe page says `lang="se"` (Northern Sami), a Mastodon account set to English
posts in German. So a confident guess (`CONFIDENT`) wins; otherwise the stated language
is kept (only its primary subtag, "en-GB" -> "en"; "und" counts as not stated), and
without one the guess above `MIN_CONFIDENCE`.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

__all__ = ["CONFIDENT", "MIN_CONFIDENCE", "detect_language", "language_of", "primary_subtag"]

# Normalised probability the guess must reach; measured on short review texts, below
# this the detector is right less than half of the time.
MIN_CONFIDENCE = 0.5
# A guess this sure overrules the language a source states.
CONFIDENT = 0.95
# Fewer letters than this and no language can be told at all.
_MIN_LETTERS = 8
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_NOISE = re.compile(r"(?:https?://\S+|[#@]\w+)", re.UNICODE)
_SUBTAG = re.compile(r"^[a-z]{2}$")


@lru_cache(maxsize=1)
def _identifier() -> Any:
    """The model, decompressed in memory. py3langid's own loader writes it to a
    temporary file first: on a full disk (or a size limit) every post would fail."""
    import io
    import lzma

    import numpy as np
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier
    from py3langid.modelio import _to_array

    with lzma.open(MODEL_DIR / MODEL_FILE) as packed:
        buffer = io.BytesIO(packed.read())
    with np.load(buffer, allow_pickle=False) as data:
        return LanguageIdentifier(
            np.asarray(data["ptc"]),
            np.asarray(data["pc"]),
            data["classes"].tolist(),
            _to_array(data["nextmove"]),
            data["out_feat"].tolist(),
            norm_probs=True,
            tk_row=_to_array(data["nextmove_row"]),
        )


def primary_subtag(lang: str | None) -> str | None:
    """'en-GB' -> 'en'; None for 'und', three-letter codes and anything else unusable."""
    if not lang:
        return None
    head = lang.strip().lower().replace("_", "-").split("-", 1)[0]
    return head if _SUBTAG.match(head) else None


def _guess(text: str) -> tuple[str, float] | None:
    body = _NOISE.sub(" ", text)
    if len(_LETTER.findall(body)) < _MIN_LETTERS:
        return None
    lang, confidence = _identifier().classify(body)
    return str(lang), float(confidence)


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of `text`, or None when it is too short or too mixed to tell."""
    guess = _guess(text)
    return guess[0] if guess and guess[1] >= MIN_CONFIDENCE else None


def language_of(text: str, stated: str | None = None) -> str | None:
    """A confident guess, else the language the source stated, else a likely guess."""
    guess = _guess(text)
    if guess and guess[1] >= CONFIDENT:
        return guess[0]
    return primary_subtag(stated) or (guess[0] if guess and guess[1] >= MIN_CONFIDENCE else None)
