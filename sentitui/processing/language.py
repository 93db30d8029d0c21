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
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

__all__ = [
    "CONFIDENT",
    "MIN_CONFIDENCE",
    "detect_language",
    "language_of",
    "languages_of",
    "primary_subtag",
]

# Normalised probability the guess must reach; measured on short review texts, below
# this the detector is right less than half of the time.
MIN_CONFIDENCE = 0.5
# A guess this sure overrules the language a source states.
CONFIDENT = 0.95
# Fewer letters than this and no language can be told at all.
_MIN_LETTERS = 8
# That many letters ([^\W\d_]) with anything else ([\W\d_]) between: a search stops at
# the 8th letter instead of listing every letter of the text.
_ENOUGH_LETTERS = re.compile(rf"[^\W\d_](?:[\W\d_]*[^\W\d_]){{{_MIN_LETTERS - 1}}}")
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


def _model_bytes(text: str) -> bytes | None:
    """The bytes py3langid reads (all-caps lowered, NFC, UTF-8), or None when the text
    has too few letters to tell any language."""
    # _NOISE is case-sensitive: a text without "http", "#" or "@" has nothing to remove.
    body = _NOISE.sub(" ", text) if "http" in text or "#" in text or "@" in text else text
    if not _ENOUGH_LETTERS.search(body):
        return None
    if body.isupper():
        body = body.lower()
    return unicodedata.normalize("NFC", body).encode("utf8", errors="surrogatepass")


_CHUNK = 256  # texts walked together: bounds the arrays to a few MB


def _guesses(texts: Sequence[str]) -> list[tuple[str, float] | None]:
    """py3langid's `classify` over many texts at once, with the same model and the same
    arithmetic (see `tests/test_languages_ratings.py`). py3langid walks its byte DFA one byte at
    a time in Python and scores each text with a small product of its own, which was
    half of a worker's time a post; here the DFA advances for all texts of a chunk in
    one NumPy step per byte position, and one product scores the chunk."""
    out: list[tuple[str, float] | None] = [None] * len(texts)
    encoded = [(index, _model_bytes(text)) for index, text in enumerate(texts)]
    readable = [(index, data) for index, data in encoded if data is not None]
    readable.sort(key=lambda pair: len(pair[1]), reverse=True)  # longest first: see _walk
    for start in range(0, len(readable), _CHUNK):
        chunk = readable[start : start + _CHUNK]
        for (index, _), guess in zip(chunk, _classify([data for _, data in chunk]), strict=True):
            out[index] = guess
    return out


@lru_cache(maxsize=1)
def _tables() -> tuple[Any, Any, Any, list[tuple[int, int]]]:
    """The model's DFA as NumPy arrays (next state, row offsets, feature of a state) and
    the (first, duplicate) columns of labels it lists twice (srl -> sr)."""
    import numpy as np

    model = _identifier()
    nextmove = np.frombuffer(model.tk_nextmove, dtype=f"u{model.tk_nextmove.itemsize}")
    rowbase = np.frombuffer(model.tk_row, dtype=f"u{model.tk_row.itemsize}").astype(np.int64)
    first: dict[str, int] = {}
    aliases = []
    for column, label in enumerate(model.nb_classes):
        if label in first:
            aliases.append((first[label], column))
        else:
            first[label] = column
    return nextmove, rowbase << 8, np.asarray(model.tk_output, dtype=np.int64), aliases


def _walk(chunk: list[bytes]) -> tuple[Any, Any]:
    """(text row, feature) for every feature the DFA emits, all texts in lockstep.
    Texts come longest first, so the texts still being read are always a prefix. Each
    step only moves the states (bytes and states are position-major, so a step reads
    contiguous memory); the features of every state are looked up once, after the walk."""
    import numpy as np

    nextmove, rowbase, output, _ = _tables()
    lengths = [len(data) for data in chunk]
    longest = lengths[0]
    inside = np.arange(longest)[:, None] < np.asarray(lengths)[None, :]  # [position, row]
    grid = np.zeros((len(chunk), longest), dtype=np.int64)
    grid[inside.T] = np.frombuffer(b"".join(chunk), dtype=np.uint8)
    grid = np.ascontiguousarray(grid.T)
    trail = np.zeros((longest + 1, len(chunk)), dtype=np.int64)  # row 0: the start state
    active = len(chunk)
    for position in range(longest):
        while lengths[active - 1] <= position:
            active -= 1
        trail[position + 1, :active] = nextmove[
            rowbase[trail[position, :active]] + grid[position, :active]
        ]
    found = output[trail[1:]]
    found[~inside] = -1  # past a text's end: no feature
    positions, rows = np.nonzero(found >= 0)
    return rows, found[positions, rows]


# Texts x distinct features of one product: bounds its dense matrix to 16 MB.
_DENSE_CELLS = 1 << 22


def _products(rows: Any, columns: Any, weights: Any, first: int, count: int) -> Any:
    """The feature part of the scores of texts first..first+count-1: their weighted
    feature counts (a dense texts x distinct-features matrix, mostly zeros) times the
    model's rows of those features, in one matrix product. `rows` come sorted."""
    import numpy as np

    distinct, position = np.unique(columns, return_inverse=True)
    if count > 1 and count * distinct.size > _DENSE_CELLS:
        half = count // 2
        cut = int(np.searchsorted(rows, first + half))
        return np.concatenate(
            [
                _products(rows[:cut], columns[:cut], weights[:cut], first, half),
                _products(rows[cut:], columns[cut:], weights[cut:], first + half, count - half),
            ]
        )
    dense = np.zeros((count, distinct.size), dtype=np.float32)
    dense[rows - first, position] = weights
    return dense @ _identifier().nb_ptc[distinct].astype(np.float32)


def _classify(chunk: list[bytes]) -> list[tuple[str, float]]:
    import numpy as np

    model = _identifier()
    scores = np.zeros((len(chunk), len(model.nb_classes)), dtype=np.float32)
    rows, features = _walk(chunk)
    if rows.size:
        width = len(model.tk_output)
        unique, counts = np.unique(rows * width + features, return_counts=True)
        rows, columns = np.divmod(unique, width)
        weights = np.log1p(counts.astype(np.float32))
        scores = _products(rows, columns, weights, 0, len(chunk))
        present = np.bincount(rows, minlength=len(chunk)) > 0
        scores[present] += model.nb_pc
    # softmax at temperature sqrt(bytes), as py3langid normalises; a text without
    # features stays uniform (all zeros), which no threshold accepts
    sizes = np.asarray([max(1, len(data)) for data in chunk], dtype=np.float32)
    scores *= (1.0 / np.sqrt(sizes))[:, None]
    scores = np.exp(scores - scores.max(axis=1, keepdims=True))
    scores /= scores.sum(axis=1, keepdims=True)
    for first, dupe in _tables()[3]:
        scores[:, first] += scores[:, dupe]
        scores[:, dupe] = 0.0
    best = scores.argmax(axis=1)
    # One gather and one tolist for the chunk: indexing a NumPy scalar out per text cost
    # more than the rest of this function. tolist() gives the same floats as float().
    confidence = scores[np.arange(len(chunk)), best].tolist()
    labels = model.nb_classes
    return [
        (str(labels[column]), sure) for column, sure in zip(best.tolist(), confidence, strict=True)
    ]


def _guess(text: str) -> tuple[str, float] | None:
    return _guesses([text])[0]


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of `text`, or None when it is too short or too mixed to tell."""
    guess = _guess(text)
    return guess[0] if guess and guess[1] >= MIN_CONFIDENCE else None


def language_of(text: str, stated: str | None = None) -> str | None:
    """A confident guess, else the language the source stated, else a likely guess."""
    return _decide(_guess(text), stated)


def languages_of(texts: Sequence[str], stated: Sequence[str | None]) -> list[str | None]:
    """`language_of` for many texts, guessed in one batch."""
    return [_decide(guess, said) for guess, said in zip(_guesses(texts), stated, strict=True)]


def _decide(guess: tuple[str, float] | None, stated: str | None) -> str | None:
    if guess and guess[1] >= CONFIDENT:
        return guess[0]
    return primary_subtag(stated) or (guess[0] if guess and guess[1] >= MIN_CONFIDENCE else None)
