"""Messages between the app and its screens."""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.message import Message

from sentitui.models import LogLine, RunStats

Key = tuple[str, str]  # (pipeline, source)


@dataclass(slots=True)
class EngineBatch:
    """The engine events since the last flush, summarised for the screens."""

    logs: list[LogLine] = field(default_factory=list)
    sources: set[Key] = field(default_factory=set)  # whose state or progress changed
    finished: list[RunStats] = field(default_factory=list)
    data_changed: bool = False  # posts or failed records were written
    config_changed: bool = False  # hot reload added, removed or changed sources


class EngineUpdate(Message):
    """Sent to the screen on top after each flush that had events."""

    def __init__(self, batch: EngineBatch) -> None:
        super().__init__()
        self.batch = batch


class QueryFailed(Message):
    def __init__(self, group: str, error: str) -> None:
        super().__init__()
        self.group = group
        self.error = error
