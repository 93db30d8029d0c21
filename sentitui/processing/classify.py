"""Feedback classification: what kind of thing a post says about the product.

`classify(text, polarity, competitors)` returns `(feedback, matched_competitors)`.
It is a pure function of its arguments; the regexes are compiled once (per
competitor list, cached). Matching is case-insensitive and on word boundaries;
curly apostrophes count as straight ones. The first rule that applies wins:

0. Competitors. Every configured competitor named in the text — as a word, a
   `#hashtag` or an `@mention`; multi-word names also match with their words run
   together or hyphenated ("Hair Glow", "#HairGlow") — goes into the matched list,
   spelled as in the config, in config order, once each. A competitor configured
   as a table (`{ name = "SilkPro", aliases = ["Silk Pro", "#slkpro"] }`) also
   matches on each alias, the same way. This list is returned whatever the
   feedback turns out to be.
1. comparison — a competitor was matched, or a comparison cue appears:
   "better than", "worse than", "compared to/with", "switched/switching/switch
   from/to", "vs", "versus", "than my old/usual/previous".
2. suggestion — a suggestion cue appears: "wish", "please add/make/bring/consider/
   release/offer/sell/do", "bring back",
   "should", "would be nice", "would be great if", "would love", "if only",
   "needs a(n)", "could you", "hope they". Not counted as cues (they are not
   requests to the maker): "wish I had found/known/tried … (sooner)",
   "you/everyone should try/buy/get/use …", "I should have/should've …", and
   "Should I/we …" at the start or after a wh-word ("How often should I …"): those
   are questions.
3. complaint — an explicit complaint cue appears, whatever the polarity says
   (TextBlob scores "I want a refund, the smell is nice" as positive):
   "broke me out" / "breaking me out" / "broke out", "itchy"/"itchiness",
   "dandruff", "refund", "waste of money/time", "wasted $30"/"waste twenty dollars",
   "returned it"/"returning it",
   "made/makes/left/leaves my hair/scalp (so) greasy/oily/dry/frizzy",
   "never again". A cue does not count when one of "not", "no", "never",
   "without", "zero", "no longer" or a "n't" word comes up to three words before
   it ("no more dandruff", "not a waste of money"), or when "gone", "disappeared",
   "vanished", "cleared", or "anymore" follows within three words ("my dandruff is
   gone"). This rule sits before the question rule on purpose: "Does anyone else
   get dandruff from this?" is a complaint for the business.
4. question — the text ends with "?" (trailing emoji or brackets allowed), or it
   starts with a wh-word (what, why, how, when, where, which, who, whom, whose) or
   with an auxiliary (is, are, am, was, were, do, does, did, can, could, will,
   would, should, shall, may, might, has, have, had) followed by a subject (a
   pronoun, a determiner, "anyone"…, or a capitalised name), and does not end
   with "." or "!". "What a …" is an exclamation, not a question. So "Is AquaSilk
   safe for dyed hair" is a question; "Would recommend" and "Will buy again!" are not.
5. praise if polarity >= 0.05; complaint if polarity <= -0.05.
6. other.

Known limits: sarcasm ("Oh great, my hair feels like straw, just perfect") goes
by TextBlob's polarity and comes out as praise; negation is only as good as
TextBlob's ("not bad at all" is positive, which is right).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache

__all__ = ["FEEDBACK", "classify"]

FEEDBACK = ("praise", "complaint", "suggestion", "comparison", "question", "other")

_I = re.IGNORECASE


def _phrases(*phrases: str) -> str:
    """Alternation of phrases where each space matches any run of whitespace."""
    return "|".join(p.replace(" ", r"\s+") for p in phrases)


# Each cue pattern below enters its alternation past a lookahead on the first letters of
# its phrases (ignoring case as the rest does), so a word fails at its first character
# instead of trying every case-insensitive phrase; the matches are the same.
_COMPARISON = re.compile(
    r"\b(?=[bcstvw])(?:"
    + _phrases(
        "better than",
        "worse than",
        "compared to",
        "compared with",
        r"switch(?:ed|ing)? (?:from|to)",
        "versus",
        "vs",
        r"than my (?:old|usual|previous)",
    )
    + r")\b",
    _I,
)

_SUGGESTION = re.compile(
    r"\b(?=[bchinpsw])(?:"
    + _phrases(
        r"wish(?:ed|es)?",
        r"please (?:add|make|bring|consider|release|offer|sell|do)",
        "bring back",
        "should",
        "would be nice",
        "would be great if",
        "would love",
        "if only",
        r"needs an?",
        "could you",
        "hope they",
    )
    + r")\b",
    _I,
)
# A word every match of a pattern contains (case-folded): a text with none of them
# skips that regex, which costs more with IGNORECASE than the look for the words.
_COMPARISON_WORDS = ("than", "compared", "switch", "versus", "vs")
_SUGGESTION_WORDS = (
    "wish",
    "please",
    "bring",
    "should",
    "would",
    "only",
    "need",
    "could",
    "hope",
)


def _mentions(folded: str, words: Sequence[str]) -> bool:
    return any(word in folded for word in words)


# Phrases that contain a suggestion cue but are not a request to the maker; they are
# blanked out before the suggestion cues are looked for.
# Past the text's start only the first three can match: the lookahead names their letters.
_NOT_SUGGESTION = re.compile(
    r"(?:^|(?=[aeiuwy]))(?:\bwish(?:ed)?\s+(?:that\s+)?i(?:'d|\s+had|\s+would\s+have|\s+could\s+have)?\s+"
    r"(?:found|known|discovered|tried|bought|started|switched|used|seen|heard)\b"
    r"|\b(?:you|u|everyone|everybody|anyone|anybody|y'all)\s+(?:\w+\s+)?should\s+"
    r"(?:try|buy|get|use|grab|check|give|pick|switch)\b"
    r"|\bi\s+(?:really\s+)?should(?:'ve|\s+have)\b"
    r"|^\W*should\s+(?:i|we)\b"
    r"|^\W*(?:how|what|when|where|which|why)\b[^.!?]*?\bshould\s+(?:i|we)\b)",
    _I,
)

_COMPLAINT_CUES = re.compile(
    r"\b(?=[bdilmnrw])(?:"
    + _phrases(
        r"(?:broke|broken|breaking) me out",
        "broke out",
        "itchy",
        "itchiness",
        "dandruff",
        r"refund(?:ed|s)?",
        r"wast(?:e|ed|es|ing) (?:of (?:money|time)|my (?:money|time)|\$?\d+|"
        r"\w+ (?:dollars|bucks|euros|pounds|quid))",
        r"return(?:ed|ing) it",
        r"(?:made|make|makes|making|left|leaves) my (?:hair|scalp) (?:(?:so|really|super|very|all) )?"
        r"(?:greasy|oily|dry|frizzy)",
        "never again",
    )
    + r")\b",
    _I,
)
_NEGATION_BEFORE = re.compile(r"\b(?:not|no|never|without|zero|nor)\b|n't\b", _I)
_RESOLVED_AFTER = re.compile(
    r"^\W*(?:\w+\W+){0,3}?(?:gone|disappeared|vanished|cleared|anymore)\b", _I
)

_WH_START = re.compile(r"^\W*(?:what|why|how|when|where|which|who|whom|whose)\b", _I)
_WHAT_A = re.compile(r"^\W*what\s+an?\b", _I)
_AUX_START = re.compile(
    r"^\W*(?i:is|are|am|was|were|do|does|did|can|could|will|would|should|shall|may|might|has|have|had)"
    r"\s+(?:(?i:i|you|he|she|it|we|they|this|that|these|those|there|anyone|anybody|someone|"
    r"somebody|anything|everyone|the|a|an|my|your|our|their|his|her|its|any|some)\b|[A-Z#@])"
)
_ENDS_QUESTION = re.compile(r"\?[\W_]*$")
_ENDS_STATEMENT = re.compile(r"[.!][\W_]*$")


@lru_cache(maxsize=64)
def _competitor_patterns(
    competitors: tuple[str, ...], aliases: tuple[tuple[str, tuple[str, ...]], ...] = ()
) -> tuple[tuple[str, re.Pattern[str]], ...]:
    """One pattern per competitor: its name or any alias (a leading # or @ optional)."""
    alias_map = dict(aliases)
    patterns: list[tuple[str, re.Pattern[str]]] = []
    seen: set[str] = set()
    for name in competitors:
        canonical = name.strip()
        words = canonical.split()
        key = " ".join(words).casefold()
        if not words or key in seen:
            continue
        seen.add(key)
        bodies = []
        for form in (canonical, *alias_map.get(name, ())):
            form_words = form.strip().lstrip("#@").split()
            if form_words:
                bodies.append(r"[\s_-]*".join(re.escape(word) for word in form_words))
        body = "|".join(bodies)
        patterns.append((canonical, re.compile(rf"(?<!\w)[#@]?(?:{body})(?!\w)", _I)))
    return tuple(patterns)


def _has_complaint_cue(text: str) -> bool:
    for match in _COMPLAINT_CUES.finditer(text):
        before = text[: match.start()].split()[-3:]
        if _NEGATION_BEFORE.search(" ".join(before)):
            continue
        if _RESOLVED_AFTER.search(text[match.end() :]):
            continue
        return True
    return False


def _is_question(text: str) -> bool:
    if _ENDS_QUESTION.search(text):
        return True
    if _ENDS_STATEMENT.search(text):
        return False
    if _WH_START.search(text):
        return not _WHAT_A.search(text)
    return bool(_AUX_START.search(text))


def classify(
    text: str,
    polarity: float,
    competitors: list[str],
    aliases: Mapping[str, Sequence[str]] | None = None,
) -> tuple[str, list[str]]:
    """(feedback, matched competitors) for a cleaned post text; see the module docstring.

    `aliases` maps a competitor's name to other spellings and hashtags ("Silk Pro",
    "#silkpro"); a match on any of them reports the name as configured."""
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    matched: list[str] = []
    if competitors:  # most pipelines name none: no patterns to look up
        frozen = tuple((name, tuple(forms)) for name, forms in (aliases or {}).items())
        matched = [
            name
            for name, pattern in _competitor_patterns(tuple(competitors), frozen)
            if pattern.search(text)
        ]
    folded = text.casefold()
    if matched or (_mentions(folded, _COMPARISON_WORDS) and _COMPARISON.search(text)):
        return "comparison", matched
    if _mentions(folded, _SUGGESTION_WORDS) and _SUGGESTION.search(_NOT_SUGGESTION.sub(" ", text)):
        return "suggestion", matched
    if _has_complaint_cue(text):
        return "complaint", matched
    if _is_question(text):
        return "question", matched
    if polarity >= 0.05:
        return "praise", matched
    if polarity <= -0.05:
        return "complaint", matched
    return "other", matched
