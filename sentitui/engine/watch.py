"""Continuous mode: schedules, hot reload, drop folders, streams and alerts.

`Continuous(engine, pipelines_dir)` is what `sentitui run --watch` and a console
in continuous mode share. Watching uses watchfiles (OS notifications, polling as
a fallback); a change takes effect well within a second. Its blocking `watch` runs
on a thread of its own per folder (`watch_changes`): its `awatch` would import
anyio's asyncio backend, 40-80 ms of the console's start on the event loop.

Hot reload rule: a file that fails to load keeps its previous pipeline running,
and every problem is reported as `file:line: …` (an ERROR LogLine, the log, and a
ConfigInvalid event; config/locate.py finds the line), so a typo in an editor never
stops ingestion.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from watchfiles import Change, DefaultFilter, watch
from watchfiles.main import FileChange

from sentitui.config import ConfigError, PipelineConfig, load_pipeline_file
from sentitui.config.locate import locate as locate  # where it lived before config/locate.py
from sentitui.config.locate import places
from sentitui.engine.alerts import AlertWatcher
from sentitui.engine.streaming import StreamKeeper
from sentitui.models import ConfigInvalid, ConfigReloaded, EngineEvent
from sentitui.sources import is_streaming

if TYPE_CHECKING:
    from sentitui.engine.engine import Engine

Select = Callable[[PipelineConfig], PipelineConfig | None]
DEBOUNCE_MS = 150  # group an editor's burst of writes into one reload
STEP_MS = 50
NOT_NOISE = DefaultFilter()  # watchfiles' default: skips editors' swap files, .git, caches


async def watch_changes(
    *paths: Path,
    stop: threading.Event,
    watch_filter: Callable[[Change, str], bool] | None = NOT_NOISE,
    recursive: bool = True,
) -> AsyncIterator[set[FileChange]]:
    """watchfiles' `watch` on a daemon thread, its batches of changes handed to the loop.

    Ends when `stop` is set (within STEP_MS) or the watch fails (the error is raised
    here); leaving the loop early sets `stop`, so the thread never outlives it."""
    loop = asyncio.get_running_loop()
    batches: asyncio.Queue[set[FileChange] | BaseException | None] = asyncio.Queue()

    def hand(item: set[FileChange] | BaseException | None) -> None:
        try:
            loop.call_soon_threadsafe(batches.put_nowait, item)
        except RuntimeError:  # the loop has closed: nobody is listening any more
            pass

    def run() -> None:
        try:
            for changes in watch(
                *paths,
                watch_filter=watch_filter,
                debounce=DEBOUNCE_MS,
                step=STEP_MS,
                stop_event=stop,
                raise_interrupt=False,
                recursive=recursive,
            ):
                hand(changes)
        except OSError as exc:  # watchfiles does not say which folder ("No path was found.")
            hand(type(exc)(f"cannot watch {', '.join(map(str, paths))}: {exc}"))
        except BaseException as exc:  # raised where the watcher awaits, which reports it
            hand(exc)
        else:
            hand(None)

    threading.Thread(target=run, name="sentitui-watch", daemon=True).start()
    try:
        while (item := await batches.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()


# ---- the pipelines folder ---------------------------------------------------------------


class PipelineWatcher:
    """Reloads the engine's pipelines whenever a `*.toml` in the folder changes."""

    def __init__(self, engine: Engine, directory: Path, select: Select | None = None) -> None:
        self.engine = engine
        self.directory = Path(directory)
        self.select = select or (lambda pipeline: pipeline)
        self.by_path = {p.path.resolve(): p for p in engine.pipelines.values()}
        self._reported: dict[Path, list[str]] = {}
        self._stop = threading.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._stop.clear()
        self._task = asyncio.create_task(self._watch(), name="watch pipelines")

    async def stop(self) -> None:
        self._stop.set()  # the watching thread notices within STEP_MS
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _watch(self) -> None:
        async for _ in watch_changes(
            self.directory,
            stop=self._stop,
            watch_filter=lambda _, path: path.endswith(".toml"),
            recursive=False,
        ):
            try:
                await self.reload_now()
            except Exception as exc:  # never let one bad reload end the watching
                self.engine.log("ERROR", f"reloading {self.directory} failed: {exc}")

    async def reload_now(self) -> ConfigReloaded:
        """Load every file again; a file that fails keeps what it had loaded before."""
        loaded: dict[Path, PipelineConfig] = {}
        names: dict[str, Path] = {}
        for path in sorted(self.directory.glob("*.toml")):
            path = path.resolve()
            try:
                pipeline = await asyncio.to_thread(load_pipeline_file, path)
                if pipeline.name in names:
                    duplicate = (
                        f"{path} [pipeline]: key 'name': duplicate pipeline name "
                        f"{pipeline.name!r} (also in {names[pipeline.name]})"
                    )
                    raise ConfigError([duplicate], places([duplicate], path))
            except ConfigError as exc:
                self._report(path, exc.located)
                if path in self.by_path:
                    loaded[path] = self.by_path[path]  # keep the last good version running
                    names.setdefault(self.by_path[path].name, path)
                continue
            if self._reported.pop(path, None) is not None:
                self.engine.log("INFO", f"{path}: loads again")
            names[pipeline.name] = path
            loaded[path] = pipeline
        for path in (
            set(self._reported) - set(loaded) - {p.resolve() for p in self.directory.glob("*.toml")}
        ):
            del self._reported[path]  # a broken file that was deleted
        self.by_path = loaded
        selected = [s for p in loaded.values() if (s := self.select(p)) is not None]
        return await self.engine.reload(selected)

    def _report(self, path: Path, located: list[str]) -> None:
        if self._reported.get(path) == located:
            return  # already said; do not repeat on every unrelated change
        self._reported[path] = located
        kept = " (the previous version keeps running)" if path in self.by_path else ""
        for problem in located:
            self.engine.log("ERROR", f"config error{kept}: {problem}")
        self.engine.emit(ConfigInvalid(path=str(path), problems=located))


# ---- drop folders -----------------------------------------------------------------------


class DropWatcher:
    """Pulls each `file` source with `watch = true` when something lands in its folder
    (and once at start, for what landed while nothing was watching)."""

    SETTLE = 1.2  # seconds: pull again when a last line was left waiting for its newline

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._watchers: dict[tuple[str, str], tuple[threading.Event, asyncio.Task[None]]] = {}
        self._pulls: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._dirty: set[tuple[str, str]] = set()
        self._unsubscribe: Callable[[], None] | None = None

    async def start(self) -> None:
        self._unsubscribe = self.engine.subscribe(self._on_event)
        self.refresh()

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        tasks = []
        for stop, task in self._watchers.values():
            stop.set()
            tasks.append(task)
        for task in self._pulls.values():
            task.cancel()
            tasks.append(task)
        self._watchers.clear()
        self._pulls.clear()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _on_event(self, event: EngineEvent) -> None:
        if isinstance(event, ConfigReloaded):
            for key in event.removed + event.changed:
                if key in self._watchers:
                    stop, _ = self._watchers.pop(key)
                    stop.set()
            self.refresh()

    def watched(self) -> list[tuple[str, str]]:
        return [
            (p.name, s.name)
            for p in self.engine.pipelines.values()
            for s in p.sources
            if s.kind == "file" and s.get("watch") and s.enabled
        ]

    def refresh(self) -> None:
        """Start a watcher for every drop-folder source that has none."""
        for key in self.watched():
            if key not in self._watchers:
                stop = threading.Event()
                task = asyncio.create_task(self._watch(key, stop), name=f"drops {key[0]}/{key[1]}")
                self._watchers[key] = (stop, task)

    async def _watch(self, key: tuple[str, str], stop: threading.Event) -> None:
        source = self.engine.make_source(*key)
        folders = [f for f in source.watch_dirs() if f.is_dir()]  # type: ignore[attr-defined]
        if not folders:
            self.engine.log(
                "WARNING",
                f"drop folder {source.watch_dirs()[0]} does not exist; "  # type: ignore[attr-defined]
                "not watching it",
                *key,
            )
            return
        self.engine.log("INFO", f"watching {', '.join(map(str, folders))} for drops", *key)
        self.pull(key)
        async for changes in watch_changes(*folders, stop=stop):
            if any(
                change != Change.deleted and source.matches(path)  # type: ignore[attr-defined]
                for change, path in changes
            ):
                self.pull(key)

    def pull(self, key: tuple[str, str]) -> None:
        """Run the source now; if it is running already, run it again once it ends."""
        self._dirty.add(key)
        if key not in self._pulls or self._pulls[key].done():
            self._pulls[key] = asyncio.create_task(self._pull(key), name=f"drop pull {key}")

    async def _pull(self, key: tuple[str, str]) -> None:
        settled = False
        while key in self._dirty:
            self._dirty.discard(key)
            if key[0] not in self.engine.pipelines or self.engine.state(*key).paused:
                return
            joined = self.engine.is_running(*key)  # it may have listed the folder before the drop
            try:
                await self.engine.run_source(*key, "watch")
                source = self.engine.make_source(*key)
                cursor = await self.engine.writer.call(lambda store: store.cursor(*key))
                waiting = await asyncio.to_thread(source.pending, cursor)  # type: ignore[attr-defined]
            except Exception as exc:
                self.engine.log("ERROR", f"drop-folder pull failed: {exc}", *key)
                return
            if joined:
                self._dirty.add(key)
            elif waiting and not settled and key not in self._dirty:
                # A last line without its newline: read it once the file has been quiet.
                await asyncio.sleep(self.SETTLE)
                settled = True
                self._dirty.add(key)


# ---- both, with the schedules -----------------------------------------------------------


class Continuous:
    """Schedules + hot reload + drop folders for one engine, started and stopped together."""

    def __init__(
        self,
        engine: Engine,
        pipelines_dir: Path | None,
        select: Select | None = None,
        *,
        first_delay: float = 1.0,
        schedules: bool = True,
    ) -> None:
        self.engine = engine
        self.first_delay = first_delay
        self.schedules = schedules
        self.pipelines = (
            PipelineWatcher(engine, Path(pipelines_dir), select)
            if pipelines_dir is not None
            else None
        )
        self.drops = DropWatcher(engine)
        self.streams = StreamKeeper(engine, is_streaming)
        self.alerts = AlertWatcher(engine)

    async def start(self) -> None:
        if self.schedules:
            self.engine.start_schedules(first_delay=self.first_delay)
        if self.pipelines is not None:
            await self.pipelines.start()
        await self.drops.start()
        await self.streams.start()
        await self.alerts.start()

    async def stop(self) -> None:
        if self.pipelines is not None:
            await self.pipelines.stop()
        await self.drops.stop()
        await self.streams.stop()
        await self.alerts.stop()
        await self.engine.stop_schedules()
