"""Languages and star ratings: a post no scorer reads is `unscored`, never neutral; a
rating is kept 0..1 beside the text's verdict, and `stats` says how often they agree."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import connect_db
from test_cli import sentitui

from sentitui.processing.clean import CleanError, normalise_rating
from sentitui.processing.language import detect_language, language_of, languages_of
from sentitui.processing.score import analyse_batch, scorer_for

FIXTURES = Path(__file__).parent / "fixtures" / "languages"


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("This shampoo left my hair soft and shiny, I love it", "en"),
        ("Ce shampooing est génial, mes cheveux sont tellement doux", "fr"),
        ("Das Shampoo ist wirklich großartig, meine Haare fühlen sich weich an", "de"),
        ("Ten szampon jest świetny, włosy są miękkie i lśniące", "pl"),
        ("ok", None),  # too short to tell
        ("#aquasilk 😍 https://example.com/x", None),  # no words at all
    ],
)
def test_detect_language(text: str, lang: str | None) -> None:
    assert detect_language(text) == lang


MANY_LANGUAGES = [
    "This shampoo left my hair soft and shiny, I love it",
    "Ce shampooing est génial, mes cheveux sont tellement doux",
    "Este champú es muy bueno y huele genial, lo recomiendo",
    "Det här schampot är fantastiskt bra för mitt hår",
    "Questo shampoo è ottimo, i capelli sono morbidi",
    "Этот шампунь очень хороший, волосы мягкие",
    "これはとても良いシャンプーです。髪がさらさらになりました",
    "Ten szampon jest świetny, włosy są miękkie i lśniące",
    "THE BOTTLE LEAKED ALL OVER MY BAG AND SMELLS AWFUL",  # all caps: read lowered
    "Das Shampoo ist wirklich großartig " * 40,  # longer than the rest of its batch
    "ok",
    "",
    "@someone #tag https://example.com/x",
    "Super Produkt, sehr gut",  # short: an unsure guess
]


def test_batched_detection_is_py3langids_own_answer() -> None:
    """The engine guesses a whole batch at once (the DFA walked for all texts together);
    each answer must be what py3langid itself says of the same text."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    reference = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)

    def theirs(text: str) -> str | None:
        if text in {"ok", ""} or text.startswith("@"):
            return None  # too few letters: no language is told
        lang, confidence = reference.classify(text)
        return str(lang) if confidence >= 0.5 else None

    expected = [theirs(text) for text in MANY_LANGUAGES]
    assert languages_of(MANY_LANGUAGES, [None] * len(MANY_LANGUAGES)) == expected
    assert [detect_language(text) for text in MANY_LANGUAGES] == expected
    assert {"en", "fr", "es", "sv", "it", "ru", "ja", "pl", "de"} <= set(expected)


def test_a_stated_language_counts_unless_the_text_clearly_says_otherwise() -> None:
    assert language_of("Super Produkt", "de-DE") == "de"  # too short to doubt the source
    assert language_of("ok", "en-GB") == "en"
    # A template's or an account's default is overruled by a text that is plainly German.
    assert language_of("Das Shampoo ist wirklich großartig, meine Haare", "en") == "de"
    assert language_of("Das Shampoo ist wirklich großartig, meine Haare", "und") == "de"


def test_scorer_for_a_language() -> None:
    assert scorer_for("en", "sentitui") == "sentitui"
    assert scorer_for(None, "sentitui") == "sentitui"  # cannot tell: scored as usual
    assert scorer_for("de", "sentitui") is None
    assert scorer_for("fr", "sentitui", {"fr": "textblob-fr"}) == "textblob-fr"


def test_analyse_batch_leaves_unreadable_languages_unscored() -> None:
    german, french = (
        "Das Shampoo ist wirklich großartig, meine Haare fühlen sich weich an",
        "Trop cher et une odeur horrible, je suis très déçue",
    )
    found = analyse_batch([german, french], "sentitui", None, None, {"fr": "textblob-fr"})
    assert (found[0].lang, found[0].scored) == ("de", False)
    assert (found[1].lang, found[1].scored) == ("fr", True)
    assert found[1].polarity < -0.3  # French lexicon: "horrible", "déçue"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("4/5", 0.8), ("8/10", 0.8), (4, 0.8), ("★★★★☆", 0.8), (85, 0.85), (10, 1.0), (None, None)],
)
def test_normalise_rating(value: object, expected: float | None) -> None:
    assert normalise_rating(value) == expected


def test_a_rating_above_100_is_no_rating() -> None:
    with pytest.raises(CleanError, match="no scale"):
        normalise_rating(250)


def _pipeline(folder: Path, label_from: str = "text") -> Path:
    pipelines = folder / "pipelines"
    pipelines.mkdir()
    shutil.copy(FIXTURES / "reviews.jsonl", folder / "reviews.jsonl")
    (pipelines / "reviews.toml").write_text(
        f"""
[pipeline]
name = "intl"
scorer_by_language = {{ fr = "textblob-fr" }}
label_from = "{label_from}"

[[source]]
name = "reviews"
kind = "file"
path = "{folder / "reviews.jsonl"}"
format = "jsonl"
fields = {{ id = "id", text = "text", rating = "stars" }}
""",
        encoding="utf-8",
    )
    return pipelines


def _posts(db: Path | str) -> dict[str, tuple[str | None, str, float | None, float, str]]:
    with connect_db(db) as conn:
        rows = conn.execute(
            "SELECT external_id, lang, label, polarity, rating, text_label FROM posts"
        ).fetchall()
    return {r[0]: (r[1], r[2], r[3], r[4], r[5]) for r in rows}


def test_german_and_polish_reviews_are_unscored_and_stats_says_so(
    tmp_path: Path, db_url: str
) -> None:
    """On both backends: the language segment, unscored counts and rating agreement."""
    db = db_url
    pipelines = _pipeline(tmp_path)
    run = sentitui("run", "--once", "--db", str(db), "--pipelines", str(pipelines), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    posts = _posts(db)
    for key in ("de-1", "de-2", "pl-1", "pl-2"):
        lang, label, polarity, rating, text_label = posts[key]
        assert (lang, label, polarity, text_label) == (key[:2], "unscored", None, "unscored")
    assert posts["fr-1"][:2] == ("fr", "positive") and posts["fr-2"][:2] == ("fr", "negative")
    assert posts["en-1"][:2] == ("en", "positive") and posts["en-4"][0] is None
    assert posts["en-1"][3] == 1.0 and posts["en-2"][3] == 0.2  # stars normalised to 0..1

    stats = json.loads(sentitui("stats", "--json", "--db", str(db), cwd=tmp_path).stdout)
    assert (stats["posts"], stats["scored"], stats["unscored"]) == (10, 6, 4)
    assert stats["positive"] + stats["neutral"] + stats["negative"] == 6
    assert stats["share_negative"] == round(stats["negative"] / 6, 4)
    languages = {r["segment"]: (r["posts"], r["unscored"]) for r in stats["languages"]}
    assert languages == {"en": (3, 0), "fr": (2, 0), "de": (2, 2), "pl": (2, 2)}
    # en-1, en-2, fr-1, fr-2 agree with their stars; en-3 (glowing words, 2 stars) and
    # en-4 ("ok" reads positive, 3 stars are neutral) do not; unscored posts are not compared.
    agreement = stats["rating_agreement"]
    assert (agreement["rated"], agreement["agreement"]) == (6, round(4 / 6, 4))
    assert agreement["confusion"]["negative"]["positive"] == 1
    assert agreement["confusion"]["neutral"]["positive"] == 1
    text = sentitui("stats", "--db", str(db), cwd=tmp_path).stdout
    assert "unscored: 4 post(s)" in text and "agrees with 67% of 6 rated posts" in text


def test_label_from_rating_keeps_the_text_verdict_beside_it(tmp_path: Path) -> None:
    db = tmp_path / "intl.db"
    pipelines = _pipeline(tmp_path, label_from="rating")
    run = sentitui("run", "--once", "--db", str(db), "--pipelines", str(pipelines), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    posts = _posts(db)
    # en-3 praises in words but gives 2 stars: the rating labels it, the text's verdict stays.
    assert posts["en-3"][1] == "negative" and posts["en-3"][4] == "positive"
    # A German review is unscored as text, but its 5 stars still say positive.
    assert posts["de-1"][1:] == ("positive", None, 1.0, "unscored")


def test_label_from_and_scorer_by_language_are_validated(tmp_path: Path) -> None:
    pipelines = tmp_path / "pipelines"
    pipelines.mkdir()
    (pipelines / "bad.toml").write_text(
        '[pipeline]\nname = "bad"\nlabel_from = "stars"\n'
        'scorer_by_language = { french = "textblob-fr", de = "nope" }\n',
        encoding="utf-8",
    )
    result = sentitui("validate", "--pipelines", str(pipelines), cwd=tmp_path)
    assert result.returncode == 2
    assert "key 'label_from' must be \"text\" or \"rating\", not 'stars'" in result.stderr
    assert "key 'scorer_by_language.french': languages are ISO 639-1 codes" in result.stderr
    assert "key 'scorer_by_language.de': unknown scorer 'nope'" in result.stderr
