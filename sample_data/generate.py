#!/usr/bin/env python3
"""Regenerate SentiTUI's bundled demo data for the fictional AquaSilk shampoo launch.

Product "AquaSilk" (#aquasilk) by the fictional "Lumen Hair Co.", launched
2026-11-20; competitors "SilkPro" and "HairGlow". Everything here is invented.

Standard library only and fully deterministic (seeded ``random.Random(2026)``):
running it twice writes byte-identical files. It (re)writes

    sample_data/social/posts.jsonl         Mastodon-ish statuses, one JSON object a line
    sample_data/shop/reviews.csv           e-commerce reviews
    sample_data/survey/survey_export.json  survey answers (a JSON array)
    sample_data/expected_counts.json       what the pipeline should make of each file
    sample_data/README.md                  human description, incl. the malformed records

and prints the exact counts (``--json`` prints expected_counts.json instead).

    python sample_data/generate.py [--json]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random

HERE = Path(__file__).resolve().parent
SEED = 2026

PRODUCT = "AquaSilk"
HASHTAG = "aquasilk"
COMPANY = "Lumen Hair Co."
COMPETITORS = ["SilkPro", "HairGlow"]

WINDOW_START = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
WINDOW_END = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)

AGE_GROUPS = ["18-24", "25-34", "35-44", "45-54", "55+"]
AGE_WEIGHTS = [26, 32, 20, 13, 9]
REGIONS = ["US-West", "US-East", "UK", "EU", "LATAM", "APAC"]
REGION_WEIGHTS = [22, 24, 14, 17, 12, 11]
HAIR_TYPES = ["straight", "wavy", "curly", "coily"]
HAIR_WEIGHTS = [32, 30, 24, 14]

N_SOCIAL_LINES = 300
N_REVIEWS = 150
N_SURVEY = 80

# ---------------------------------------------------------------------------------------
# Hand-written base sentences. Lower-case first letter, no final punctuation: the
# composer capitalises and punctuates per post so that the same idea reads differently.
# ---------------------------------------------------------------------------------------

PRAISE = [
    "my hair has never felt this soft",
    "honestly the softest my hair has been in years",
    "three washes in and my ends don't look fried anymore",
    "the shine is unreal, my sister asked if I'd been to the salon",
    "it rinses out so clean without that squeaky stripped feeling",
    "my curls actually clumped today, first time in forever",
    "smells like a spa, not like a candy store",
    "a little goes a long way, I use maybe a coin-sized blob",
    "finally a shampoo that doesn't make my scalp itch",
    "my hairdresser noticed the difference before I said anything",
    "detangling after the shower took half the usual time",
    "no frizz today even with the humidity",
    "the volume lasted until the end of the day, which never happens",
    "my color-treated hair looks brighter, not duller",
    "I was skeptical of the hype but it's genuinely good",
    "the lather is gentle but it still feels like it's actually cleaning",
    "my coily hair feels moisturized instead of straw-like",
    "washed it this morning and I can't stop touching my hair",
    "it made my wavy hair look intentional for once",
    "bought it on launch day and zero regrets",
    "my husband stole it and now we're fighting over the bottle",
    "the scent is subtle and fades after an hour, perfect for me",
    "already on my second bottle, that says everything",
    "my split ends look way less obvious",
    "didn't even need conditioner, which is wild for my hair",
    "it really does feel like silk, the name is not a lie",
    "best thing I've bought this month",
    "my flat-ironed hair stayed smooth for two days",
    "even my dry winter scalp is happy",
    "first shampoo at this price that feels salon-level",
    "love love love this stuff",
    "my kids' tangles are gone, bath time is peaceful again",
    "great after the gym, doesn't dry me out even washing daily",
    "softness & shine from the very first wash",
    "wash & go curls finally work for me",
    "my straight hair has movement now instead of hanging there",
]

COMPLAINT = [
    # scent
    "the scent is way too strong, I could smell it all day",
    "the fragrance gave me a headache by lunch",
    "smells like a perfume counter exploded in my bathroom",
    "my partner says I smell like an air freshener now",
    # itchy scalp
    "my scalp started itching after the second wash",
    "it gave me little red bumps along my hairline",
    "itchy scalp all night, I had to rinse it out again",
    "my sensitive scalp did not like this at all",
    # leaky pump
    "the pump leaked all over my suitcase",
    "the pump stopped working after a week",
    "the bottle arrived with shampoo all over the box, the cap wasn't sealed",
    "the pump spits out a tiny squirt and then just air",
    # price
    "way too expensive for the size of the bottle",
    "$24 for 250ml is a joke",
    "not paying that much for shampoo that runs out in three weeks",
    "the launch price is steep, I'll wait for a sale",
    # greasy roots
    "my roots look greasy by the next morning",
    "it left my fine hair flat and oily",
    "I had to wash twice because my roots felt coated",
    "greasy by 3pm, I'm not kidding",
    # other
    "it barely lathers so I kept using more and more",
    "my hair felt waxy once it dried",
    "did nothing for my frizz, honestly",
    "the bottle is so slippery I dropped it twice in the shower",
    "it stung when it got in my eyes, way worse than other shampoos",
    "delivery took nine days and the box was crushed",
    "my curls went limp and frizzy",
    "overhyped, it's just a regular shampoo in a pretty bottle",
    "it left a white residue on my dark hair",
    "customer service never answered my email about the leak",
    "my ends feel drier than before I started using it",
]

SUGGESTION = [
    "wish it came in a bigger bottle",
    "please add a fragrance-free version",
    "you should sell refills, the plastic adds up",
    "a travel size would be amazing",
    "please make a matching conditioner",
    "would love a version for oily scalps",
    "print the ingredients bigger, I can't read the back of the bottle",
    "give us a pump that locks for travel, please",
    "offer a subscription discount and I'm in",
    "please make the bottle less slippery",
    "sample sachets in stores would help people try it first",
    "a lighter scent option please",
    "bring it to more stores in Europe",
    "I'd buy a 1 liter salon size in a heartbeat",
    "glass or aluminum bottle next time?",
    "put the pH on the label",
    "a shampoo & conditioner bundle would make sense",
]

COMPARISON_POS = [
    "better than SilkPro, and I used SilkPro for five years",
    "switched from HairGlow and not going back",
    "smells nicer than HairGlow, less synthetic",
    "way less greasy than HairGlow on my fine hair",
    "my curls prefer this over SilkPro",
    "tried SilkPro, HairGlow and now this, and this one wins",
    "SilkPro never gave me this kind of softness",
    "beats HairGlow on shine, no contest",
]

COMPARISON_NEG = [
    "HairGlow lathers more though",
    "SilkPro is cheaper and honestly does the same job",
    "not as moisturizing as SilkPro's repair line",
    "HairGlow's bottle is bigger for the same price",
    "going back to SilkPro, this one made me itch",
    "HairGlow never leaked in my bag like this one did",
]

COMPARISON_MIXED = [
    "I'd put it somewhere between SilkPro and HairGlow",
    "beats HairGlow on shine, loses on price",
    "softer than SilkPro but the scent is stronger",
]

QUESTION = [
    "does anyone know if it's safe for color-treated hair?",
    "is it sulfate-free? the site doesn't say clearly",
    "where can I buy it in Canada?",
    "anyone with coily hair tried it yet?",
    "is the scent strong? I'm sensitive to perfumes",
    "can you use it every day or is that too much?",
    "is there a conditioner to go with it?",
    "is it cruelty-free?",
    "how long does one bottle last you?",
    "is it worth it over SilkPro?",
    "has anyone tried it on bleached hair?",
    "why is it sold out everywhere already?",
    "does it work with hard water?",
    "is the pump bottle refillable?",
]

NEUTRAL = [
    "picked up a bottle today, will report back",
    "saw the AquaSilk ads on the subway this morning",
    "first wash tonight, let's see",
    "the launch livestream starts at noon",
    "got a sample in my order",
    "my feed is nothing but AquaSilk today",
    "Lumen Hair Co. is doing a giveaway for the launch",
    "it's the blue bottle, not the white one",
    "bought it for my mom, she'll try it this weekend",
    "it's 250ml, fyi for anyone comparing prices",
    "the store had a whole display for it",
    "ordered online, supposedly arriving Thursday",
    "using it with my usual conditioner for now",
    "trying a different shampoo every week for my blog, this is week 4",
]

# Openers / closers are fragments, not counted as base sentences.
OPENERS = {
    "any": [
        "ok so",
        "update:",
        "honest review:",
        "not sponsored but",
        "PSA:",
        "ngl",
        "day 2 with AquaSilk:",
        "tried the new AquaSilk shampoo.",
        "AquaSilk first impressions:",
        "Aqua Silk thoughts:",
        "launch day haul!",
        "so.",
        "quick one:",
        "about the new Lumen Hair Co. shampoo:",
    ],
    "pos": ["obsessed.", "okay wow.", "hot take: the hype is real.", "I'm a convert."],
    "neg": ["ugh.", "well that was disappointing.", "hmm.", "not impressed."],
}
CLOSERS = {
    "pos": ["10/10", "would recommend", "obsessed", "buying another one", "so happy"],
    "neg": ["so disappointed", "returning it", "never again", "meh", "not worth it"],
    "neu": ["we'll see", "anyone else?", "thoughts?", "more later"],
}
EMOJI = {
    "pos": ["😍", "💧", "✨", "🥰", "🙌", "😍😍", "💧✨"],
    "neg": ["🙄", "😤", "😩", "👎", "🙄🙄"],
    "neu": ["🤔", "💧", "🛁", "👀"],
}
HAIR_TAGS = {
    "curlyhair": ("curly", "coily"),
    "wavyhair": ("wavy",),
    "naturalhair": ("curly", "coily"),
}
EXTRA_TAGS = [
    "haircare",
    "shampoo",
    "curlyhair",
    "wavyhair",
    "naturalhair",
    "launchday",
    "hairtok",
    "LumenHairCo",
    "beauty",
    "selfcare",
]

FOREIGN = [  # (lang, polarity, text)
    ("es", "pos", "¡Me encanta! Mi pelo nunca había estado tan suave"),
    ("es", "neg", "El olor es demasiado fuerte para mí, una pena"),
    ("es", "neu", "¿Alguien sabe si se vende en México?"),
    ("es", "pos", "Mejor que HairGlow, y eso que lo usé durante años"),
    ("fr", "pos", "Mes cheveux n'ont jamais été aussi doux, je suis conquise"),
    ("fr", "neg", "Le parfum est beaucoup trop fort, j'ai eu mal à la tête"),
    ("fr", "neg", "Trop cher pour la taille du flacon"),
    ("fr", "neu", "Quelqu'un l'a testé sur cheveux bouclés ?"),
    ("de", "pos", "Meine Haare fühlen sich so weich an wie nie zuvor"),
    ("de", "neg", "Der Pumpspender ist nach einer Woche kaputtgegangen, schade"),
    ("de", "neu", "Bitte eine parfümfreie Version!"),
    ("de", "pos", "Besser als SilkPro, aber ziemlich teuer"),
]

# Texts a console must show literally (Rich markup, ANSI/OSC escapes). Written with
# escapes so this file itself contains no control characters.
HOSTILE = [
    "[bold red]FAKE ALERT[/] half of these AquaSilk posts are paid, wake up",
    "closing tag test [/foo] lol does this break your dashboard",
    "[$error]x is what my scalp said after AquaSilk",
    "\u001b[2J just cleared your screen, now go buy SilkPro",
    "\u001b]0;pwned\u0007 AquaSilk is fine I guess",
]

# Review- and survey-specific phrasing (counted as base sentences too).
REVIEW_EXTRA = {
    "pos": [
        'The bottle says "salon softness in one wash" and for once that\'s true',
        'My stylist called it "the good stuff", which made my day',
        "Arrived fast, well packaged, no leaks",
        "I've tried everything, and I mean everything, and this is the one",
    ],
    "neg": [
        'It\'s marketed as "lightweight", but my roots disagree',
        "Asked for a refund, still waiting, no reply after 5 days",
        "I wanted to love it, I really did",
        'The "gentle formula" claim is a stretch, my scalp was on fire',
    ],
    "neu": [
        "Bought this after seeing it everywhere on launch day",
        "Update after two weeks of use:",
        "Used it about ten times before writing this",
    ],
}
SURVEY_SHORT = {
    "pos": [
        "Love it",
        "Softer hair, would buy again",
        "Great, no complaints",
        "Very happy with it",
    ],
    "neg": ["Too perfumey", "Not for me", "Too expensive", "Made my scalp itchy"],
    "neu": ["It's okay", "No strong opinion yet", "Fine, nothing special"],
}

TITLES = {
    "pos": [
        "Softest hair ever",
        "Worth the hype",
        "Love it!",
        "My new favorite",
        "Great for curls",
        "Finally!",
        "Salon hair at home",
        "Five stars, no notes",
        "Repurchasing",
        "Better than my old shampoo",
    ],
    "mixed": [
        "Good, but pricey",
        "Nice, but the scent...",
        "Decent",
        "It's fine",
        "Mixed feelings",
        "Almost great",
        "Good formula, bad pump",
    ],
    "neg": [
        "Too much perfume",
        "Itchy scalp",
        "Pump broke",
        "Overpriced",
        "Greasy roots",
        "Not for me",
        "Leaked everywhere",
        "Disappointed",
    ],
}

FIRST_NAMES = [
    "jess",
    "ana",
    "marco",
    "liv",
    "tom",
    "priya",
    "kenji",
    "sofia",
    "dee",
    "mia",
    "carlos",
    "nora",
    "sam",
    "lena",
    "omar",
    "bea",
    "luca",
    "zoe",
    "ravi",
    "ines",
    "kate",
    "jo",
    "yuki",
    "femi",
    "hana",
    "max",
    "elle",
    "theo",
    "rosa",
    "ade",
    "claire",
    "noah",
    "amara",
    "finn",
    "leila",
    "diego",
    "maya",
    "ben",
    "chloe",
    "tara",
]
HANDLE_WORDS = [
    "curls",
    "hair",
    "washday",
    "glow",
    "beauty",
    "suds",
    "shine",
    "frizz",
    "coils",
    "waves",
    "mane",
    "bun",
    "bubbles",
    "locks",
]
LAST_INITIALS = "ABCDEFGHJKLMNOPRSTVW"

HAIR_RULES = [  # sentence mentions the author's own hair -> plausible hair types
    (re.compile(r"\bmy curls\b|wash & go curls"), {"curly", "coily"}),
    (re.compile(r"\bmy coily hair\b"), {"coily"}),
    (re.compile(r"\bmy wavy hair\b"), {"wavy"}),
    (re.compile(r"\bmy fine hair\b|\bmy flat-ironed hair\b"), {"straight", "wavy"}),
    (re.compile(r"\bmy straight hair\b"), {"straight"}),
]

ELONGATE = [
    (re.compile(r"\bso\b"), ["sooo", "soooo", "sooooo"]),
    (re.compile(r"\bsoft\b"), ["sooo soft", "soft soft soft"]),
    (re.compile(r"\blove\b"), ["loooove", "looove"]),
    (re.compile(r"\bgood\b"), ["goood", "sooo good"]),
    (re.compile(r"\bwhy\b"), ["whyyy"]),
    (re.compile(r"\bnever\b"), ["neverrr"]),
]


def base_sentences() -> list[str]:
    pools = [
        PRAISE,
        COMPLAINT,
        SUGGESTION,
        COMPARISON_POS,
        COMPARISON_NEG,
        COMPARISON_MIXED,
        QUESTION,
        NEUTRAL,
        [t for _, _, t in FOREIGN],
        HOSTILE,
    ]
    pools += list(REVIEW_EXTRA.values()) + list(SURVEY_SHORT.values())
    return [s for pool in pools for s in pool]


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------


@dataclass
class Person:
    handle: str
    display: str
    age_group: str
    region: str
    hair_type: str


def fits(sentence: str, hair: str) -> bool:
    return all(hair in allowed for rx, allowed in HAIR_RULES if rx.search(sentence))


def pick(rng: Random, pool: list[str], hair: str | None = None) -> str:
    options = [s for s in pool if hair is None or fits(s, hair)] or pool
    return rng.choice(options)


def sample_time(rng: Random) -> datetime:
    """Spread over the window, about 40% on launch day, then tailing off."""
    day = rng.choices(range(6), weights=[40, 20, 13, 10, 9, 8])[0]
    start = WINDOW_START if day == 0 else datetime(2026, 11, 20 + day, tzinfo=UTC)
    end = min(datetime(2026, 11, 21 + day, tzinfo=UTC), WINDOW_END)
    span = int((end - start).total_seconds())
    # Waking hours are busier: resample once if we land between 01:00 and 07:00 UTC.
    t = start + timedelta(seconds=rng.randrange(span))
    if 1 <= t.hour < 7:
        t = start + timedelta(seconds=rng.randrange(span))
    return t


def iso_z(t: datetime, millis: bool = False) -> str:
    if millis:
        return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def punctuate(rng: Random, s: str, polarity: str) -> str:
    if s[-1] in "?!.:":
        return s
    if polarity == "pos":
        end = rng.choices(["!", ".", "", "!!", "!!!"], weights=[35, 30, 20, 10, 5])[0]
    elif polarity == "neg":
        end = rng.choices([".", "", "...", "!", "!!"], weights=[40, 25, 15, 15, 5])[0]
    else:
        end = rng.choices([".", "", "..."], weights=[55, 35, 10])[0]
    return s + end


def cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def elongate(rng: Random, text: str) -> str:
    candidates = [(rx, reps) for rx, reps in ELONGATE if rx.search(text)]
    if not candidates:
        return text
    rx, reps = rng.choice(candidates)
    return rx.sub(rng.choice(reps), text, count=1)


def html_escape(s: str) -> str:
    """Escape like Mastodon does (apostrophes become &#39;)."""
    return (
        s.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
    )


def tag_html(tag: str) -> str:
    return (
        f'<a href="https://social.example/tags/{tag.lower()}" class="mention hashtag" '
        f'rel="tag">#<span>{tag}</span></a>'
    )


MENTION_HTML = (
    '<span class="h-card"><a href="https://social.example/@lumenhairco" '
    'class="u-url mention">@<span>lumenhairco</span></a></span>'
)


def make_people(rng: Random, n: int, handles: bool) -> list[Person]:
    people: list[Person] = []
    seen: list[str] = []
    while len(people) < n:
        first = rng.choice(FIRST_NAMES)
        style = rng.randrange(6)
        if style == 0:
            handle = f"{first}{rng.randrange(1, 99)}"
        elif style == 1:
            handle = f"{first}_{rng.choice(HANDLE_WORDS)}"
        elif style == 2:
            handle = f"{rng.choice(HANDLE_WORDS)}by{first}"
        elif style == 3:
            handle = f"{first}.{rng.choice(LAST_INITIALS).lower()}"
        elif style == 4:
            handle = f"{first}{rng.choice(LAST_INITIALS).lower()}{rng.randrange(80, 100)}"
        else:
            handle = f"the{first}{rng.choice(HANDLE_WORDS)}"
        if handle in seen:
            continue
        seen.append(handle)
        display = f"{cap(first)} {rng.choice(LAST_INITIALS)}." if not handles else handle
        people.append(
            Person(
                handle=handle,
                display=display,
                age_group=rng.choices(AGE_GROUPS, weights=AGE_WEIGHTS)[0],
                region=rng.choices(REGIONS, weights=REGION_WEIGHTS)[0],
                hair_type=rng.choices(HAIR_TYPES, weights=HAIR_WEIGHTS)[0],
            )
        )
    return people


# ---------------------------------------------------------------------------------------
# social posts
# ---------------------------------------------------------------------------------------

SOCIAL_KINDS = ["praise", "complaint", "suggestion", "comparison", "question", "neutral"]
SOCIAL_WEIGHTS = [34, 27, 10, 13, 9, 7]


def social_sentences(rng: Random, kind: str, hair: str) -> tuple[list[str], str]:
    """1-2 base sentences for one post, and the post's overall polarity."""
    if kind == "praise":
        first, pol = pick(rng, PRAISE, hair), "pos"
        r = rng.random()
        second = (
            pick(rng, PRAISE, hair)
            if r < 0.30
            else pick(rng, SUGGESTION)
            if r < 0.45
            else pick(rng, COMPARISON_POS, hair)
            if r < 0.55
            else "but " + pick(rng, COMPLAINT, hair)
            if r < 0.62
            else None
        )
        if second and second.startswith("but ") and second[4:] in COMPLAINT:
            pol = "neu"  # mixed feelings: keep emoji and closers non-committal
    elif kind == "complaint":
        first, pol = pick(rng, COMPLAINT, hair), "neg"
        r = rng.random()
        second = (
            pick(rng, COMPLAINT, hair)
            if r < 0.25
            else pick(rng, COMPARISON_NEG)
            if r < 0.40
            else pick(rng, SUGGESTION)
            if r < 0.50
            else None
        )
    elif kind == "suggestion":
        pol = "neu"
        first = pick(rng, SUGGESTION)
        if rng.random() < 0.5:
            first, second, pol = pick(rng, PRAISE, hair), "but " + first, "pos"
        else:
            second = None
    elif kind == "comparison":
        r = rng.random()
        pool, pol = (
            (COMPARISON_POS, "pos")
            if r < 0.5
            else (COMPARISON_NEG, "neg")
            if r < 0.8
            else (COMPARISON_MIXED, "neu")
        )
        first = pick(rng, pool, hair)
        second = (
            pick(rng, PRAISE, hair)
            if pol == "pos" and rng.random() < 0.3
            else pick(rng, COMPLAINT, hair)
            if pol == "neg" and rng.random() < 0.3
            else None
        )
    elif kind == "question":
        first, pol = pick(rng, QUESTION), "neu"
        second = None
        if rng.random() < 0.35:
            first, second = pick(rng, NEUTRAL), first
    else:
        first, pol = pick(rng, NEUTRAL), "neu"
        second = pick(rng, QUESTION) if rng.random() < 0.25 else None
    if second == first:
        second = None
    return [s for s in (first, second) if s], pol


def compose_social(rng: Random, person: Person) -> tuple[str, str, str]:
    """Return (content_html, language, plain_text) for one ordinary post."""
    # A few posts in Spanish / French / German from plausible regions.
    if rng.random() < 0.05:
        lang, pol, text = rng.choice(FOREIGN)
        text = punctuate(rng, text, pol)
        if rng.random() < 0.5:
            text += " " + rng.choice(EMOJI[pol])
        return f"<p>{html_escape(text)} {tag_html(HASHTAG)}</p>", lang, text

    kind = rng.choices(SOCIAL_KINDS, weights=SOCIAL_WEIGHTS)[0]
    sentences, pol = social_sentences(rng, kind, person.hair_type)

    style = rng.choices(["normal", "lower", "shout"], weights=[66, 31, 3])[0]
    parts: list[str] = []
    opener = None
    if rng.random() < 0.35:
        opener = rng.choice(OPENERS["any"] + OPENERS.get(pol, []))
    for i, s in enumerate(sentences):
        if s.startswith("but ") and parts and rng.random() < 0.6:
            parts[-1] = parts[-1].rstrip(".!") + ", " + punctuate(rng, s, pol)
            continue
        parts.append(punctuate(rng, s if i == 0 or not s.startswith("but ") else s[4:], pol))
    if rng.random() < 0.3:
        parts.append(punctuate(rng, rng.choice(CLOSERS[pol]), pol))
    if style == "normal":
        parts = [cap(p) for p in parts]
        opener = cap(opener) if opener else None
    elif style == "lower":
        parts = [p.lower() for p in parts]
        opener = opener.lower() if opener else None
    else:  # shouting is for complaints mostly
        parts = [p.upper() if pol == "neg" else cap(p) for p in parts]
    if opener:
        if opener[-1].isalpha() and not parts[0].startswith("I "):
            parts[0] = parts[0][:1].lower() + parts[0][1:]  # "ok so my roots…"
        parts.insert(0, opener)
    if rng.random() < 0.12:
        parts = [elongate(rng, p) for p in parts]
    if rng.random() < 0.45:
        parts[-1] += " " + rng.choice(EMOJI[pol])

    # Join as HTML: mostly one paragraph, sometimes <br> or a second <p>.
    escaped = [html_escape(p) for p in parts]
    sep = rng.choices([" ", "<br>", "<br />", "</p><p>"], weights=[76, 9, 6, 9])[0]
    body = sep.join(escaped) if len(escaped) > 1 else escaped[0]
    extra = [t for t in EXTRA_TAGS if t not in HAIR_TAGS or person.hair_type in HAIR_TAGS[t]]
    tags = [HASHTAG] + rng.sample(extra, k=rng.choices([0, 1, 2], weights=[55, 30, 15])[0])
    tag_str = " ".join(tag_html(t) for t in tags)
    where = rng.random()
    if where < 0.15:  # hashtag first
        html = f"<p>{tag_html(HASHTAG)} {body}</p>"
        if len(tags) > 1:
            html = html[:-4] + " " + " ".join(tag_html(t) for t in tags[1:]) + "</p>"
    elif where < 0.25:  # tags in their own paragraph
        html = f"<p>{body}</p><p>{tag_str}</p>"
    else:
        html = f"<p>{body} {tag_str}</p>"
    if rng.random() < 0.06:
        html = html.replace("<p>", "<p>" + MENTION_HTML + " ", 1)
    if rng.random() < 0.05:  # bridged posts sometimes arrive without the <p> wrapper
        html = html.replace("<p>", "").replace("</p>", " ").strip()
    plain = " ".join(parts)
    return html, "en", plain


def mastodon_id(t: datetime, rng: Random) -> str:
    """Snowflake-style id like Mastodon's: milliseconds << 16 | sequence (increasing)."""
    ms = int(t.timestamp() * 1000) + rng.randrange(1000)
    return str((ms << 16) | rng.randrange(1 << 16))


def build_social(rng: Random) -> tuple[list[str], list[dict], dict]:
    people = make_people(rng, 170, handles=True)
    weights = [rng.choice([1, 1, 1, 2, 2, 4]) for _ in people]
    n_unique = N_SOCIAL_LINES - 1  # plus one duplicated line
    times = sorted(sample_time(rng) for _ in range(n_unique))

    # Hostile texts go at fixed, spread-out positions among the ordinary posts.
    hostile_at = {25: 0, 88: 1, 140: 2, 190: 3, 247: 4}
    # Malformed records (0-based index among the unique records).
    broken_at = {
        36: "bad_json",
        57: "empty_content",
        100: "missing_id",
        149: "bad_date",
        202: "html_only",
    }
    dup_of, dup_after = 119, 259  # line 261 repeats line 120 (1-based, see README)

    records: list[dict] = []
    seen_text: list[str] = []
    last_id = 0
    for i, t in enumerate(times):
        person = rng.choices(people, weights=weights)[0]
        if i in hostile_at:
            text = HOSTILE[hostile_at[i]]
            html, lang, plain = f"<p>{text} {tag_html(HASHTAG)}</p>", "en", text
        else:
            while True:
                html, lang, plain = compose_social(rng, person)
                if plain.lower() not in seen_text:
                    break
            # foreign-language posts come from plausible regions
            if lang in ("fr", "de") and person.region != "EU":
                person = rng.choice([p for p in people if p.region == "EU"])
            elif lang == "es" and person.region not in ("EU", "LATAM"):
                person = rng.choice([p for p in people if p.region == "LATAM"])
        seen_text.append(plain.lower())
        sid = mastodon_id(t, rng)
        while int(sid) <= last_id:
            sid = str(last_id + rng.randrange(1, 50000))
        last_id = int(sid)
        records.append(
            {
                "id": sid,
                "content": html,
                "created_at": iso_z(t.replace(microsecond=rng.randrange(1000) * 1000), millis=True),
                "url": f"https://social.example/@{person.handle}/{sid}",
                "language": lang,
                "account": {
                    "acct": person.handle,
                    "location": person.region,
                    "age_group": person.age_group,
                    "hair_type": person.hair_type,
                },
            }
        )

    lines: list[str] = []
    malformed: list[dict] = []
    for i, rec in enumerate(records):
        problem = broken_at.get(i)
        original_id = rec["id"]
        if problem == "empty_content":
            rec["content"] = ""
        elif problem == "missing_id":
            del rec["id"]
        elif problem == "bad_date":
            rec["created_at"] = "not-a-date"
        elif problem == "html_only":
            rec["content"] = "<p><br /></p><p></p>"
        line = json.dumps(rec, ensure_ascii=False)
        if problem == "bad_json":  # a write cut off mid-line
            line = line[: line.index('"created_at"') + 20]
        lines.append(line)
        if problem:
            malformed.append(
                {
                    "line": len(lines),
                    "id": rec.get("id"),
                    "problem": problem,
                    "url": rec["url"] if problem == "missing_id" else None,
                }
            )
            if problem == "bad_json":
                malformed[-1]["id"] = original_id  # still visible in the truncated text
        if i == dup_after:
            lines.append(lines[dup_of])
            malformed.append(
                {
                    "line": len(lines),
                    "id": records[dup_of]["id"],
                    "problem": "duplicate",
                    "of_line": dup_of + 1,
                }
            )
    hostile = [
        {"line": i + 1 + (1 if i > dup_after else 0), "id": records[i]["id"]}
        for i in sorted(hostile_at)
    ]
    foreign = [
        {"line": i + 1 + (1 if i > dup_after else 0), "id": r.get("id"), "language": r["language"]}
        for i, r in enumerate(records)
        if r["language"] != "en"
    ]
    info = {"malformed": malformed, "hostile": hostile, "foreign": foreign}
    return lines, records, info


# ---------------------------------------------------------------------------------------
# reviews
# ---------------------------------------------------------------------------------------

LENGTHS = ["short", "shoulder-length", "long", "very long", "chin-length"]
TREATMENTS = ["color-treated", "bleached", "untreated", "henna-dyed", "highlighted"]


def review_body(rng: Random, mood: str, person: Person) -> str:
    hair = person.hair_type
    sentences: list[str] = []
    if rng.random() < 0.25:
        sentences.append(pick(rng, REVIEW_EXTRA["neu"]))
    if rng.random() < 0.3:
        sentences.append(
            f"For context, my hair is {hair}, {rng.choice(LENGTHS)} and {rng.choice(TREATMENTS)}"
        )
    if mood == "pos":
        sentences += [pick(rng, PRAISE, hair) for _ in range(rng.choice([1, 1, 2, 2, 3]))]
        r = rng.random()
        if r < 0.25:
            sentences.append(pick(rng, COMPARISON_POS, hair))
        elif r < 0.45:
            sentences.append(pick(rng, REVIEW_EXTRA["pos"]))
        if rng.random() < 0.3:
            sentences.append("Only wish: " + pick(rng, SUGGESTION))
    elif mood == "neg":
        sentences += [pick(rng, COMPLAINT, hair) for _ in range(rng.choice([1, 2, 2, 3]))]
        r = rng.random()
        if r < 0.3:
            sentences.append(pick(rng, COMPARISON_NEG))
        elif r < 0.5:
            sentences.append(pick(rng, REVIEW_EXTRA["neg"]))
        if rng.random() < 0.2:
            sentences.append(pick(rng, SUGGESTION))
    else:
        sentences.append(pick(rng, PRAISE, hair))
        sentences.append("But " + pick(rng, COMPLAINT, hair))
        if rng.random() < 0.4:
            sentences.append(pick(rng, COMPARISON_MIXED + SUGGESTION, hair))
    # de-duplicate while keeping order
    unique: list[str] = []
    for s in sentences:
        if s not in unique:
            unique.append(s)
    out = []
    for n, s in enumerate(unique):
        if s.startswith("For context"):
            s += "."
        s = cap(punctuate(rng, s, mood if mood != "mixed" else "neu"))
        if s[-1].isalnum() and n < len(unique) - 1:
            s += "."  # reviewers run sentences together less than posters do
        out.append(s)
    if rng.random() < 0.08:
        out = [elongate(rng, o) for o in out]
    sep = rng.choices([" ", "\n", "\n\n"], weights=[78, 10, 12])[0]
    body = sep.join(out)
    if sep == " ":  # "Update after two weeks of use:" starts its own line
        body = body.replace(": ", ":\n", 1) if out[0].endswith(":") else body
    return body


def build_reviews(rng: Random) -> tuple[list[list[str]], dict]:
    people = make_people(rng, 140, handles=False)
    times = sorted(sample_time(rng) for _ in range(N_REVIEWS))
    header = [
        "review_id",
        "author",
        "rating",
        "title",
        "body",
        "date",
        "age_range",
        "region",
        "hair_type",
        "verified",
    ]
    rows: list[list[str]] = [header]
    bad_rating_at, empty_body_at, hostile_at = 61, 117, 33
    malformed: list[dict] = []
    seen: list[str] = []
    for i, t in enumerate(times):
        person = rng.choice(people)
        mood = rng.choices(["pos", "mixed", "neg"], weights=[50, 20, 30])[0]
        if mood == "pos":
            rating = rng.choices([5, 4], weights=[62, 38])[0]
        elif mood == "neg":
            rating = rng.choices([1, 2], weights=[55, 45])[0]
        else:
            rating = rng.choices([3, 4, 2], weights=[60, 20, 20])[0]
        title = rng.choice(TITLES[mood])
        while True:
            body = review_body(rng, mood, person)
            if body not in seen:
                break
        seen.append(body)
        if i == hostile_at:
            body = "[$error]x [bold]five stars[/bold] " + body
        rid = f"R{10001 + i}"
        rating_s = str(rating)
        if i == bad_rating_at:
            rating_s = "five-ish"
            title = "So good"
            body = (
                "Honestly somewhere between 4 and 5 stars. My hair has never felt this "
                "soft, but it's a small bottle for the price."
            )
            malformed.append({"review_id": rid, "problem": "bad_rating"})
        if i == empty_body_at:
            body = ""
            malformed.append({"review_id": rid, "problem": "empty_body"})
        rows.append(
            [
                rid,
                person.display if rng.random() > 0.06 else "Anonymous",
                rating_s,
                title,
                body,
                iso_z(t),
                person.age_group,
                person.region,
                person.hair_type,
                "true" if rng.random() < 0.82 else "false",
            ]
        )
    return rows, {"malformed": malformed, "hostile_review_id": f"R{10001 + hostile_at}"}


def render_csv(rows: list[list[str]]) -> tuple[str, list[int]]:
    """CSV text and the physical line on which each row (header included) starts."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    starts: list[int] = []
    line = 1
    for row in rows:
        starts.append(line)
        before = buf.tell()
        writer.writerow(row)
        line += buf.getvalue()[before:].count("\n")
    return buf.getvalue(), starts


# ---------------------------------------------------------------------------------------
# survey
# ---------------------------------------------------------------------------------------


def survey_answer(rng: Random, person: Person) -> str:
    mood = rng.choices(["pos", "neg", "neu"], weights=[45, 33, 22])[0]
    r = rng.random()
    if r < 0.25:
        parts = [rng.choice(SURVEY_SHORT[mood])]
    elif mood == "pos":
        parts = [pick(rng, PRAISE, person.hair_type)]
        if rng.random() < 0.35:
            parts.append(pick(rng, SUGGESTION + COMPARISON_POS, person.hair_type))
    elif mood == "neg":
        parts = [pick(rng, COMPLAINT, person.hair_type)]
        if rng.random() < 0.35:
            parts.append(pick(rng, SUGGESTION + COMPARISON_NEG, person.hair_type))
    else:
        parts = [pick(rng, COMPARISON_MIXED + NEUTRAL + QUESTION)]
        if rng.random() < 0.4:
            parts.append(pick(rng, SURVEY_SHORT["neu"]))
    return " ".join(cap(p if p[-1] in "?!." else p + ".") for p in parts)


def build_survey(rng: Random) -> tuple[list[dict], dict]:
    people = make_people(rng, N_SURVEY, handles=False)
    times = sorted(sample_time(rng) for _ in range(N_SURVEY))
    millis_id, no_answer_id, hostile_id = 47, 63, 22
    out: list[dict] = []
    seen: list[str] = []
    for i, t in enumerate(times):
        rid = i + 1
        person = people[i]
        while True:
            answer = survey_answer(rng, person)
            if answer not in seen:
                break
        seen.append(answer)
        if rid == hostile_id:
            answer = "[/foo] " + answer
        rec: dict = {"response_id": rid, "submitted": int(t.timestamp())}
        if rid == millis_id:
            rec["submitted"] = int(t.timestamp()) * 1000 + rng.randrange(1000)
        if rid != no_answer_id:
            rec["answer"] = answer
        rec["respondent"] = {
            "age": person.age_group,
            "region": person.region,
            "hair_type": person.hair_type,
        }
        out.append(rec)
    return out, {"millis_id": millis_id, "no_answer_id": no_answer_id, "hostile_id": hostile_id}


# ---------------------------------------------------------------------------------------
# README and expectations
# ---------------------------------------------------------------------------------------

EXPECTED_OUTCOME = {
    "bad_json": ("parse", "line is not valid JSON (truncated mid-write)"),
    "empty_content": ("clean", "`content` is an empty string: no text"),
    "missing_id": ("clean", "no `id` field: a post needs an external id"),
    "bad_date": ("clean", '`created_at` is "not-a-date": unparseable time'),
    "html_only": (
        "clean",
        "`content` is only HTML tags (`<p><br /></p><p></p>`): empty after stripping HTML",
    ),
    "bad_rating": ("clean", '`rating` is "five-ish": not a number'),
    "empty_body": ("clean", "`body` is empty (the title alone is not the text)"),
    "no_answer": ("clean", "no `answer` key: no text"),
}


def build_expected(
    social: dict, reviews: dict, survey: dict, csv_starts: list[int], review_rows: list[list[str]]
) -> dict:
    rows_by_id = {row[0]: (n, csv_starts[n]) for n, row in enumerate(review_rows) if n}
    malformed = []
    for m in social["malformed"]:
        entry = {
            "file": "social/posts.jsonl",
            "line": m["line"],
            "id": m["id"],
            "problem": m["problem"],
        }
        if m.get("url"):
            entry["url"] = m["url"]
        if m["problem"] == "duplicate":
            entry.update(
                expected="duplicate",
                of_line=m["of_line"],
                why=f"exact copy of line {m['of_line']} (same id)",
            )
        else:
            stage, why = EXPECTED_OUTCOME[m["problem"]]
            entry.update(expected=f"failed:{stage}", why=why)
        malformed.append(entry)
    for m in reviews["malformed"]:
        n, line = rows_by_id[m["review_id"]]
        stage, why = EXPECTED_OUTCOME[m["problem"]]
        malformed.append(
            {
                "file": "shop/reviews.csv",
                "row": n,
                "line": line,
                "id": m["review_id"],
                "problem": m["problem"],
                "expected": f"failed:{stage}",
                "why": why,
            }
        )
    stage, why = EXPECTED_OUTCOME["no_answer"]
    malformed.append(
        {
            "file": "survey/survey_export.json",
            "index": survey["no_answer_id"] - 1,
            "id": survey["no_answer_id"],
            "problem": "no_answer",
            "expected": f"failed:{stage}",
            "why": why,
        }
    )

    def tally(file: str, raw: int) -> dict:
        mine = [m for m in malformed if m["file"] == file]
        failed = {"parse": 0, "clean": 0}
        for m in mine:
            if m["expected"].startswith("failed:"):
                failed[m["expected"].split(":")[1]] += 1
        dups = sum(m["expected"] == "duplicate" for m in mine)
        return {
            "file": file,
            "raw_records": raw,
            "posts": raw - dups - sum(failed.values()),
            "duplicates": dups,
            "failed": failed,
            "failed_total": sum(failed.values()),
        }

    files = {
        "social": tally("social/posts.jsonl", N_SOCIAL_LINES),
        "reviews": tally("shop/reviews.csv", N_REVIEWS),
        "survey": tally("survey/survey_export.json", N_SURVEY),
    }
    total = {
        "raw_records": sum(f["raw_records"] for f in files.values()),
        "posts": sum(f["posts"] for f in files.values()),
        "duplicates": sum(f["duplicates"] for f in files.values()),
        "failed": {s: sum(f["failed"][s] for f in files.values()) for s in ("parse", "clean")},
    }
    total["failed_total"] = sum(total["failed"].values())
    return {
        "seed": SEED,
        "files": files,
        "total": total,
        "malformed": malformed,
        "must_load": {
            "social_hostile": social["hostile"],
            "social_foreign": social["foreign"],
            "review_hostile_id": reviews["hostile_review_id"],
            "survey_epoch_millis_id": survey["millis_id"],
            "survey_hostile_id": survey["hostile_id"],
        },
    }


def render_readme(exp: dict, n_base: int) -> str:
    f, t = exp["files"], exp["total"]
    ml = exp["must_load"]
    lines = [
        "# sample_data — AquaSilk launch demo data",
        "",
        "Invented data for SentiTUI's offline demo (`pipelines/demo.toml`) and tests: what",
        'people say about **AquaSilk** (`#aquasilk`), a shampoo by the fictional "Lumen Hair',
        'Co.", launched 2026-11-20. Competitors: **SilkPro** and **HairGlow**. All people,',
        "handles and URLs (`social.example`) are made up.",
        "",
        "**Generated — do not edit by hand.** `python sample_data/generate.py` (stdlib only,",
        "seeded `random.Random(2026)`, byte-identical on every run) rewrites the data files,",
        "`expected_counts.json` and this README, and prints the counts; `--json` prints",
        "`expected_counts.json`. Texts are composed from "
        f"{n_base} hand-written base sentences (praise,",
        "complaints, suggestions, competitor comparisons, questions, chatter) plus openers,",
        "closers, emoji, hashtags, elongated words and casing variations.",
        "",
        "Every record carries three demographic segments: `age_group` (18-24, 25-34, 35-44,",
        "45-54, 55+), `region` (US-West, US-East, UK, EU, LATAM, APAC) and `hair_type`",
        "(straight, wavy, curly, coily). Times fall between 2026-11-20T08:00Z and",
        "2026-11-25T20:00Z, about 40% of them on launch day.",
        "",
        "## Files",
        "",
        f"### `social/posts.jsonl` — {f['social']['raw_records']} lines",
        "",
        "Mastodon-ish statuses from the `#aquasilk` hashtag timeline, one JSON object per",
        "line, in increasing id order (snowflake-style numeric strings):",
        "",
        "```json",
        '{"id": "…", "content": "<p>html…</p>", "created_at": "2026-11-20T09:14:03.120Z",',
        ' "url": "https://social.example/@handle/ID", "language": "en",',
        ' "account": {"acct": "handle", "location": "EU", "age_group": "25-34",',
        '             "hair_type": "wavy"}}',
        "```",
        "",
        "`content` is HTML as Mastodon sends it: `<p>`, `<br>`/`<br />`, hashtag and mention",
        "links, `&amp;`, `&#39;`, `&quot;`. Some posts are all lower-case, a few shout, some",
        'stretch words ("sooo soft"), many carry emoji (😍 🙄 💧 …).',
        f"{len(ml['social_foreign'])} posts are not in English (`language` es/fr/de): lines "
        + ", ".join(str(x["line"]) for x in ml["social_foreign"])
        + ".",
        "",
        f"### `shop/reviews.csv` — {f['reviews']['raw_records']} data rows (plus header)",
        "",
        "Columns `review_id,author,rating,title,body,date,age_range,region,hair_type,verified`.",
        "`rating` 1-5 follows the body's sentiment (praise 4-5, mixed 2-4, complaints 1-2);",
        "`date` is ISO 8601 UTC (`2026-11-21T14:03:00Z`); `verified` is `true`/`false`.",
        'Bodies use standard CSV quoting: commas, doubled `"` quotes and embedded newlines',
        "(some bodies span several physical lines, so *row* numbers and *line* numbers",
        "differ; both are given below). The pipeline maps `body` to the post text; `title`",
        "is a separate column. The segment column is `age_range` (mapped to `age_group`).",
        "",
        f"### `survey/survey_export.json` — {f['survey']['raw_records']} answers",
        "",
        "A top-level JSON array:",
        "",
        "```json",
        '{"response_id": 1, "submitted": 1795162000, "answer": "…",',
        ' "respondent": {"age": "25-34", "region": "UK", "hair_type": "curly"}}',
        "```",
        "",
        "`response_id` is an integer, `submitted` is epoch **seconds** (UTC).",
        "",
        "### `expected_counts.json`",
        "",
        "The table below as JSON, plus every malformed record, for tests to assert on.",
        "",
        "## Deliberately malformed records",
        "",
        "Each must end as exactly one failed record (with its raw payload) or one counted",
        "duplicate — never silently dropped.",
        "",
        "| file | where | id | problem | expected |",
        "|---|---|---|---|---|",
    ]
    for m in exp["malformed"]:
        where = (
            f"line {m['line']}"
            if "row" not in m and "index" not in m
            else f"row {m['row']} (line {m['line']})"
            if "row" in m
            else f"array index {m['index']}"
        )
        outcome = (
            "counted duplicate"
            if m["expected"] == "duplicate"
            else f"failed record, stage `{m['expected'].split(':')[1]}`"
        )
        ident = f"`{m['id']}`" if m["id"] is not None else f"none (url `{m['url']}`)"
        lines.append(f"| `{m['file']}` | {where} | {ident} | {m['why']} | {outcome} |")
    lines += [
        "",
        "Line numbers are 1-based physical lines; CSV rows count data rows from 1 (header",
        "excluded). The truncated JSON line still shows its id in the raw text, but the",
        "record cannot be parsed, so it fails at `parse`.",
        "",
        "## Odd but valid: these must load as posts",
        "",
        "- Hostile texts the console must show literally, never interpret "
        "(social post ids and lines):",
    ]
    hostile_desc = [
        "Rich markup `[bold red]FAKE ALERT[/]`",
        "stray closing tag `[/foo]`",
        "`[$error]x` (variable-style markup)",
        "ANSI clear-screen `\\u001b[2J`",
        "OSC window title `\\u001b]0;pwned\\u0007`",
    ]
    for h, desc in zip(ml["social_hostile"], hostile_desc, strict=True):
        lines.append(f"  - line {h['line']}, id `{h['id']}`: {desc}")
    lines += [
        f"- Review `{ml['review_hostile_id']}` starts with `[$error]x [bold]five stars[/bold]`;"
        f" survey answer {ml['survey_hostile_id']} starts with `[/foo]`.",
        f"- Survey response {ml['survey_epoch_millis_id']} has `submitted` in epoch "
        "**milliseconds**. It is",
        "  not broken data: the cleaner should recognise the magnitude (> 10^11) and load it",
        "  with its real date in November 2026, not some date in the year 58,000.",
        "- Non-English social posts (es/fr/de) load with their `language`; English-only",
        "  scorers may rate them neutral.",
        "- HTML entities (`&amp;`, `&#39;`) are decoded and tags stripped by the cleaner.",
        "",
        "## Expected counts (one run over an empty database)",
        "",
        "| file | raw records | posts | duplicates | failed: parse | failed: clean |",
        "|---|---|---|---|---|---|",
    ]
    for key in ("social", "reviews", "survey"):
        x = f[key]
        lines.append(
            f"| `{x['file']}` | {x['raw_records']} | {x['posts']} | {x['duplicates']}"
            f" | {x['failed']['parse']} | {x['failed']['clean']} |"
        )
    lines.append(
        f"| **total** | {t['raw_records']} | {t['posts']} | {t['duplicates']} | "
        f"{t['failed']['parse']} | {t['failed']['clean']} |"
    )
    lines += [
        "",
        "`posts + duplicates + failed = raw records` for every file.",
        "",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print expected counts as JSON")
    parser.add_argument("--out", type=Path, default=HERE, help="output directory")
    args = parser.parse_args()

    bases = base_sentences()
    assert len(bases) == len(set(bases)), "duplicate base sentence"
    assert len(bases) >= 120, len(bases)

    rng = Random(SEED)
    social_lines, _, social_info = build_social(rng)
    review_rows, review_info = build_reviews(rng)
    survey, survey_info = build_survey(rng)
    csv_text, csv_starts = render_csv(review_rows)
    expected = build_expected(social_info, review_info, survey_info, csv_starts, review_rows)

    out: Path = args.out
    for sub in ("social", "shop", "survey"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    (out / "social" / "posts.jsonl").write_text("\n".join(social_lines) + "\n", encoding="utf-8")
    (out / "shop" / "reviews.csv").write_text(csv_text, encoding="utf-8", newline="")
    (out / "survey" / "survey_export.json").write_text(
        json.dumps(survey, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    (out / "expected_counts.json").write_text(
        json.dumps(expected, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    (out / "README.md").write_text(render_readme(expected, len(bases)), encoding="utf-8")

    if args.json:
        print(json.dumps(expected, ensure_ascii=False, indent=2))
        return
    print(f"base sentences: {len(bases)}")
    for key, x in expected["files"].items():
        print(
            f"{key:8} {x['file']:28} raw={x['raw_records']:3} posts={x['posts']:3} "
            f"duplicates={x['duplicates']} failed_parse={x['failed']['parse']} "
            f"failed_clean={x['failed']['clean']}"
        )
    t = expected["total"]
    print(
        f"{'total':8} {'':28} raw={t['raw_records']:3} posts={t['posts']:3} "
        f"duplicates={t['duplicates']} failed_parse={t['failed']['parse']} "
        f"failed_clean={t['failed']['clean']}"
    )
    for m in expected["malformed"]:
        where = f"line {m['line']}" if "line" in m else f"index {m['index']}"
        print(f"malformed {m['file']} {where} id={m['id']} {m['problem']} -> {m['expected']}")


if __name__ == "__main__":
    main()
