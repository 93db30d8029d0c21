"""Preview (v on the Pipelines screen): the first page of a source, each raw record
beside the post it would become, and the records that would fail with why.
Nothing is written: this is how a new source's mapping gets checked."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from sentitui.models import Post
from sentitui.tui.queries import with_store
from sentitui.tui.widgets.text import render_payload, safe

if TYPE_CHECKING:
    from sentitui.engine.surface import Preview
    from sentitui.tui.app import SentiApp

RAW_LIMIT = 3_000  # characters of one raw record shown; the rest is cut


def raw_json(payload: Any) -> str:
    try:
        text = json.dumps(payload, indent=2, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(payload)
    return text if len(text) <= RAW_LIMIT else text[:RAW_LIMIT] + "\n…"


def post_text(post: Post) -> Text:
    text = Text()
    text.append(f"{post.external_id}\n", style="bold")
    text.append(safe(post.text) + "\n")
    text.append(f"{post.label} {post.polarity:+.2f}", style="bold")
    text.append(f" · subjectivity {post.subjectivity:.2f} · {post.feedback}")
    if post.competitors:
        text.append(" · vs " + safe(", ".join(post.competitors)))
    details = [f"created {post.created_at or '—'}"]
    if post.rating is not None:
        details.append(f"rating {post.rating:g}")
    if post.lang:
        details.append(f"lang {post.lang}")
    if post.segments:
        details.append(" ".join(f"{k}={v}" for k, v in post.segments.items()))
    text.append("\n" + safe(" · ".join(details)), style="dim")
    return text


NOTHING_NEW = (
    "Nothing new: a preview starts where the next run would, from the cursor "
    "the last run left (since_id, file offset, page ETags), and there is nothing "
    "after it yet."
)
NOTHING_AT_ALL = "The source gave no records: check its url or path, `records` and the log (4)."


def render_preview(preview: Preview, dark: bool, has_cursor: bool = False) -> RenderableType:
    result = preview.result
    summary = Text()
    summary.append(safe(preview.url or "(no page)"), style="bold")
    summary.append(
        f"\n{len(preview.raw)} raw records → {len(result.posts)} posts, "
        f"{len(result.failures)} would fail. Nothing was written.\n"
    )
    if not preview.raw and not result.failures:
        summary.append(NOTHING_NEW if has_cursor else NOTHING_AT_ALL, style="yellow")
        summary.append("\n")
    parts: list[RenderableType] = [summary]
    if result.posts:
        table = Table(
            "raw record", "post it would become", expand=True, show_lines=True, header_style="bold"
        )
        for post in result.posts:
            raw = raw_json(post.fields.get("payload"))
            table.add_row(render_payload(raw, dark=dark), post_text(post))
        parts.append(table)
    for failure in result.failures:
        head = Text()
        head.append(f"\nwould fail at {failure.stage}: ", style="bold red")
        head.append(safe(failure.error), style="red")
        parts.append(head)
        payload = (
            failure.payload if len(failure.payload) <= RAW_LIMIT else failure.payload[:RAW_LIMIT]
        )
        parts.append(render_payload(payload, dark=dark))
    return Group(*parts)


class PreviewScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "close", "Close")]

    def __init__(self, pipeline: str, source: str) -> None:
        super().__init__()
        self.pipeline = pipeline
        self.source = source

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="preview", classes="dialog"):
            yield Static(Text("fetching the first page…", style="dim"), id="preview-body")

    def on_mount(self) -> None:
        dialog = self.query_one("#preview")
        dialog.border_title = Text(f"Preview {self.pipeline}/{self.source}")
        dialog.border_subtitle = "esc closes"
        self.run_worker(self.load(), exit_on_error=False)

    async def load(self) -> None:
        app = cast("SentiApp", self.app)
        body = self.query_one("#preview-body", Static)
        try:
            preview = await app.engine.preview(self.pipeline, self.source)
        except Exception as exc:
            body.update(Text(f"preview failed: {safe(exc)}", style="red"))
            return
        has_cursor = False
        if not preview.raw:  # why there is nothing to show
            try:
                has_cursor = bool(
                    await asyncio.to_thread(
                        with_store,
                        app.db_path,
                        lambda store: store.cursor(self.pipeline, self.source),
                    )
                )
            except Exception:  # the explanation is a nicety; the preview stands without it
                pass
        body.update(render_preview(preview, app.current_theme.dark, has_cursor))

    def action_close(self) -> None:
        self.dismiss()
