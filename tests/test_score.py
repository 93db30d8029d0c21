from __future__ import annotations

import asyncio
import multiprocessing
import os
import pickle
import signal
import threading

import pytest

from sentitui.processing import score as score_module
from sentitui.processing.score import Scorer, label_for, score_batch

WORDS = ["love", "hate", "great", "awful", "fine", "soft", "greasy", "amazing", "bad", "okay"]


def sample_texts(n: int = 600) -> list[str]:
    return [
        f"Review {i}: AquaSilk is {WORDS[i % len(WORDS)]} and {WORDS[(i * 7) % len(WORDS)]}"
        + (" but not really" if i % 11 == 0 else "")
        for i in range(n)
    ]


def test_score_batch_values() -> None:
    texts = ["I love this shampoo", "This is terrible", "It is a bottle", ""]
    assert score_batch(texts, "textblob") == [
        (0.5, 0.6),
        (-1.0, 1.0),
        (0.0, 0.0),
        (0.0, 0.0),
    ]
    assert score_batch(["AquaSilk is not bad at all"], "textblob") == [(0.35, 0.6667)]
    assert score_batch([]) == []


def test_score_batch_is_picklable_by_reference() -> None:
    assert pickle.loads(pickle.dumps(score_batch)) is score_batch


@pytest.mark.parametrize(
    ("polarity", "label"),
    [
        (0.05, "positive"),
        (0.9, "positive"),
        (0.0499, "neutral"),
        (0.0, "neutral"),
        (-0.0499, "neutral"),
        (-0.05, "negative"),
        (-1.0, "negative"),
    ],
)
def test_label_for(polarity: float, label: str) -> None:
    assert label_for(polarity) == label


def test_label_for_custom_thresholds() -> None:
    assert label_for(0.1, positive=0.2, negative=-0.2) == "neutral"
    assert label_for(-0.3, positive=0.2, negative=-0.2) == "negative"


async def test_scorer_processes_match_score_batch_in_order() -> None:
    texts = sample_texts(600)
    expected = score_batch(texts)
    async with Scorer(workers=1, batch_size=64) as scorer:  # 10 batches, last one partial
        await scorer.start()
        assert await scorer.score(texts) == expected
        assert await scorer.score(texts[:3]) == expected[:3]
        assert await scorer.score([]) == []


async def test_scorer_two_workers_keep_order() -> None:
    texts = sample_texts(600)
    async with Scorer(workers=2, batch_size=50) as scorer:
        assert await scorer.score(texts) == score_batch(texts)


async def test_scorer_thread_mode_runs_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    threads: set[str] = set()
    real = score_module.score_batch

    def spy(texts: list[str], scorer: str = "sentitui") -> list[tuple[float, float]]:
        threads.add(threading.current_thread().name)
        return real(texts, scorer)

    monkeypatch.setattr(score_module, "score_batch", spy)
    texts = sample_texts(600)
    scorer = Scorer(workers=0, batch_size=256)
    try:
        assert await scorer.score(texts) == real(texts)
    finally:
        scorer.close()
    assert threads and threading.current_thread().name not in threads
    assert all(name.startswith("sentitui-score") for name in threads)


async def test_scorer_event_loop_stays_responsive() -> None:
    """Other work needing 1,000 turns of the event loop finishes while 24 batches are
    scored. Scoring on the loop itself, even with an await between batches, would give
    other tasks at most one turn per batch, so the scoring would finish first."""

    async def other_work() -> None:
        for _ in range(1000):
            await asyncio.sleep(0)

    texts = sample_texts(600) * 4
    async with Scorer(workers=1, batch_size=100) as scorer:
        await scorer.start()
        scoring = asyncio.create_task(scorer.score(texts))
        other = asyncio.create_task(other_work())
        first, _ = await asyncio.wait({scoring, other}, return_when=asyncio.FIRST_COMPLETED)
        assert first == {other}
        result = await scoring
    assert len(result) == len(texts)


async def test_scorer_replaces_a_broken_pool() -> None:
    texts = sample_texts(300)
    before = {p.pid for p in multiprocessing.active_children()}
    async with Scorer(workers=1, batch_size=100) as scorer:
        await scorer.start()
        # The worker processes this test started: children of this process, new since.
        killed = {p.pid for p in multiprocessing.active_children()} - before
        assert killed
        for pid in killed:
            os.kill(pid, signal.SIGKILL)
        assert await scorer.score(texts) == score_batch(texts)
        # A new pool did the scoring: new workers, none of the killed ones.
        assert {p.pid for p in multiprocessing.active_children()} - before - killed


async def test_scorer_closed_refuses_work() -> None:
    scorer = Scorer(workers=0)
    assert await scorer.score(["fine"], "textblob") == [(0.4167, 0.5)]
    scorer.close()
    scorer.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        await scorer.score(["fine"])


def test_scorer_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        Scorer(workers=-1)
    with pytest.raises(ValueError):
        Scorer(batch_size=0)


def test_default_scorer_differs_from_textblob_where_it_should() -> None:
    # TextBlob as shipped cannot read emoji, hashtags or stretched words.
    texts = ["sooo goood 😍", "#BestDayEver", "I dont think I will be back"]
    assert [p for p, _ in score_batch(texts, "textblob")] == [0.0, 0.0, 0.0]
    default = [p for p, _ in score_batch(texts)]
    assert default[0] > 0.5 and default[1] > 0.5 and default[2] < -0.05


@pytest.mark.parametrize(
    ("text", "sign"),
    [
        ("it was the nicest thing EVER", 1),  # inflected form of a lexicon word: "nice"
        ("She amazes me", 1),  # a verb TextBlob's adjective lexicon lacks
        ("Steve Jobs resigns, stocks slide on Europe woes", -1),  # events and nouns
        ("Damn damn damn #Cowboys", -1),  # a booster with nothing to boost counts itself
        ("#stillbitter", -1),  # lower-case hashtag split into known words
        ("hahahaha that was fun", 1),  # laughter in any length
        ("Where are my CDs? =/", -1),  # emoticon
        ("Flight cancelled, heading back home...", -1),  # "heading back" is no verdict
        ("pretty good", 1),
        ("not good", -1),
    ],
)
def test_default_scorer_reads_social_text(text: str, sign: int) -> None:
    [(polarity, _)] = score_batch([text])
    assert polarity * sign >= 0.05, polarity


def test_default_scorer_reads_the_same_whatever_the_case() -> None:
    """Emoticons, laughter and words are read without regard to case, including the
    non-ASCII letters Python's case-insensitive matching folds onto ASCII ones
    (İ and ı onto i, ſ onto s, the Kelvin sign onto k): the reading skips its
    costly passes only where they cannot match."""
    same = [
        ("ok :D", "ok :d"),
        ("ok XD", "ok xd"),
        ("HAHAHA that was fun", "hahaha that was fun"),
        ("h\u0130h\u0130 that was fun", "hahaha that was fun"),  # read as laughter
        ("h\u0131h\u0131 that was fun", "hahaha that was fun"),
        ("that was LOL", "that was lol"),
    ]
    for text, plain in same:
        assert score_batch([text]) == score_batch([plain]), text
    # Such a letter does not split a word: the Kelvin sign lower-cases to k, a dampener.
    assert score_batch(["\u212ainda good"]) == score_batch(["kinda good"])
    assert score_batch(["kinda good"]) != score_batch(["inda good"])


def test_default_scorer_model_maps_cutoffs_onto_default_thresholds() -> None:
    from sentitui.processing.sentiment import MODEL, Model, _polarity

    assert MODEL.negative < 0 < MODEL.positive
    assert _polarity(MODEL.positive, MODEL) == pytest.approx(0.05)
    assert _polarity(MODEL.negative, MODEL) == pytest.approx(-0.05)
    assert label_for(round(_polarity(MODEL.positive - 1e-6, MODEL), 4)) == "neutral"
    assert _polarity(0.0, MODEL) == 0.0
    scores = [x / 10 for x in range(-100, 101)]
    polarities = [_polarity(x, MODEL) for x in scores]
    assert polarities == sorted(polarities) and polarities[0] > -1 and polarities[-1] < 1
    # A text with no opinion in it scores exactly 0 whatever the model.
    assert score_batch(["It is a bottle", "arrived on Tuesday"]) == [(0.0, 0.0), (0.0, 0.0)]
    assert isinstance(MODEL, Model)


def test_unknown_scorer_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown scorer 'nope'"):
        score_batch(["hi"], "nope")


async def test_scorer_analyse_gives_aspect_polarities_in_the_pool() -> None:
    aspects = {"scent": ("smell", "scent"), "price": ("price", "expensive")}
    texts = ["Love the scent, but the price is awful.", "Bought it today."]
    async with Scorer(workers=1) as scorer:
        first, second = await scorer.analyse(texts, "sentitui", aspects)
    assert first.aspects["scent"] > 0.05 and first.aspects["price"] < -0.05
    assert second.aspects == {}
    assert (first.polarity, first.subjectivity) == score_batch(texts[:1])[0]


def test_an_emoticon_matched_through_case_folding_is_read_not_a_crash():
    """The tokenizer matches emoticons ignoring case the way `re` does, folding letters
    `str.lower` leaves alone: ":ſ" (long s) is ":s", and it once raised KeyError,
    failing the whole batch of 100 posts it was in."""
    from sentitui.processing.sentiment import score_text

    assert score_text("meh :ſ") == score_text("meh :s") == score_text("meh :S")


def test_a_text_the_scorer_cannot_read_fails_alone_not_its_batch():
    from sentitui.processing.batch import RecordRules, Rejected, process_records

    rules = RecordRules(
        pipeline="p",
        source="s",
        author_secret=b"key",
        fetched_at="2026-12-03T00:00:00Z",
        keep_authors=False,
        redact_pii=False,
        public_handles=(),
        scorer="sentitui",
        scorer_by_language={"fr": "no-such-scorer"},  # scoring French texts raises
    )
    records = [
        {"id": "1", "text": "I love this shampoo"},
        {"id": "2", "text": "je l'adore", "lang": "fr"},
        {"id": "3", "text": "I hate this shampoo"},
    ]
    first, second, third = process_records(records, rules)
    assert isinstance(second, Rejected) and second.stage == "score"
    assert "no-such-scorer" in second.error, second.error
    assert (first.label, third.label) == ("positive", "negative")  # type: ignore[union-attr]
