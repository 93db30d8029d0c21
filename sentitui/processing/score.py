"""Sentiment scoring off the event loop.

Three scorers, chosen per pipeline (`scorer = "..."`):
- `sentitui` (the default): TextBlob's lexicon with rules for social text
  (negation, boosters, emoji, hashtags, stretched words, tuned cut-offs); see
  `processing/sentiment.py` and README "Insight" for how it compares.
- `textblob`: TextBlob's pattern analyzer as shipped.
- `vader`: VADER's compound score, from the optional extra `sentitui[vader]`
  (subjectivity is the share of non-neutral words).
- `textblob-fr`: TextBlob's French lexicon (textblob-fr), from the optional extra
  `sentitui[fr]`; picked per language with `scorer_by_language = { fr = "textblob-fr" }`.

Every scorer reads some languages only (`SCORER_LANGUAGES`). A post whose language
(stated by its source, or detected: processing/language.py) no scorer of the pipeline
reads is not scored at all: its `Analysis.scored` is False and it is labelled
`unscored`, never called neutral.

`score_batch(texts, scorer)` and `analyse_batch(texts, scorer, aspects)` are the
units of work: plain, picklable top-level functions. `Scorer` runs them in a
process pool (spawn start method: the parent has threads, so fork is never safe)
or, with `workers=0`, in one background thread for small jobs and tests.

    async with Scorer(workers=2) as scorer:
        await scorer.start()                            # optional: spawn workers, load lexicons
        pairs = await scorer.score(texts, "textblob")   # [(polarity, subjectivity)], same order
        found = await scorer.analyse(texts, "sentitui", {"price": ("price", "expensive")})

A worker that dies (killed, out of memory) breaks a process pool; `score` then
replaces the pool and retries the call once before letting `BrokenProcessPool` out.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import Any, Self

from sentitui.models import Label
from sentitui.processing.scorers import (
    DEFAULT_SCORER,
    SCORER_LANGUAGES,
    SCORERS,
    scorer_problem,
)

__all__ = [
    "DEFAULT_SCORER",
    "SCORERS",
    "Analysis",
    "Scorer",
    "analyse_batch",
    "default_workers",
    "label_for",
    "score_batch",
    "scorer_problem",
]

# Aspect keywords by aspect name, as tuples so they pickle and hash.
Aspects = Mapping[str, Sequence[str]]


def _textblob(text: str) -> tuple[float, float]:
    # Imported here: TextBlob brings NLTK (a second of start-up), and the console's
    # own process never scores when the workers do.
    from textblob import TextBlob

    sentiment = TextBlob(text).sentiment
    return sentiment.polarity, sentiment.subjectivity


@lru_cache(maxsize=1)
def _vader_analyzer() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def _vader(text: str) -> tuple[float, float]:
    scores = _vader_analyzer().polarity_scores(text)
    return scores["compound"], 1.0 - scores["neu"]


@lru_cache(maxsize=1)
def _french_analyzer() -> Any:
    from textblob_fr import PatternAnalyzer

    return PatternAnalyzer()


def _textblob_fr(text: str) -> tuple[float, float]:
    polarity, subjectivity = _french_analyzer().analyze(text)
    return float(polarity), float(subjectivity)


def _sentitui(text: str) -> tuple[float, float]:
    return _sentitui_scorer()(text)


@lru_cache(maxsize=1)
def _sentitui_scorer() -> Callable[[str], tuple[float, float]]:
    # Imported when first used: its lexicons load in 20 ms that the console's start
    # (which scores nothing itself: its workers do) need not wait for. Looked up once,
    # not by an import statement a text.
    from sentitui.processing.sentiment import score_text

    return score_text


_FUNCTIONS: dict[str, Callable[[str], tuple[float, float]]] = {
    "sentitui": _sentitui,
    "textblob": _textblob,
    "vader": _vader,
    "textblob-fr": _textblob_fr,
}


def scorer_for(
    lang: str | None, scorer: str, by_language: Mapping[str, str] | None = None
) -> str | None:
    """The scorer that reads `lang`: the pipeline's choice for that language, else its
    scorer when it reads the language (or the language is unknown), else None."""
    if lang is None:
        return scorer
    if by_language and lang in by_language:
        return by_language[lang]
    return scorer if lang in SCORER_LANGUAGES.get(scorer, ()) else None


def _polarity(text: str, scorer: str) -> float:
    return _score_one(text, scorer)[0]


@lru_cache(maxsize=32768)  # reposts and retweets repeat texts: score each once per worker
def _score_one(text: str, scorer: str) -> tuple[float, float]:
    if not text:
        return 0.0, 0.0
    polarity, subjectivity = _FUNCTIONS[scorer](text)
    # `+ 0.0` turns a rounded -0.0 into 0.0.
    return round(polarity, 4) + 0.0, round(subjectivity, 4) + 0.0


def score_batch(texts: list[str], scorer: str = DEFAULT_SCORER) -> list[tuple[float, float]]:
    """(polarity, subjectivity) for each text with the named scorer, rounded to 4 decimals."""
    if scorer not in _FUNCTIONS:
        raise ValueError(scorer_problem(scorer))
    return [_score_one(text, scorer) for text in texts]


@dataclass(slots=True)
class Analysis:
    """What the worker computes for one post: overall scores and a polarity per aspect,
    the post's language, and whether a scorer could read it at all."""

    polarity: float
    subjectivity: float
    aspects: dict[str, float] = field(default_factory=dict)
    lang: str | None = None
    scored: bool = True


def analyse_batch(
    texts: list[str],
    scorer: str = DEFAULT_SCORER,
    aspects: Aspects | None = None,
    langs: Sequence[str | None] | None = None,
    by_language: Mapping[str, str] | None = None,
) -> list[Analysis]:
    """Language, scores and aspect polarities (sentence level, see processing/aspects.py).

    `langs` are the languages the sources stated (None where they did not): those win
    over detection. A text in a language none of the pipeline's scorers reads gets
    `scored=False` and zero scores, which nobody may average."""
    from sentitui.processing.aspects import aspect_polarities
    from sentitui.processing.language import languages_of

    out = []
    found_langs = languages_of(texts, langs if langs else [None] * len(texts))
    for text, lang in zip(texts, found_langs, strict=True):
        name = scorer_for(lang, scorer, by_language)
        if name is None:
            out.append(Analysis(0.0, 0.0, {}, lang=lang, scored=False))
            continue
        if name not in _FUNCTIONS:
            raise ValueError(scorer_problem(name))
        polarity, subjectivity = _score_one(text, name)
        found = aspect_polarities(text, aspects, partial(_polarity, scorer=name)) if aspects else {}
        out.append(Analysis(polarity, subjectivity, found, lang=lang))
    return out


def label_for(polarity: float, positive: float = 0.05, negative: float = -0.05) -> Label:
    """Return "positive" at or above `positive`, "negative" at or below `negative`, else "neutral"."""
    if polarity >= positive:
        return "positive"
    if polarity <= negative:
        return "negative"
    return "neutral"


def _exit_with_parent(every: float = 0.5) -> None:
    """End this worker when the process that started it dies. A SIGKILLed parent
    cannot shut its pool down, and an orphaned worker (with the resource tracker,
    which lives until the last worker closes its pipe) would stay forever."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every)
        os._exit(0)

    threading.Thread(target=watch, name="sentitui-parent-watch", daemon=True).start()


_BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
# Workers yield the CPU to the main process when both want it: the main process is the
# pipeline's one writer and, in the console, the one answering keys. With the workers
# on every core, a key pressed while ingesting otherwise waited its turn behind them.
WORKER_NICENESS = 10


def _warm_worker() -> None:
    """Pool initializer: import TextBlob and load the lexicons before the first real batch.

    Ctrl-C in a terminal reaches the whole process group: the worker ignores it and
    lets the parent stop the run (a KeyboardInterrupt here would break the pool)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # One BLAS thread a worker: the workers already take every core, and BLAS threads
    # (language.py's matrix product) would only fight them for it, many times slower.
    # BLAS reads these when NumPy loads, which in a fresh worker is after this.
    for name in _BLAS_THREADS:
        os.environ[name] = "1"
    if hasattr(os, "nice"):  # not on Windows
        os.nice(WORKER_NICENESS)
    _exit_with_parent()
    score_batch(["warm up the lexicon"], "textblob")
    analyse_batch(["warm up the language model and the default scorer"])
    score_batch(["warm up the lexicon"], "sentitui")


def default_workers() -> int:
    """One worker process per core this process may use: scoring is the CPU-heavy part,
    and the event loop mostly waits on I/O and the writer thread."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class Scorer:
    """Scores texts in batches on a lazily created pool; never blocks the event loop."""

    def __init__(self, workers: int = 1, batch_size: int = 256) -> None:
        if workers < 0:
            raise ValueError(f"workers must be 0 (a thread) or more (processes), not {workers}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        self.workers = workers
        self.batch_size = batch_size
        self._executor: Executor | None = None
        self._closed = False

    # -- pool ------------------------------------------------------------------------------

    def _ensure_executor(self) -> Executor:
        if self._closed:
            raise RuntimeError("Scorer is closed")
        if self._executor is None:
            if self.workers == 0:
                self._executor = ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix="sentitui-score"
                )
            else:
                self._executor = ProcessPoolExecutor(
                    max_workers=self.workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_warm_worker,
                )
        return self._executor

    def _discard_executor(self, executor: Executor) -> None:
        if self._executor is executor:
            self._executor = None
        executor.shutdown(wait=False, cancel_futures=True)

    async def start(self) -> None:
        """Create the pool and run one tiny batch per worker, so every worker process is
        spawned and has TextBlob loaded before the first real page arrives."""
        executor = self._ensure_executor()
        loop = asyncio.get_running_loop()
        await asyncio.gather(
            *(
                loop.run_in_executor(executor, score_batch, ["ok"], DEFAULT_SCORER)
                for _ in range(max(1, self.workers))
            )
        )

    async def start_sheltered(self) -> None:
        """`start()` with SIGINT blocked while the workers spawn, for headless commands.

        A terminal's Ctrl-C reaches the whole foreground process group. A worker ignores
        SIGINT once its initializer has run, but one still starting up (importing TextBlob)
        would die printing a KeyboardInterrupt traceback. Blocked signals are inherited through
        fork and exec, so the workers never see one. Meanwhile the parent's SIGINT goes to
        another thread or waits until the mask is restored: it is handled, only later."""
        if self.workers == 0 or not hasattr(signal, "pthread_sigmask"):
            await self.start()
            return
        from multiprocessing import resource_tracker

        resource_tracker.ensure_running()  # launching it unblocks SIGINT: have that done first
        old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            await self.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)

    # -- scoring ---------------------------------------------------------------------------

    async def score(
        self, texts: list[str], scorer: str = DEFAULT_SCORER
    ) -> list[tuple[float, float]]:
        """(polarity, subjectivity) for each text, in order, with the named scorer."""
        if not texts:
            return []
        try:
            return await self._run_batches(score_batch, texts, scorer)
        except BrokenProcessPool:
            return await self._run_batches(score_batch, texts, scorer)

    async def analyse(
        self,
        texts: list[str],
        scorer: str = DEFAULT_SCORER,
        aspects: Aspects | None = None,
        *,
        langs: Sequence[str | None] | None = None,
        by_language: Mapping[str, str] | None = None,
    ) -> list[Analysis]:
        """`score` plus the language and a polarity for each aspect a text mentions."""
        if not texts:
            return []
        frozen = {name: tuple(words) for name, words in (aspects or {}).items()}
        extra = (dict(by_language or {}),)
        try:
            return await self._run_batches(
                analyse_batch, texts, scorer, frozen, langs=langs, extra=extra
            )
        except BrokenProcessPool:
            return await self._run_batches(
                analyse_batch, texts, scorer, frozen, langs=langs, extra=extra
            )

    async def map(
        self, function: Callable[..., list[Any]], items: list[Any], *args: Any
    ) -> list[Any]:
        """`function(batch, *args)` over `items` in batches on the pool, results flattened
        in order; the engine sends whole records (clean + score + classify) this way."""
        if not items:
            return []
        try:
            return await self._run_batches(function, items, *args)
        except BrokenProcessPool:
            return await self._run_batches(function, items, *args)

    async def _run_batches(
        self,
        function: Callable[..., list[Any]],
        texts: list[str],
        *args: Any,
        langs: Sequence[str | None] | None = None,
        extra: tuple[Any, ...] = (),
    ) -> list[Any]:
        """Run `function(batch, *args[, batch_langs, *extra])` over batches of texts; the
        languages, when given, are cut into the same batches as the texts."""
        executor = self._ensure_executor()
        loop = asyncio.get_running_loop()
        size = self.batch_size
        futures: list[asyncio.Future[list[Any]]] = []
        # Split so every worker gets a share even of a page smaller than two batches.
        workers = max(1, self.workers)
        size = max(16, min(size, -(-len(texts) // workers)))
        try:
            for i in range(0, len(texts), size):
                batch = list(texts[i : i + size])
                call = (
                    (*args, list(langs[i : i + size]) if langs else None, *extra) if extra else args
                )
                futures.append(loop.run_in_executor(executor, function, batch, *call))
            results = await asyncio.gather(*futures)
        except BrokenProcessPool:
            for future in futures:
                future.cancel()
            self._discard_executor(executor)
            raise
        except BaseException:
            for future in futures:
                future.cancel()
            raise
        return [pair for batch in results for pair in batch]

    # -- shutdown --------------------------------------------------------------------------

    def close(self) -> None:
        """Shut the pool down (waits for running batches; queued ones are cancelled)."""
        self._closed = True
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    async def aclose(self) -> None:
        """`close()` without blocking the event loop while workers exit."""
        self._closed = True
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.to_thread(executor.shutdown, True, cancel_futures=True)

    async def __aenter__(self) -> Self:
        self._ensure_executor()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
