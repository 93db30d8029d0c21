"""Sentiment scoring off the event loop.

`score_batch` is the unit of work: a plain, picklable top-level function that turns
texts into (polarity, subjectivity) pairs with TextBlob's pattern analyzer. `Scorer`
runs batches in a process pool (spawn start method: the parent has threads, so fork
is never safe) or, with `workers=0`, in one background thread for small jobs and tests.

    async with Scorer(workers=2) as scorer:
        await scorer.start()                  # optional: spawn workers, load the lexicon
        pairs = await scorer.score(texts)     # same order as texts

A worker that dies (killed, out of memory) breaks a process pool; `score` then
replaces the pool and retries the call once before letting `BrokenProcessPool` out.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Self

from textblob import TextBlob

__all__ = ["Scorer", "label_for", "score_batch"]


def score_batch(texts: list[str]) -> list[tuple[float, float]]:
    """TextBlob (polarity, subjectivity) for each text, rounded to 4 decimals."""
    out: list[tuple[float, float]] = []
    for text in texts:
        if not text:
            out.append((0.0, 0.0))
            continue
        sentiment = TextBlob(text).sentiment
        # `+ 0.0` turns a rounded -0.0 into 0.0.
        out.append((round(sentiment.polarity, 4) + 0.0, round(sentiment.subjectivity, 4) + 0.0))
    return out


def label_for(polarity: float, positive: float = 0.05, negative: float = -0.05) -> str:
    """Return "positive" at or above `positive`, "negative" at or below `negative`, else "neutral"."""
    if polarity >= positive:
        return "positive"
    if polarity <= negative:
        return "negative"
    return "neutral"


def _warm_worker() -> None:
    """Pool initializer: import TextBlob and load its lexicon before the first real batch."""
    score_batch(["warm up the lexicon"])


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
                loop.run_in_executor(executor, score_batch, ["ok"])
                for _ in range(max(1, self.workers))
            )
        )

    # -- scoring ---------------------------------------------------------------------------

    async def score(self, texts: list[str]) -> list[tuple[float, float]]:
        """(polarity, subjectivity) for each text, in order."""
        if not texts:
            return []
        try:
            return await self._score_once(texts)
        except BrokenProcessPool:
            return await self._score_once(texts)

    async def _score_once(self, texts: list[str]) -> list[tuple[float, float]]:
        executor = self._ensure_executor()
        loop = asyncio.get_running_loop()
        size = self.batch_size
        futures: list[asyncio.Future[list[tuple[float, float]]]] = []
        try:
            for i in range(0, len(texts), size):
                batch = list(texts[i : i + size])
                futures.append(loop.run_in_executor(executor, score_batch, batch))
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
