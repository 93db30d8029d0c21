"""The one writer: a single thread owns the SQLite connection and commits in batches.

Runners hand it PageWrites and await the result; whatever has queued up while the
previous commit ran goes into the next transaction, so many small pages cost one
fsync instead of many, and the event loop never waits on SQLite.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from sentitui.store import PageWrite, Store
from sentitui.store.backend import db_target

T = TypeVar("T")
MAX_BATCH = 64


class StoreThread:
    """One thread with its own Store connection; `call(fn, *args)` runs `fn(store, *args)`
    there, so SQLite never blocks the event loop. An attached console reads through one;
    the engine's Writer is one that also commits pages."""

    def __init__(self, db_path: str | Path, name: str = "sentitui-store") -> None:
        self.db_path = db_target(db_path)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._store: Store | None = None

    async def start(self) -> None:
        self._store = await asyncio.get_running_loop().run_in_executor(
            self._executor, Store, self.db_path
        )

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(store, *args)` on this thread (for a Writer: reads see its writes)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(self._store, *args))

    async def close(self) -> None:
        if self._store is not None:
            store = self._store
            await asyncio.get_running_loop().run_in_executor(self._executor, store.close)
            self._store = None
        self._executor.shutdown(wait=True)


class Writer(StoreThread):
    def __init__(self, db_path: str | Path) -> None:
        super().__init__(db_path, name="sentitui-writer")
        self._queue: (
            asyncio.Queue[tuple[PageWrite, asyncio.Future[tuple[int, int]]] | None] | None
        ) = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            self._store = await loop.run_in_executor(self._executor, Store, self.db_path)
            await loop.run_in_executor(self._executor, self._store.check_writable)
        except BaseException:  # a read-only or unusable file: fail before any run starts
            if self._store is not None:
                await loop.run_in_executor(self._executor, self._store.close)
                self._store = None
            self._executor.shutdown(wait=False)
            raise
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._commit_loop(), name="sentitui-writer")

    async def write(self, page: PageWrite) -> tuple[int, int]:
        """Queue a page for commit; returns (loaded, duplicates) once it is durable."""
        assert self._queue is not None, "Writer.start() was not awaited"
        future: asyncio.Future[tuple[int, int]] = asyncio.get_running_loop().create_future()
        await self._queue.put((page, future))
        return await future

    async def _commit_loop(self) -> None:
        assert self._queue is not None and self._store is not None  # start() set them
        store = self._store
        loop = asyncio.get_running_loop()
        stopping = False
        while not stopping:
            batch = []
            item = await self._queue.get()
            while True:
                if item is None:  # close() asked us to stop once the queue is drained
                    stopping = True
                elif not item[1].cancelled():  # its run was dropped before it committed
                    batch.append(item)
                if self._queue.empty() or len(batch) >= MAX_BATCH:
                    break
                item = self._queue.get_nowait()
            if not batch:
                continue
            pages = [page for page, _ in batch]
            try:
                results = await loop.run_in_executor(self._executor, store.write_pages, pages)
            except Exception as exc:  # a bad batch must not take the writer down
                if len(batch) == 1:
                    _settle(batch[0][1], error=exc)
                    continue
                # Commit one by one so only the page at fault fails.
                for page, future in batch:
                    try:
                        alone = await loop.run_in_executor(
                            self._executor, store.write_pages, [page]
                        )
                        _settle(future, alone[0])
                    except Exception as single:
                        _settle(future, error=single)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                _settle(future, result)

    async def close(self) -> None:
        if self._task is not None and self._queue is not None:
            await self._queue.put(None)  # queued pages commit first
            await self._task
            self._task = None
        await super().close()


def _settle(
    future: asyncio.Future[tuple[int, int]],
    result: tuple[int, int] = (0, 0),
    error: BaseException | None = None,
) -> None:
    """Give a page's writer its outcome, unless it stopped waiting (its run dropped)."""
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
