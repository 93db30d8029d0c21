"""One run of one source: fetch pages -> bounded queue -> transform -> writer.

The fetcher and the transformer are two tasks joined by a small queue, so a slow
scorer or disk makes the fetcher wait (back-pressure) instead of piling pages up
in memory. Every raw record ends as a post, a counted duplicate or a failed record.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sentitui.engine.resume import Backfill
from sentitui.models import FailedRecord, Page, Post, RunProgress, RunStats, SourceStatus
from sentitui.net.http import AuthError, FetchError
from sentitui.processing.clean import CleanError, clean_record
from sentitui.processing.insight import insight_for, public_handles
from sentitui.sources.base import Source, SourceConfigError, SourceContext, dump_json
from sentitui.store import PageWrite, StoreError, utc_now

if TYPE_CHECKING:
    from sentitui.engine.engine import Engine

QUEUE_PAGES = 4
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


async def transform(
    engine: Engine, source: Source, payloads: list[Any], run_id: int | None
) -> Transformed:
    """map -> clean -> score -> classify for a batch of raw payloads."""
    pipeline = source.pipeline
    out = Transformed()
    fetched_at = utc_now()
    secret = engine.author_secret
    brands = public_handles(pipeline)  # once per page, not per record
    for payload in payloads:
        try:
            fields = source.map_record(payload)
        except Exception as exc:
            out.failures.append(
                FailedRecord(
                    "parse", f"cannot map record: {exc}", raw_payload(payload), {"record": True}
                )
            )
            continue
        try:
            post = clean_record(
                fields,
                pipeline=pipeline.name,
                source=source.config.name,
                author_secret=secret,
                fetched_at=fetched_at,
                keep_authors=pipeline.keep_authors,
                redact=pipeline.redact_pii,
                public_handles=brands,
            )
        except CleanError as exc:
            where = f"record {fields.get('id')!r}: " if fields.get("id") not in (None, "") else ""
            out.failures.append(FailedRecord("clean", f"{where}{exc}", raw_payload(payload)))
            continue
        except Exception as exc:  # a bug in cleaning must not lose the record
            out.failures.append(
                FailedRecord(
                    "clean", f"unexpected {type(exc).__name__}: {exc}", raw_payload(payload)
                )
            )
            continue
        post.run_id = run_id
        post.fields = {"payload": payload, **fields}
        out.posts.append(post)

    if out.posts:
        try:
            analyses = await engine.scorer.analyse(
                [p.text for p in out.posts],
                pipeline.scorer,
                pipeline.aspects,
                langs=[p.lang for p in out.posts],
                by_language=pipeline.scorer_by_language,
            )
        except Exception as exc:
            for post in out.posts:
                out.failures.append(
                    FailedRecord(
                        "score", f"scoring failed: {exc}", raw_payload(post.fields["payload"])
                    )
                )
            out.posts = []
            return out
        for post, analysis in zip(out.posts, analyses, strict=True):
            found = insight_for(post.text, analysis, pipeline, post.rating)
            post.polarity, post.subjectivity, post.label = (
                found.polarity,
                found.subjectivity,
                found.label,
            )
            post.text_label, post.lang = found.text_label, analysis.lang
            post.feedback, post.competitors, post.aspects = (
                found.feedback,
                found.competitors,
                found.aspects,
            )
            out.fields.append(post.fields)
    return out


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
                # Let the pages in hand finish and commit, even when fetching failed.
                if not transformer.done():
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
            stats.status = "cancelled"
            stats.error = "cancelled"
            raise
        except Exception as exc:
            transformer.cancel()
            stats.status = "failed"
            stats.error = f"{type(exc).__name__}: {exc}"
            stats.store_failed = isinstance(exc, StoreError | sqlite3.Error)
            self.log("ERROR", f"run failed: {stats.error}\n{traceback.format_exc(limit=5)}")
        return stats

    @staticmethod
    async def _hand_over(
        queue: asyncio.Queue[Page | None], page: Page | None, transformer: asyncio.Task[None]
    ) -> None:
        """Put a page on the queue, unless the transformer died (then raise its error)."""
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
        stats = self.stats
        committed = 0  # the fetcher runs ahead, so stats.pages is not this page's number
        while (page := await queue.get()) is not None:
            committed += 1
            done = await transform(self.engine, self.source, page.records, stats.run_id)
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
            self.engine.emit(
                RunProgress(
                    run_id=stats.run_id,
                    pipeline=self.pipeline,
                    source=self.name,
                    fetched=stats.fetched,
                    loaded=stats.loaded,
                    duplicates=stats.duplicates,
                    failed=stats.failed,
                    pages=stats.pages,
                )
            )
