"""5 Posts: full-text search (the FTS index) with source, label and feedback filters,
a window of matching posts and the selected post's text and scores."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widget import Widget
from textual.widgets import DataTable, Input, Select, Static

from sentitui.tui.queries import PostFilter, Window, load_posts
from sentitui.tui.screens.base import SentiScreen
from sentitui.tui.screens.pipelines import short_time
from sentitui.tui.widgets.charts import LABEL_COLOURS
from sentitui.tui.widgets.table import RowTable, selected_key, sync_table
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


def post_detail(row: dict[str, Any]) -> Text:
    """The detail pane's text for one stored post; every value as stored, checked."""
    text = Text()
    text.append(capped(row["text"]) + "\n\n")
    label = safe(row["label"])
    text.append(f"{label} ", style=f"bold {LABEL_COLOURS.get(label, '')}")
    text.append(
        f"polarity {fmt(row['polarity'] or 0, '+.3f')}  subjectivity "
        f"{fmt(row['subjectivity'] or 0, '.2f')}  ·  {safe(row['feedback'])}"
    )
    competitors = stored_json(row["competitors"], [])
    if isinstance(competitors, list) and competitors:
        text.append(f"  ·  vs {capped(', '.join(map(str, competitors)), 500)}")
    elif not isinstance(competitors, list):
        text.append(f"  ·  vs {capped(row['competitors'], 500)} (not a JSON list)")
    if row["rating"] is not None:
        text.append(f"  ·  rating {fmt(row['rating'], 'g')}")
    segments = stored_json(row["segments"], {})
    details = [
        f"{row['pipeline']}/{row['source']} #{row['external_id']}",
        f"created {row['created_at'] or '—'}  fetched {row['fetched_at']}",
    ]
    if isinstance(segments, dict) and segments:
        details.append("  ".join(f"{k}={v}" for k, v in segments.items()))
    elif not isinstance(segments, dict):
        details.append(f"segments {capped(row['segments'], 500)} (not a JSON object)")
    if row["lang"]:
        details.append(f"lang {row['lang']}")
    if row["url"]:
        details.append(str(row["url"]))
    text.append("\n" + capped("\n".join(details)), style="dim")
    return text


class PostsScreen(SentiScreen):
    MODE = "posts"
    DETAIL = "#post-detail"
    SOURCE_FILTER = "posts-source"
    AUTO_FOCUS = "#posts-table"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "search", "Search"),
        Binding("left_square_bracket", "page(-1)", "Prev page"),
        Binding("right_square_bracket", "page(1)", "Next page"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.filters = PostFilter()
        self.row_offset = 0
        self.total = 0
        self.rows: dict[str, dict[str, Any]] = {}
        self.shown_key: str | None = None  # the post the detail pane shows

    def compose_body(self) -> Iterable[Widget]:
        with Horizontal(classes="filters"):
            yield Input(placeholder="/ search posts", compact=True, id="posts-search")
            yield self.source_filter()
            yield Select(
                [(s, s) for s in LABELS], prompt="any label", compact=True, id="posts-label"
            )
            yield Select(
                [(s, s) for s in FEEDBACK], prompt="any feedback", compact=True, id="posts-feedback"
            )
            yield Static(id="posts-count", classes="count")
        with Horizontal(classes="split"):
            table: DataTable[Any] = RowTable(
                id="posts-table", cursor_type="row", zebra_stripes=True
            )
            table.add_column("Created", key="created")
            table.add_column("Source", key="source")
            table.add_column("Label", key="label")
            table.add_column("Pol.", key="polarity")
            table.add_column("Feedback", key="feedback")
            table.add_column("Text", key="text")
            yield table
            with VerticalScroll(id="post-detail", classes="detail", can_maximize=True):
                yield Static(id="post-detail-text")

    def on_mount(self) -> None:
        self.query_one("#post-detail").border_title = "Post"

    def reload(self) -> None:
        filters, offset = PostFilter(self.filters.query, **self.filters.kwargs()), self.row_offset
        self.fetch("posts", lambda store: load_posts(store, filters, PAGE, offset))

    def show_posts(self, window: Window) -> None:
        self.total = window.total
        first = window.offset + 1 if window.rows else 0
        self.query_one("#posts-count", Static).update(
            Text(f"{first}-{window.offset + len(window.rows)} of {window.total:,}", style="dim")
        )
        self.rows = {str(row["id"]): row for row in window.rows}
        sync_table(
            self.query_one("#posts-table", DataTable),
            [
                (
                    str(row["id"]),
                    [
                        Text(short_time(row["created_at"])),
                        cell(row["source"], 20),
                        cell(row["label"] or "", 10, LABEL_COLOURS.get(str(row["label"]), "")),
                        Text(fmt(row["polarity"] or 0, "+.2f"), justify="right"),
                        cell(row["feedback"] or "", 12),
                        cell(row["text"], 300),
                    ],
                )
                for row in window.rows
            ],
        )
        self.draw_detail()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.draw_detail()

    def draw_detail(self) -> None:
        key = selected_key(self.query_one("#posts-table", DataTable))
        row = self.rows.get(key) if key else None
        if key != self.shown_key:  # another post starts at its top
            self.shown_key = key
            self.query_one("#post-detail", VerticalScroll).scroll_home(animate=False)
        target = self.query_one("#post-detail-text", Static)
        if row is None:
            target.update(Text("no post selected", style="dim"))
            return
        try:
            target.update(post_detail(row))
        except Exception as exc:  # a stored value no formatter foresaw: say so, go on
            problem = f"cannot draw this post: {type(exc).__name__}: {safe(exc)}"
            target.update(Text(problem, style="red"))

    def on_select_changed(self, event: Select.Changed) -> None:
        value = None if event.value is Select.NULL else str(event.value)
        field = {
            "posts-source": "source",
            "posts-label": "label",
            "posts-feedback": "feedback",
        }.get(event.select.id or "")
        if field:
            setattr(self.filters, field, value)
            self.row_offset = 0
            self.reload()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.filters.query = event.value.strip() or None
        self.row_offset = 0
        self.reload()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one("#posts-table").focus()

    def action_search(self) -> None:
        self.query_one("#posts-search").focus()

    def action_page(self, step: int) -> None:
        offset = self.row_offset + step * PAGE
        if 0 <= offset < max(self.total, 1):
            self.row_offset = offset
            self.reload()
