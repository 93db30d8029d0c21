"""5 Posts: full-text search (the FTS index) with source, label and feedback filters,
a window of matching posts and the selected post's text and scores."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widget import Widget
from textual.widgets import DataTable, Input, Select

from sentitui.store.rows import PostRow
from sentitui.tui.queries import PostFilter, Window, load_posts
from sentitui.tui.screens.base import QueryResult
from sentitui.tui.screens.list_detail import ListDetailScreen
from sentitui.tui.screens.pipelines import short_time
from sentitui.tui.widgets.charts import LABEL_COLOURS
from sentitui.tui.widgets.repaint import update_static
from sentitui.tui.widgets.text import capped, cell, fmt, safe

PAGE = 100
LABELS = ("positive", "neutral", "negative")
FEEDBACK = ("praise", "complaint", "suggestion", "comparison", "question", "other")


def stored_json(value: Any, default: Any) -> Any:
    """A JSON column as stored; its own text when it is not valid JSON (shown as such)."""
    if value is None or value == "":
        return default
    try:
        return json.loads(value)
    except (TypeError, ValueError, RecursionError):
        return value


def post_detail(row: PostRow) -> Text:
    """The detail pane's text for one stored post; every value as stored, checked."""
    text = Text()
    text.append(capped(row.text) + "\n\n")
    label = safe(row.label)
    text.append(f"{label} ", style=f"bold {LABEL_COLOURS.get(label, '')}")
    text.append(
        f"polarity {fmt(row.polarity or 0, '+.3f')}  subjectivity "
        f"{fmt(row.subjectivity or 0, '.2f')}  ·  {safe(row.feedback)}"
    )
    competitors = stored_json(row.competitors, [])
    if isinstance(competitors, list) and competitors:
        text.append(f"  ·  vs {capped(', '.join(map(str, competitors)), 500)}")
    elif not isinstance(competitors, list):
        text.append(f"  ·  vs {capped(row.competitors, 500)} (not a JSON list)")
    if row.rating is not None:
        text.append(f"  ·  rating {fmt(row.rating, 'g')}")
    segments = stored_json(row.segments, {})
    details = [
        f"{row.pipeline}/{row.source} #{row.external_id}",
        f"created {row.created_at or '—'}  fetched {row.fetched_at}",
    ]
    if isinstance(segments, dict) and segments:
        details.append("  ".join(f"{k}={v}" for k, v in segments.items()))
    elif not isinstance(segments, dict):
        details.append(f"segments {capped(row.segments, 500)} (not a JSON object)")
    if row.lang:
        details.append(f"lang {row.lang}")
    if row.url:
        details.append(str(row.url))
    text.append("\n" + capped("\n".join(details)), style="dim")
    return text


class PostsLoaded(QueryResult[Window[PostRow]]):
    """One page of posts, read in a worker."""


class PostsScreen(ListDetailScreen[PostRow]):
    MODE = "posts"
    SOURCE_FILTER = "posts-source"
    AUTO_FOCUS = "#posts-table"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "search", "Search"),
        Binding("left_square_bracket", "page(-1)", "Prev page"),
        Binding("right_square_bracket", "page(1)", "Next page"),
    ]
    PAGE = PAGE
    NAME = "posts"
    DETAIL = "#post-detail"
    COLUMNS = [
        ("Created", "created"),
        ("Source", "source"),
        ("Label", "label"),
        ("Pol.", "polarity"),
        ("Feedback", "feedback"),
        ("Text", "text"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.filters = PostFilter()
        self.rows: dict[str, PostRow] = {}
        self.shown_key: str | None = None  # the post the detail pane shows

    def compose_filters(self) -> Iterable[Widget]:
        yield Input(placeholder="/ search posts", compact=True, id="posts-search")
        yield self.source_filter()
        yield Select([(s, s) for s in LABELS], prompt="any label", compact=True, id="posts-label")
        yield Select(
            [(s, s) for s in FEEDBACK], prompt="any feedback", compact=True, id="posts-feedback"
        )

    def on_mount(self) -> None:
        self.query_one("#post-detail").border_title = "Post"

    def reload(self) -> None:
        filters, offset = PostFilter(self.filters.query, **self.filters.kwargs()), self.row_offset
        self.fetch(PostsLoaded, lambda store: load_posts(store, filters, PAGE, offset))

    def on_posts_loaded(self, message: PostsLoaded) -> None:
        self.draw_result(self.show_posts, message)

    def show_posts(self, window: Window[PostRow]) -> None:
        self.rows = {str(row.id): row for row in window.rows}
        self.show_window(window)
        self.draw_detail()

    def cells(self, row: PostRow) -> list[Any]:
        return [
            Text(short_time(row.created_at)),
            cell(row.source, 20),
            cell(row.label or "", 10, LABEL_COLOURS.get(str(row.label), "")),
            Text(fmt(row.polarity or 0, "+.2f"), justify="right"),
            cell(row.feedback or "", 12),
            cell(row.text, 300),
        ]

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.draw_detail()

    def draw_detail(self) -> None:
        key = self.selected_key()
        row = self.rows.get(key) if key else None
        if key != self.shown_key:  # another post starts at its top
            self.shown_key = key
            self.detail_pane.scroll_home(animate=False)
        target = self.detail
        if row is None:
            update_static(target, Text("no post selected", style="dim"))
            return
        try:
            update_static(target, post_detail(row))
        except Exception as exc:  # a stored value no formatter foresaw: say so, go on
            problem = f"cannot draw this post: {type(exc).__name__}: {safe(exc)}"
            update_static(target, Text(problem, style="red"))

    def on_select_changed(self, event: Select.Changed) -> None:
        value = None if event.value is Select.NULL else str(event.value)
        field = {
            "posts-source": "source",
            "posts-label": "label",
            "posts-feedback": "feedback",
        }.get(event.select.id or "")
        if field:
            setattr(self.filters, field, value)
            self.filters_changed()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.filters.query = event.value.strip() or None
        self.filters_changed()
