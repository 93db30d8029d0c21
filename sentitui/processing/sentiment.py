"""The default scorer ("sentitui"): TextBlob's lexicon, read with rules for social text.

TextBlob as shipped averages the polarity of the adjectives it knows. On tweets and
short reviews that misses most of the signal: emoji and emoticons, hashtags
(#fail), stretched words ("sooo goood"), slang ("ugh", "yay"), verbs and nouns of
feeling ("miss", "hurts", "funeral"), inflected forms ("nicest", "amazes"), and it
counts quantity words ("more" +0.5, "own" +0.6) as praise. This scorer keeps
TextBlob's word polarities and subjectivities and reads a text in three steps.

1. Reading (`read`), per token:
   - clean-up: HTML entities decoded, URLs and @mentions dropped, `#CamelCase`
     hashtags split into words, and lower-case ones (`#stillbitter`) too when every
     piece is in TextBlob's spelling word list and one carries an opinion; laughter
     ("hahaha", "lol", "lmao") read as one word; letters repeated 3+ times squeezed
     ("sooo" -> "so", which also marks the word as emphasised);
   - lexicon: TextBlob's entries minus the quantity/position/topic words in
     `NOT_SENTIMENT`, then `GENERAL_WORDS` (feelings, events, verbs, nouns,
     interjections TextBlob lacks) and `EXTRA_WORDS` (social/review words), emoji and
     emoticons (`EMOJI`, `EMOTICONS`); a word not found is looked up by its base form
     ("nicest" -> nice, "hated" -> hate), comparatives only of adjectives;
   - modifiers: boosters ("very", "so", "pretty") multiply the next opinion word by
     1 + `booster`, dampeners ("kinda") by `dampener`; a booster with nothing to
     boost counts as a word of its own if it has a clear polarity ("damn it"); a
     negator ("not", "never", "n't", "without", "no") up to `negation_window` words
     before an opinion word, in the same clause, flips it ("not good" = -good); ALL
     CAPS in mixed-case text and stretched letters add `emphasis`;
   - clauses: words before the last "but"/"however"/"though" weigh `but_before`,
     after it `but_after`; opinion words in a sentence ending in "?" count `question`.
2. Features (`features`): the weighted mean polarity of the opinion words, their
   squashed sum (`s / (1 + |s|)`, so that several opinion words count for more than
   one), the sum of the emoji/emoticons, "!" (at most three) in the direction of the
   mean, and negators that flipped nothing ("Won't go.").
3. Model: a weighted sum of the features (`Model.weights`), labelled by two cut-offs
   (`Model.negative`, `Model.positive`). The weights are a cumulative-logit (ordinal
   logistic) fit and the cut-offs maximise the mean macro-F1 of the two sets, both
   on the tuning part of the real labelled data only, by `scripts/tune_scorer.py
   --fit` (plain Python); README "Insight" lists the held-out figures. The score is
   mapped onto polarity -1..1 so that the cut-offs land on the pipeline's default
   ±0.05: `label_for(polarity)` gives the tuned labels, and a pipeline's own
   `thresholds` still move the cut-offs as with TextBlob. A text with no opinion
   in it scores exactly 0.

Everything is deterministic and cheap (lexicons load once per process); `score_text`
is a plain top-level function, so it pickles for the Scorer's process pool.
Known limits: sarcasm, and negation that reaches further than three words.
"""

from __future__ import annotations

import html
import math
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

__all__ = [
    "FEATURES",
    "MODEL",
    "PARAMS",
    "Model",
    "Params",
    "Reading",
    "features",
    "read",
    "score_text",
]


@dataclass(frozen=True, slots=True)
class Params:
    """How the rules read a text (step 1); chosen on the tuning data by cross-validation."""

    negation: float = 1.0
    booster: float = 0.5
    dampener: float = 0.5
    emphasis: float = 0.2
    but_before: float = 0.5
    but_after: float = 1.0
    question: float = 0.25  # scale of opinion words in a sentence that ends with "?"
    negation_window: int = 3  # words between a negator and the opinion word it flips


PARAMS = Params()

FEATURES = ("mean", "sum", "symbols", "exclamation", "bare_negation")


@dataclass(frozen=True, slots=True)
class Model:
    """Step 3: score = sum(weight * feature); labels by the cut-offs on that score."""

    weights: tuple[float, ...]  # one per name in FEATURES
    negative: float  # score <= negative: "negative"
    positive: float  # score >= positive: "positive"; in between: "neutral"
    spread: float = 2.0  # score units per tanh unit when mapping onto polarity


# Fitted by `scripts/tune_scorer.py --fit` on the tuning split; do not edit by hand.
MODEL = Model(weights=(2.1284, 3.3685, 2.2843, 0.3843, 1.2512), negative=-0.2313, positive=0.9259)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _graded(table: dict[float, str]) -> dict[str, tuple[float, float]]:
    """{polarity: "word word ..."} -> {word: (polarity, subjectivity)}."""
    return {
        word: (polarity, round(min(1.0, 0.3 + abs(polarity)), 2))
        for polarity, words in table.items()
        for word in words.split()
    }


# The word lists are data, shipped with the package in lexicon.toml (what each one is
# for is said there); they load once per process, like TextBlob's own lexicon.
_LISTS: dict[str, Any] = tomllib.loads(
    resources.files("sentitui.processing").joinpath("lexicon.toml").read_text(encoding="utf-8")
)
# Quantity, order, colour and topic words that TextBlob scores but that carry no opinion.
NOT_SENTIMENT = _words(_LISTS["not_sentiment"])
# Social and review words missing from TextBlob's lexicon: (polarity, subjectivity).
EXTRA_WORDS: dict[str, tuple[float, float]] = {
    word: (polarity, subjectivity)
    for word, (polarity, subjectivity) in _LISTS["extra_words"].items()
}
# General opinion words TextBlob's adjective lexicon lacks, or scores far off.
GENERAL_WORDS = _graded({float(p): words for p, words in _LISTS["general_words"].items()})
EMOJI: dict[str, float] = dict(_LISTS["emoji"])
EMOTICONS: dict[str, float] = dict(_LISTS["emoticons"])
BOOSTERS = _words(_LISTS["boosters"])
DAMPENERS = _words(_LISTS["dampeners"])
NEGATORS = _words(_LISTS["negators"])
# Words that do not use up the negation window: "I don't think I will be back".
NEGATION_TRANSPARENT = _words(_LISTS["negation_transparent"])
CONTRASTS = _words(_LISTS["contrasts"])
# "like" is a verb of liking only after these ("I like", "don't like"), not "like rubber".
LIKE_SUBJECTS = _words(_LISTS["like_subjects"])
# Set phrases, rewritten to one pseudo-word before scoring (polarity in EXTRA_WORDS):
# intent to come back is the review's verdict; "won't be back" negates it as usual
# ("going/heading back home" is not a verdict).
_PHRASES = [
    (re.compile(r"\b(?:be|come|coming) back\b|\breturn\b", re.I), " comeback "),
    (re.compile(r"\bto die for\b", re.I), " divine "),
    # Idioms with a negator that are not negative: "beats X, no contest", "not kidding".
    (re.compile(r"\bno (?:contest|doubt|question)\b", re.I), " clearly "),
    (re.compile(r"\b(?:not|no) (?:kidding|joke|lie)\b", re.I), " honestly "),
]

# The lookahead names every first letter, so most words fail at their first character
# instead of entering each case-insensitive alternative (half the cost of this pass).
_LAUGH = re.compile(
    r"\b(?=[ahlr])(?:a?(?:ha|he|hi){2,}h?|(?:lo)+l+|lolz|lulz|lmao+|lmfao+|rofl+|rotfl+)\b",
    re.I,
)
# What every laugh contains, lower-cased ("haha" has "hah"), so most texts skip the
# pass (it cost half of `_prepare`). "İ" and "ı" match "i" under re.I but do not
# lower-case to it ("İ" becomes "i" + U+0307): a text with them always takes it.
_LAUGH_HINTS = (
    "hah",
    "heh",
    "hih",
    "lol",
    "lulz",
    "lma",
    "lmf",
    "rofl",
    "rotf",
    "i\u0307",
    "\u0131",
)
# Inflections whose base form may be in the lexicon: (suffix, endings to put back).
_SUFFIXES = (
    ("iest", ("y",)),
    ("ier", ("y",)),
    ("ily", ("y",)),
    ("ies", ("y",)),
    ("ied", ("y",)),
    ("est", ("", "e")),
    ("er", ("", "e")),
    ("ing", ("", "e")),
    ("ed", ("", "e")),
    ("es", ("", "e")),
    ("s", ("",)),
    ("ly", ("", "le")),
    ("ness", ("",)),
)
_NOT_INFLECTED = _words("number ranker treated treating treats")
_URL = re.compile(r"https?://\S+|www\.\S+", re.I)
_MENTION = re.compile(r"(?<!\w)@[\w.]+(?:@[\w.-]+)?")
_HASHTAG = re.compile(r"#(\w+)")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_STRETCH = re.compile(r"(\w)\1{2,}")
_EMOTICON_RE = "|".join(re.escape(e) for e in sorted(EMOTICONS, key=len, reverse=True))


@lru_cache(maxsize=1024)
def _emoticon_value(token: str) -> float:
    """The value of an emoticon the tokenizer matched. It matches ignoring case the way
    `re` does, which also folds letters `str.lower` leaves alone (":ſ" is ":s", "K" the
    Kelvin sign is "k"), so the token is looked up by the same rule."""
    value = EMOTICONS.get(token.lower())
    if value is None:
        value = next(v for e, v in EMOTICONS.items() if re.fullmatch(re.escape(e), token, re.I))
    return value


_EMOJI_RE = "|".join(re.escape(e) for e in sorted(EMOJI, key=len, reverse=True))


def _first_chars(*groups: Iterable[str]) -> str:
    """The first characters of the given strings, escaped for a character class."""
    return "".join(sorted({re.escape(entry[0]) for group in groups for entry in group}))


_LETTER = "A-Za-z\u0130\u0131\u017f\u212a"
_STOPS = ".,;:?\n"
# One token a match: the groups (emoticon, emoji, word, bang, stop), exactly one
# non-empty. Only the emoticons ignore case: the tokenizer used to be compiled with
# re.I as a whole, which made every character class and literal case-folding work; the
# word class lists the letters re.I let it match (İ ı ſ K, which fold to ASCII). Each
# long alternation is entered only past a lookahead on its possible first characters.
# The whole pattern starts with one lookahead on the first characters of every token:
# `findall` tries it at every position, and at a space, digit or bracket one failed
# class test is cheaper than entering the five groups (each a jump in `re`).
_TOKEN = re.compile(
    rf"(?=(?i:[{_first_chars(EMOTICONS, EMOJI, '!', _STOPS)}{_LETTER}]))"
    rf"(?:((?=(?i:[{_first_chars(EMOTICONS)}]))(?<!\w)(?i:{_EMOTICON_RE})(?!\w))"
    rf"|((?=[{_first_chars(EMOJI)}])(?:{_EMOJI_RE}))"
    rf"|([{_LETTER}]+(?:['’][{_LETTER}]+)*)"
    r"|(!)"
    rf"|([{_STOPS}]+))"
)
_Token = tuple[str, str, str, str, str]  # (emoticon, emoji, word, bang, stop)


@lru_cache(maxsize=1)
def _lexicon() -> dict[str, tuple[float, float]]:
    """TextBlob's word -> (polarity, subjectivity), averaged over parts of speech."""
    from textblob.en import sentiment as textblob_sentiment

    textblob_sentiment("warm up")  # loads en-sentiment.xml on first use
    words = {}
    for word in dict.keys(textblob_sentiment):
        polarity, subjectivity, _ = textblob_sentiment[word][None]
        if word not in NOT_SENTIMENT and polarity != 0:
            words[word] = (float(polarity), float(subjectivity))
    words.update(GENERAL_WORDS)
    words.update(EXTRA_WORDS)
    return words


# A word each phrase pattern needs, so a text without it skips that regex pass.
_PHRASE_HINTS = ("back", "die", "no", "no")


def _prepare(text: str) -> str:
    text = html.unescape(text)
    lower = text.lower()
    if "://" in lower or "www." in lower:
        text = _URL.sub(" ", text)
    if "@" in text:
        text = _MENTION.sub(" ", text)
    if any(hint in lower for hint in _LAUGH_HINTS):
        text = _LAUGH.sub(" haha ", text)
    for (pattern, replacement), hint in zip(_PHRASES, _PHRASE_HINTS, strict=True):
        if hint in lower or (hint == "back" and "return" in lower):
            text = pattern.sub(replacement, text)
    return _HASHTAG.sub(_hashtag_words, text) if "#" in text else text


def _hashtag_words(match: re.Match[str]) -> str:
    """ "#CamelCase" -> "Camel Case"; "#stillbitter" -> "still bitter" when every piece
    is a known word (TextBlob's spelling word list) and one of them carries an opinion."""
    tag = match.group(1)
    if tag != tag.lower() or tag in _lexicon() or len(tag) < 5 or _STRETCH.search(tag):
        return " " + _CAMEL.sub(" ", tag) + " "
    pieces = _segment(tag)
    return " " + " ".join(pieces or [tag]) + " "


def _segment(tag: str) -> list[str] | None:
    vocabulary = _vocabulary()
    lexicon = _lexicon()
    n = len(tag)
    # best[i] = (cost, pieces) for tag[:i]; fewer pieces first, then more common words
    best: list[tuple[float, list[str]] | None] = [None] * (n + 1)
    best[0] = (0.0, [])
    for end in range(1, n + 1):
        for start in range(max(0, end - 20), end):
            piece = tag[start:end]
            before = best[start]
            if before is None or (piece not in vocabulary and piece not in lexicon):
                continue
            if len(piece) == 1 and piece not in ("a", "i"):
                continue
            cost = before[0] + 1.0 - 0.01 * vocabulary.get(piece, 0.0)
            current = best[end]
            if current is None or cost < current[0]:
                best[end] = (cost, before[1] + [piece])
    found = best[n]
    if found is None or not any(piece in lexicon for piece in found[1]):
        return None
    return found[1]


@lru_cache(maxsize=1)
def _vocabulary() -> dict[str, float]:
    """TextBlob's spelling word list: word -> log frequency."""
    from pathlib import Path

    import textblob

    path = Path(textblob.__file__).parent / "en" / "en-spelling.txt"
    words = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith(";"):
            word, _, count = line.partition(" ")
            words[word.lower()] = math.log(1 + float(count))
    return words


@lru_cache(maxsize=65536)
def _word_value(word: str) -> tuple[float, float, bool] | None:
    """(polarity, subjectivity, stretched) for a word in the default lexicon, or None when
    it carries no opinion. Memoised per word: a run meets the same few thousand words
    millions of times, and the inflection rules cost more than a lookup."""
    return _lookup_word(word, _lexicon())


def _lookup_word(
    word: str, lexicon: dict[str, tuple[float, float]]
) -> tuple[float, float, bool] | None:
    lower = word.lower().replace("’", "'")
    stretched = False
    if _STRETCH.search(lower):
        stretched = True
        squeezed = _STRETCH.sub(r"\1\1", lower)
        lower = squeezed if squeezed in lexicon else _STRETCH.sub(r"\1", lower)
    found = lexicon.get(lower) or _inflected(lower, lexicon)
    if found is None:
        return None
    return found[0], found[1], stretched


def _inflected(word: str, lexicon: dict[str, tuple[float, float]]) -> tuple[float, float] | None:
    """The entry of a word's base form: "nicest" -> nice, "amazes" -> amaze, "wins" -> win.

    Comparatives and superlatives only of adjectives; "-s", "-ed", "-ing" only of words
    that are not just adjectives ("goods", "means", "sounds" are other words)."""
    if word in _NOT_INFLECTED:
        return None
    adjectives = _adjectives()
    for suffix, endings in _SUFFIXES:
        stem = word[: -len(suffix)]
        if not word.endswith(suffix) or len(stem) < 3:
            continue
        if suffix == "es" and not stem.endswith(("s", "x", "z", "ch", "sh", "o")):
            continue  # "wines" is not "win" + es; "-s" is tried next
        bases = [stem + ending for ending in endings]
        if stem[-1] == stem[-2] and stem[-1] not in "aeiouls":
            bases.append(stem[:-1])  # "bigger" -> big, "stopped" -> stop
        for base in bases:
            if base in lexicon:
                comparative = suffix in ("er", "est", "ier", "iest")
                if comparative == (base in adjectives) or suffix in ("ly", "ily", "ness"):
                    return lexicon[base]
        return None
    return None


@lru_cache(maxsize=1)
def _adjectives() -> frozenset[str]:
    """TextBlob's entries that are adjectives, and not also another part of speech here."""
    from textblob.en import sentiment as textblob_sentiment

    _lexicon()
    return frozenset(
        word
        for word in dict.keys(textblob_sentiment)
        if "JJ" in textblob_sentiment[word]
        and word not in GENERAL_WORDS
        and word not in EXTRA_WORDS
    )


@lru_cache(maxsize=65536)
def _normal(word: str) -> str:
    return _STRETCH.sub(r"\1", word.lower().replace("’", "'")).replace("'", "")


_NT_STEMS = _words("do does did is was are were could would should has have had ca wo ai need must")
# The negators and every stem + "nt" ("dont", "wouldnt"): one set lookup a word.
_NEGATOR_WORDS = NEGATORS | {stem + "nt" for stem in _NT_STEMS}


# A word's role in `read`, in the order its rules try them (a word in two lists takes
# the first). _PLAIN is an _OTHER word no rule reads: no lexicon value and not "like",
# "likes" or "mean"; most words of a text are, and `read` only moves past them.
_PLAIN, _OTHER, _CONTRAST, _NEGATOR, _BOOSTER, _DAMPENER = range(-1, 5)
_READ_BY_RULE = frozenset({"like", "likes", "mean"})


@lru_cache(maxsize=65536)
def _word_info(word: str) -> tuple[bool, str, int, tuple[float, float, bool] | None]:
    """What `read` asks of a word token, memoised (a run meets the same few thousand
    words again and again): whether it takes up a place in the negation window, its
    normal form, its role, and its lexicon value (`_word_value`)."""
    plain = _normal(word)
    if plain in CONTRASTS:
        role = _CONTRAST
    elif plain in _NEGATOR_WORDS:
        role = _NEGATOR
    elif plain in BOOSTERS:
        role = _BOOSTER
    elif plain in DAMPENERS:
        role = _DAMPENER
    else:
        role = _OTHER
    value = _word_value(word)
    if role == _OTHER and value is None and plain not in _READ_BY_RULE:
        role = _PLAIN
    return word.lower() not in NEGATION_TRANSPARENT, plain, role, value


def _shouting(text: str) -> bool:
    """Whether ALL CAPS words in `text` are emphasis: under 60% of its letters are
    capitals (a text in capitals throughout shouts nothing)."""
    letters = "".join(filter(str.isalpha, text))  # counted in C: this ran per character
    return bool(letters) and sum(map(str.isupper, letters)) < 0.6 * len(letters)


@dataclass(slots=True)
class Reading:
    """What the rules find in one text, before the model weighs it."""

    values: list[tuple[float, float, float, bool]]  # (polarity, subjectivity, weight, symbol)
    bangs: int
    bare_negations: int
    question: bool


def read(text: str, params: Params = PARAMS) -> Reading:
    """The opinion words, emoji and emoticons of a text, with their rule-adjusted values."""
    prepared = _prepare(text)
    shouting: bool | None = None  # worked out at the first ALL CAPS opinion word
    tokens: list[_Token] = _TOKEN.findall(prepared)

    values: list[tuple[float, float, float, bool]] = []
    clause_weight = 1.0
    before_contrast = 0  # values before the last "but"
    modifier = 1.0
    negated_at: int | None = None
    position = 0
    bangs = 0
    previous = ""
    sentence_start = 0  # index in values of the current sentence's first opinion word
    negators = flipped = 0
    negator = ""
    question = False
    for index, (emoticon, emoji, word, bang, stop) in enumerate(tokens):
        if not word:
            if (emoticon or emoji or bang or stop).lower() not in NEGATION_TRANSPARENT:
                position += 1
            if stop:
                if "?" in stop:
                    question = True
                    values[sentence_start:] = [
                        (p * params.question, s, w, e) for p, s, w, e in values[sentence_start:]
                    ]
                if "\n" in stop or "." in stop or "?" in stop:
                    sentence_start = len(values)
                negated_at, modifier, previous = None, 1.0, ""
            elif bang:
                bangs += 1
                sentence_start = len(values)
                negated_at, modifier, previous = None, 1.0, ""
            elif emoticon:
                values.append((_emoticon_value(emoticon), 1.0, clause_weight, True))
            else:
                values.append((EMOJI[emoji], 1.0, clause_weight, True))
            continue
        counts, plain, role, value = _word_info(word)
        if counts:
            position += 1
        if role == _PLAIN:
            previous = plain
            continue
        if role == _CONTRAST:
            before_contrast = len(values)
            clause_weight = params.but_after
            negated_at, modifier = None, 1.0
            continue
        if role == _NEGATOR:
            negated_at = position
            negator = plain
            negators += 1
            previous = plain
            continue
        if role >= _BOOSTER and _modifies(tokens, index):
            modifier = 1 + params.booster if role == _BOOSTER else params.dampener
            previous = plain
            continue
        if plain in ("like", "likes") and previous in LIKE_SUBJECTS:
            value = (0.4, 0.5, False)
        elif plain == "mean" and previous in ("i", "you"):
            value = None  # "I mean", "you mean"
        elif role >= _BOOSTER and value is not None and abs(value[0]) < 0.25:
            value = None  # a booster with nothing to boost counts only if strong ("damn it")
        before, previous = previous, plain
        if value is None:
            continue
        polarity, subjectivity, stretched = value
        polarity *= modifier
        if not stretched and word.isupper() and len(word) > 1 and shouting is None:
            shouting = _shouting(prepared)  # once a text, and only if it has such a word
        if stretched or (shouting and word.isupper() and len(word) > 1):
            polarity *= 1 + params.emphasis
        if negated_at is not None and position - negated_at <= params.negation_window:
            flipped += 1
            if not (negator == "never" and before in ("this", "so", "such")):
                polarity *= -params.negation  # "never felt this soft" is praise, not a flip
        negated_at, modifier = None, 1.0
        values.append((max(-1.0, min(1.0, polarity)), subjectivity, clause_weight, False))

    values[:before_contrast] = [
        (p, s, params.but_before, e) for p, s, _, e in values[:before_contrast]
    ]
    return Reading(values, bangs, max(0, negators - flipped), question)


def _modifies(tokens: list[_Token], index: int) -> bool:
    """Whether the booster/dampener at `index` modifies a word that follows it."""
    for emoticon, emoji, word, _, _ in tokens[index + 1 : index + 3]:
        if not word:
            return bool(emoticon or emoji)
        _, plain, role, value = _word_info(word)
        if role >= _NEGATOR:  # a negator, booster or dampener: look one word further
            continue
        return plain in ("like", "likes") or value is not None
    return False


def features(reading: Reading) -> tuple[float, ...]:
    """The model's inputs (see FEATURES); all 0 for a text with no opinion in it."""
    return _features(reading)[0]


def _features(reading: Reading) -> tuple[tuple[float, ...], float]:
    """`features`, and the sum of the values' weights that `score_text` divides by too
    (each sum is taken once, over a list: a generator per sum cost more than the sums)."""
    values = reading.values
    bare = -float(min(reading.bare_negations, 2))
    if not values:
        return (0.0, 0.0, 0.0, 0.0, bare), 0
    total = sum([w for _, _, w, _ in values])
    weighted = sum([p * w for p, _, w, _ in values])
    mean = weighted / total
    symbols = sum([p for p, _, _, symbol in values if symbol])
    direction = (mean > 0) - (mean < 0)
    return (
        mean,
        weighted / (1 + abs(weighted)),
        symbols,
        float(direction * min(reading.bangs, 3)),
        bare,
    ), total


def score_text(text: str, params: Params = PARAMS, model: Model = MODEL) -> tuple[float, float]:
    """(polarity -1..1, subjectivity 0..1) of one text; see the module docstring."""
    reading = read(text, params)
    found, total = _features(reading)
    score = sum([w * f for w, f in zip(model.weights, found, strict=True)])
    subjectivity = sum([s * w for _, s, w, _ in reading.values]) / total if total else 0.0
    return round(_polarity(score, model), 4) + 0.0, round(min(1.0, subjectivity), 4) + 0.0


def _polarity(score: float, model: Model) -> float:
    """Map a score onto -1..1: the cut-offs onto ±0.05, 0 onto 0, monotone throughout."""
    if score >= model.positive:
        return 0.05 + 0.95 * math.tanh((score - model.positive) / model.spread)
    if score <= model.negative:
        return -0.05 + 0.95 * math.tanh((score - model.negative) / model.spread)
    # In between, stay clear of ±0.05 after rounding to 4 decimals.
    if score >= 0:
        return 0.0499 * score / model.positive
    return 0.0499 * score / -model.negative
