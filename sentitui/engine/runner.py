"""One run of one source: fetch pages -> bounded queue -> transform -> writer.

The fetcher and the transformer are two tasks joined by a small queue, so a slow
scorer or disk makes the fetcher wait (back-pressure) instead of piling pages up
in memory. Every raw record ends as a post, a counted duplicate or a failed record.
"""

from __future__ import annotations

import asyncio
import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from sentitui.engine.resume import Backfill
from sentitui.models import FailedRecord, Page, Post, RunProgress, RunStats, SourceStatus
from sentitui.net.http import AuthError, FetchError
from sentitui.processing.batch import RecordRules, Rejected, process_records, reject_unscored
from sentitui.processing.insight import public_handles
from sentitui.sources.base import Source, SourceConfigError, SourceContext, dump_json
from sentitui.store import PageWrite, database_errors, utc_now

if TYPE_CHECKING:
    from sentitui.engine.engine import Engine

QUEUE_PAGES = 4
# Pages being transformed while an earlier one commits: enough to keep every worker busy.
PAGES_IN_FLIGHT = 2
_SURROGATE = re.compile("[\ud800-\udfff]")


def raw_payload(payload: Any) -> str:
    """A decoded record as stored in failed_records: its JSON, so retry can decode it.
    A lone surrogate (half an emoji) stays escaped as "\\ud83d", as it was received."""
    text = dump_json(payload)  # never raises, however deep the record
    return (
        text
        if text.isascii() or not _SURROGATE.search(text)
        else dump_json(payload, ensure_ascii=True)
    )


@dataclass(slots=True)
class Transformed:
    posts: list[Post] = field(default_factory=list)
    failures: list[FailedRecord] = field(default_factory=list)
    # Mapped fields of every record that cleaned, aligned with `posts`, for cursors.
    fields: list[dict[str, Any]] = field(default_factory=list)


def record_rules(engine: Engine, source: Source, run_id: int | None) -> RecordRules:
    """The pipeline's cleaning and insight settings, as the workers take them."""
    pipeline = source.pipeline
    return RecordRules(
        pipeline=pipeline.name,
        source=source.config.name,
        author_secret=engine.author_secret,
        fetched_at=utc_now(),
        keep_authors=pipeline.keep_authors,
        redact_pii=pipeline.redact_pii,
        public_handles=tuple(public_handles(pipeline)),  # once per page, not per record
        scorer=pipeline.scorer,
        aspects={name: tuple(words) for name, words in pipeline.aspects.items()},
        positive_threshold=pipeline.positive_threshold,
        negative_threshold=pipeline.negative_threshold,
        competitors=tuple(pipeline.competitors),
        competitor_aliases={k: tuple(v) for k, v in pipeline.competitor_aliases.items()},
        scorer_by_language=dict(pipeline.scorer_by_language),
        label_from=pipeline.label_from,
        run_id=run_id,
    )


async def transform(
    engine: Engine, source: Source, payloads: list[Any], run_id: int | None
) -> Transformed:
    """map (here, it is the source's code) -> clean -> score -> classify (on the scorer's
    workers, one batch per core) for a batch of raw payloads."""
    out = Transformed()
    # Per payload, in order: its mapped fields, or the failure of mapping it.
    mapped: list[tuple[Any, dict[str, Any] | FailedRecord]] = []
    for payload in payloads:
        try:
            mapped.append((payload, source.map_record(payload)))
        except Exception as exc:
            failure = FailedRecord(
                "parse", f"cannot map record: {exc}", raw_payload(payload), {"record": True}
            )
            mapped.append((payload, failure))
    batch = [fields for _, fields in mapped if not isinstance(fields, FailedRecord)]
    results: list[Post | Rejected] = []
    if batch:
        rules = record_rules(engine, source, run_id)
        try:
            results = await engine.scorer.map(process_records, batch, rules)
        except Exception as exc:  # the workers could not take the batch (pool broken twice …)
            results = reject_unscored(batch, rules, f"scoring failed: {exc}")
    done = iter(results)
    for payload, fields in mapped:
        if isinstance(fields, FailedRecord):
            out.failures.append(fields)
            continue
        result = next(done)
        if isinstance(result, Rejected):
            out.failures.append(FailedRecord(result.stage, result.error, raw_payload(payload)))
            continue
        result.fields = {"payload": payload, **fields}
        out.posts.append(result)
        out.fields.append(result.fields)
    return out


_InFlight = tuple[Page, "asyncio.Task[Transformed]"]
_Item = TypeVar("_Item")


class Runner:
    """Runs one source once; the engine creates one per run and awaits `run()`."""

    def __init__(
        self,
        engine: Engine,
        source: Source,
        stats: RunStats,
        set_status: Callable[[SourceStatus, str], None],
    ) -> None:
        self.engine = engine
        self.source = source
        self.stats = stats
        self.set_status = set_status
        self.pipeline = source.pipeline.name
        self.name = source.config.name
        self.backfill = Backfill(base={}, pending={})  # read from the store by run()

    def log(self, level: str, message: str) -> None:
        self.engine.log(level, message, self.pipeline, self.name)

    async def run(self) -> RunStats:
        stats = self.stats
        cursor = await self.engine.writer.call(lambda store: store.cursor(self.pipeline, self.name))
        self.backfill = Backfill.from_stored(cursor)
        ctx = SourceContext(
            http=self.engine.http,
            cursor=dict(self.backfill.base),
            resume=dict(self.backfill.walks),
            log=self.log,
            set_status=self.set_status,
        )
        queue: asyncio.Queue[Page | None] = asyncio.Queue(maxsize=QUEUE_PAGES)
        transformer = asyncio.create_task(self._transform_pages(queue))
        stop = None
        try:
            try:
                async for page in self.source.pages(ctx):
                    stats.fetched += len(page.records) + len(page.failures)
                    stats.pages += 1
                    await self._hand_over(queue, page, transformer)
                    stop = self.engine.state(self.pipeline, self.name).stop_reason
                    if stop:  # shutdown or config change: stop after the page in hand
                        break
            finally:
                # Let the pages in hand finish and commit, even when fetching failed,
                # unless the run is dropped (Engine.drop): they are another daemon's now.
                if self.engine.state(self.pipeline, self.name).dropping:
                    transformer.cancel()
                elif not transformer.done():
                    await self._hand_over(queue, None, transformer)
                    await transformer
            transformer.result()
            await self._finish_paging(stop)
        except AuthError as exc:
            await self._fail_fetch(exc)
            self.log("ERROR", f"authentication failed: {exc} — set the source's token and retry")
        except FetchError as exc:
            await self._fail_fetch(exc)
            self.log("ERROR", f"fetch failed: {exc} ({exc.url})")
        except SourceConfigError as exc:  # the user's to fix: the message, no traceback
            transformer.cancel()
            stats.status, stats.error = "failed", str(exc)
            self.log("ERROR", f"configuration error: {exc}")
        except asyncio.CancelledError:
            transformer.cancel()
            state = self.engine.state(self.pipeline, self.name)
            stats.status = "cancelled"
            stats.error = state.stop_reason if state.dropping else "cancelled"
            raise
        except Exception as exc:
            transformer.cancel()
            stats.status = "failed"
            stats.error = f"{type(exc).__name__}: {exc}"
            stats.store_failed = isinstance(exc, database_errors())
            self.log("ERROR", f"run failed: {stats.error}\n{traceback.format_exc(limit=5)}")
        return stats

    @staticmethod
    async def _hand_over(
        queue: asyncio.Queue[_Item | None], page: _Item | None, transformer: asyncio.Task[None]
    ) -> None:
        """Put a page on the queue, unless the stage taking from it died (then raise its
        error)."""
        put = asyncio.ensure_future(queue.put(page))
        await asyncio.wait({put, transformer}, return_when=asyncio.FIRST_COMPLETED)
        if not put.done():
            put.cancel()
            transformer.result()

    async def _finish_paging(self, stop: str | None) -> None:
        """Set the run's outcome once its pages are committed. Only paging that went to
        its end is `ok` and moves the polling cursor; a run that stopped early says
        where, and the next run resumes there."""
        stats, where = self.stats, self.backfill.stopped_at()
        if stop:
            stats.status = "cancelled"
            stats.error = f"{stop}; the next run resumes at {where}" if where else stop
        elif where:
            stats.status = "partial"
            stats.error = (
                f"paging stopped at {where}: the page could not be read (see failed "
                f"records); the next run resumes there"
            )
        else:
            final = self.backfill.finished()
            if final is not None:
                await self.engine.writer.write(PageWrite(stats, [], [], final))
            stats.status, stats.error = "ok", None

    async def _fail_fetch(self, exc: FetchError) -> None:
        stats = self.stats
        status = f" (HTTP {exc.status})" if exc.status else ""
        failure = FailedRecord(
            "fetch", f"{exc}{status}", exc.body, {"url": exc.url, "status": exc.status}
        )
        await self.engine.writer.write(PageWrite(stats, [], [failure]))
        stats.status = "failed"
        where = self.backfill.stopped_at()
        stats.error = f"{exc}; the next run resumes at {where}" if where else str(exc)

    async def _transform_pages(self, queue: asyncio.Queue[Page | None]) -> None:
        """Start transforming each page as it arrives (several at once, on the scorer's
        workers) and let `_commit_pages` commit them one by one in page order. The
        bounded `in_flight` queue makes this wait when commits fall behind."""
        in_flight: asyncio.Queue[_InFlight | None] = asyncio.Queue(maxsize=PAGES_IN_FLIGHT)
        committer = asyncio.create_task(self._commit_pages(in_flight))
        try:
            while (page := await queue.get()) is not None:
                work = asyncio.create_task(
                    transform(self.engine, self.source, page.records, self.stats.run_id)
                )
                await self._hand_over(in_flight, (page, work), committer)
            await self._hand_over(in_flight, None, committer)
            await committer
        finally:
            if not committer.done():
                committer.cancel()
            while not in_flight.empty():
                item = in_flight.get_nowait()
                if item is not None:
                    item[1].cancel()

    async def _commit_pages(self, in_flight: asyncio.Queue[_InFlight | None]) -> None:
        stats = self.stats
        committed = 0  # the fetcher runs ahead, so stats.pages is not this page's number
        while (item := await in_flight.get()) is not None:
            page, work = item
            committed += 1
            done = await work
            failures = page.failures + done.failures
            for failure in failures:
                failure.context.setdefault("url", page.url)
            new_cursor = self.backfill.after(page, self.source, done.fields, self.log)
            loaded, duplicates = await self.engine.writer.write(
                PageWrite(stats, done.posts, failures, new_cursor)
            )
            if failures:
                self.log(
                    "WARNING",
                    f"{len(failures)} record(s) failed on {page.url or 'page'}: "
                    f"{failures[0].error[:200]}",
                )
            self.log(
                "INFO",
                f"page {committed}: {loaded} loaded, {duplicates} duplicate, "
                f"{len(failures)} failed",
            )
            self.engine.emit(RunProgress.of(stats))
