"""The command palette (ctrl+p): every action of the console, by name.

Pull, pause, cancel and preview are offered for each configured source, so an
engineer can type "pull reviews" instead of finding the row first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content

if TYPE_CHECKING:
    from sentitui.tui.app import SentiApp

Command = tuple[str, str, Callable[[], object]]


def console_commands(app: SentiApp) -> Iterator[Command]:
    """(name, help, callback) for every action the console offers."""
    from sentitui.tui.widgets.chrome import SCREENS

    for number, (mode, label) in enumerate(SCREENS, start=1):
        yield f"Show {label}", f"switch screen (key {number})", partial(app.action_show, mode)
    yield "Help: list every key", "key ?", app.action_help
    yield "Show the fleet of daemons", "key F", app.action_fleet
    yield "Toggle light/dark theme", "key ctrl+t", app.action_toggle_dark
    yield (
        "Pull all pipelines",
        "manual run of every enabled source",
        partial(app.pull_pipeline, None),
    )
    for config in app.engine.pipelines.values():  # reloaded pipelines included
        yield (
            f"Pull pipeline {config.name}",
            "manual run of its enabled sources",
            partial(app.pull_pipeline, config.name),
        )
    for pipeline, source in app.sources():
        where = f"{pipeline}/{source}"
        yield (
            f"Pull {where}",
            "manual run of one source",
            partial(app.pull_source, pipeline, source),
        )
        yield (
            f"Preview {where}",
            "first page, raw beside the posts it would become",
            partial(app.preview_source, pipeline, source),
        )
        yield (
            f"Pause/resume {where}",
            "paused sources skip their schedule",
            partial(app.toggle_pause, pipeline, source),
        )
        yield f"Cancel {where}", "stop a running pull", partial(app.cancel_pull, pipeline, source)
    yield (
        "Retry every open failed record",
        "re-run them from their raw payloads",
        app.retry_all_open,
    )


class SentiCommands(Provider):
    """Names carry pipeline and source names, which are plain text: a "[/]" in one is
    drawn as written (Textual reads a str prompt, and `highlight`'s input, as markup)."""

    async def discover(self) -> Hits:
        for name, help_text, callback in console_commands(cast("SentiApp", self.app)):
            yield DiscoveryHit(Content(name), callback, text=name, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in console_commands(cast("SentiApp", self.app)):
            score = matcher.match(name)
            if score > 0:
                shown = matcher.highlight(name) if "[" not in name else Content(name)
                yield Hit(score, shown, callback, text=name, help=help_text)
