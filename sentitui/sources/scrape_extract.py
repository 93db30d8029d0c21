"""HTML page -> review records and links: the CPU half of the `scrape` source.

Everything here is a pure function of (bytes, headers, URL, fetch time, config), so
the crawler runs it off the event loop when it may take long (scrape.py `_extract`), and `failed retry` can
run it again on a stored page after someone fixes a selector.

Three ways to find posts on a page (`extract`):
- "selectors": `item` selects each review; `fields` map post fields to CSS with the
  Scrapy/parsel conventions (`::text`, `::attr(name)`); a selector without either
  means the element's whole visible text.
- "auto": schema.org `Review`s (and the `AggregateRating` beside them) from JSON-LD,
  microdata and RDFa, via extruct; a well-marked page needs no selectors.
- "article": the page is one blog post; its main text, without navigation, sidebar,
  header, footer or comments, becomes one post.
In every mode `comments = "css"` makes each matching element a post of its own.

This module holds the configuration, decoding, the page and the record builder;
css_fields.py reads one field by CSS, article.py and schema_org.py are the two
modes that need no selectors.

A record is a plain dict of what was extracted (raw date and rating kept beside the
resolved ones), so a failed record's payload shows exactly what the page said.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args
from urllib.parse import urldefrag, urljoin, urlsplit

from parsel import Selector

from sentitui.processing.clean import element_text, rating_value
from sentitui.processing.dates import parse_page_date
from sentitui.sources.article import article_records
from sentitui.sources.css_fields import (
    css_matches,
    first_match,
    select_first,
    select_value,
    stable_id,
)
from sentitui.sources.schema_org import schema_org_records

Mode = Literal["selectors", "auto", "article"]
MODES: tuple[Mode, ...] = get_args(Mode)
POST_FIELDS = ("id", "text", "author", "created_at", "url", "lang", "rating")


# ---- configuration -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExtractConfig:
    """The extraction half of a scrape source's options, checked and normalised."""

    mode: str = "selectors"
    item: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    segments: dict[str, str] = field(default_factory=dict)
    comments: str | None = None
    comment_fields: dict[str, str] = field(default_factory=dict)
    follow: tuple[str, ...] = ()
    next_page: tuple[str, ...] = ()
    timezone: str = "UTC"
    languages: tuple[str, ...] | None = None
    date_order: str | None = None
    rating_scale: float | None = None

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> ExtractConfig:
        def css_list(value: Any) -> tuple[str, ...]:
            if not value:
                return ()
            return (value,) if isinstance(value, str) else tuple(value)

        fields = dict(options.get("fields") or {})
        segments = fields.pop("segments", None) or {}
        if "date" in fields and "created_at" not in fields:
            fields["created_at"] = fields.pop("date")
        languages = options.get("languages")
        return cls(
            mode=options.get("extract") or ("article" if options.get("article") else "selectors"),
            item=options.get("item"),
            fields=fields,
            segments=dict(segments),
            comments=options.get("comments"),
            comment_fields=dict(options.get("comment_fields") or {}),
            follow=css_list(options.get("follow")),
            next_page=css_list(options.get("next_page")),
            timezone=options.get("timezone") or "UTC",
            languages=tuple(languages) if languages else None,
            date_order=options.get("date_order"),
            rating_scale=float(options["rating_scale"]) if options.get("rating_scale") else None,
        )


def css_problem(css: str) -> str | None:
    """Why a CSS selector (with parsel's ::text / ::attr()) is invalid, or None."""
    from cssselect import SelectorError
    from parsel.csstranslator import HTMLTranslator

    try:
        HTMLTranslator().css_to_xpath(css)
    except (SelectorError, ValueError, TypeError) as exc:
        return f"invalid CSS selector {css!r}: {exc}"
    return None


# ---- decoding ------------------------------------------------------------------------------


def _detect(body: bytes) -> str | None:
    from charset_normalizer import from_bytes

    best = from_bytes(body[:200_000]).best()
    return best.encoding if best is not None else None


def decode_html(body: bytes, content_type: str | None) -> tuple[str, str]:
    """Bytes -> (text, encoding): the HTTP charset, then `<meta charset>`, then detection.

    A BOM wins over all of them (as in browsers). An HTTP charset the bytes are not
    valid in is ignored, since servers often declare UTF-8 for whatever they send.
    """
    from w3lib.encoding import html_to_unicode, http_content_type_encoding

    declared = http_content_type_encoding(content_type) if content_type else None
    if declared:
        try:
            body.decode(declared)
        except (UnicodeDecodeError, LookupError):
            content_type = None
    encoding, text = html_to_unicode(
        content_type, body, default_encoding="utf-8", auto_detect_fun=_detect
    )
    return text, encoding


# ---- the page -------------------------------------------------------------------------------


@dataclass(slots=True)
class Extracted:
    url: str  # the page's identity: its canonical URL when that is on the same site
    html: str
    encoding: str
    records: list[dict[str, Any]] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    canonical: str | None = None
    items: int = 0  # items the item selector (or schema.org markup) found, before dedupe
    notes: list[str] = field(default_factory=list)  # lines for the source's log
    # schema.org AggregateRatings: {"item": name, "value": 4.6, "count": 13}
    aggregates: list[dict[str, Any]] = field(default_factory=list)


# Characters lxml refuses in any string it is handed (an attribute name with \x01 in
# it fails every lookup on the page); no HTML means them, so they are dropped.
_NOT_XML = re.compile("[\x01-\x08\x0b\x0e-\x1f\ufffe\uffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def html_selector(html: str, url: str) -> Selector:
    """A parsel Selector over a page, always as HTML: parsel would read a body that
    looks like JSON as JSON, and then refuse every CSS selector on it."""
    html = _SURROGATE.sub("\ufffd", _NOT_XML.sub("", html))
    return Selector(text=html or "<html></html>", type="html", base_url=url)


def _same_site(a: str, b: str) -> bool:
    return (urlsplit(a).hostname or "") == (urlsplit(b).hostname or "")


def extract_page(
    body: bytes | str,
    *,
    url: str,
    content_type: str | None,
    fetched_at: datetime,
    config: ExtractConfig,
) -> Extracted:
    """Decode and parse one page; find its records, its links and its canonical URL."""
    if isinstance(body, bytes):
        html, encoding = decode_html(body, content_type)
    else:
        html, encoding = body, "utf-8"
    sel = html_selector(html, url)
    base = first_match(sel, "base::attr(href)")
    base_url = urljoin(url, base.strip()) if base else url

    canonical = first_match(sel, 'link[rel~="canonical"]::attr(href)')
    canonical = urldefrag(urljoin(base_url, canonical.strip()))[0] if canonical else None
    identity = canonical if canonical and _same_site(canonical, url) else urldefrag(url)[0]
    page = Extracted(url=identity, html=html, encoding=encoding, canonical=canonical)

    builder = _RecordBuilder(
        config, identity, fetched_at, (first_match(sel, "html::attr(lang)") or "").strip() or None
    )
    if config.mode == "auto":
        records = list(schema_org_records(sel, html, identity, builder, page))
    elif config.mode == "article":
        records = list(article_records(sel, builder, config))
    else:
        records = (
            [
                builder.build(item, config.fields, config.segments, kind="review")
                for item in sel.css(config.item or "")
            ]
            if config.item
            else []
        )
    page.items = len(records)
    if config.comments:
        parent = records[0]["id"] if config.mode == "article" and records else None
        for comment in sel.css(config.comments):
            records.append(builder.comment(comment, config, parent))

    seen: set[str] = set()
    for record in records:  # the same review marked up twice on one page is one review
        if record["id"] not in seen:
            seen.add(record["id"])
            page.records.append(record)
    if len(page.records) < len(records):
        page.notes.append(
            f"{len(records) - len(page.records)} repeated item(s) on {identity} counted once"
        )

    links: list[str] = []
    for css in config.follow + config.next_page:
        for href in _hrefs(sel, css):
            absolute = urldefrag(urljoin(base_url, href.strip()))[0]
            if absolute.startswith(("http://", "https://")):
                links.append(absolute)
    page.links = list(dict.fromkeys(links))
    return page


def _hrefs(sel: Selector, css: str) -> Iterator[str]:
    if "::attr(" in css or "::text" in css:
        yield from (str(v) for v in css_matches(sel, css) if str(v).strip())
        return
    for match in css_matches(sel, css):
        href = match.get("href")
        if href and href.strip():
            yield href


class _RecordBuilder:
    """Turns extracted strings into a record: dates resolved, rating read, id made."""

    def __init__(
        self, config: ExtractConfig, page_url: str, fetched_at: datetime, page_lang: str | None
    ) -> None:
        self.config = config
        self.page_url = page_url
        self.fetched_at = fetched_at
        self.fetched_iso = fetched_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        self.page_lang = page_lang

    def finish(self, raw: dict[str, Any], *, own_id: str | None, kind: str) -> dict[str, Any]:
        """raw: field -> extracted value (text, author, created_at, rating …)."""
        record: dict[str, Any] = {"kind": kind}
        record.update({k: v for k, v in raw.items() if v not in (None, "", {})})
        date_raw = raw.get("created_at")
        absolute_date = None
        if date_raw not in (None, ""):
            parsed = parse_page_date(
                str(date_raw),
                now=self.fetched_at,
                timezone=self.config.timezone,
                languages=list(self.config.languages or []) or None,
                date_order=self.config.date_order,
            )
            record["date_raw"] = date_raw
            # Unreadable dates go on as found: cleaning rejects them with the value shown.
            record["created_at"] = parsed.iso if parsed else date_raw
            if parsed and not parsed.relative:
                absolute_date = parsed.iso
        if raw.get("rating") not in (None, ""):
            record["rating_raw"] = raw["rating"]
            record["rating"] = rating_value(raw["rating"], self.config.rating_scale)
        record.setdefault("url", self.page_url + (f"#{own_id}" if own_id else ""))
        if self.page_lang:
            record.setdefault("lang", self.page_lang)
        if record.get("id") in (None, ""):
            # Relative dates move every day; leave them out so the id stays put.
            record["id"] = own_id or stable_id(
                self.page_url, raw.get("author"), absolute_date, raw.get("text")
            )
        record["fetched_at"] = self.fetched_iso
        return {"id": record.pop("id"), **record}

    def build(
        self, item: Selector, fields: dict[str, str], segments: dict[str, str], kind: str
    ) -> dict[str, Any]:
        raw: dict[str, Any] = {}
        for name, css in fields.items():
            raw[name] = select_value(item, css, join=name == "text")
        if segments:
            raw["segments"] = {
                name: value
                for name, css in segments.items()
                if (value := select_value(item, css)) is not None
            }
        own_id = (
            item.attrib.get("id")
            or item.attrib.get("data-review-id")
            or item.attrib.get("data-id")
            or ""
        ).strip() or None
        return self.finish(raw, own_id=own_id, kind=kind)

    def comment(
        self, element: Selector, config: ExtractConfig, parent: str | None
    ) -> dict[str, Any]:
        fields = dict(_COMMENT_DEFAULTS)
        fields.update(config.comment_fields)
        segments = fields.pop("segments", None) or {}
        raw: dict[str, Any] = {}
        for name, css in fields.items():
            if name in config.comment_fields:
                raw[name] = select_value(element, css, join=name == "text")
            elif name == "text":
                raw["text"] = self._comment_text(element, config.comments or "")
            else:
                raw[name] = select_first(element, css)
        if segments:
            raw["segments"] = {
                n: v for n, css in segments.items() if (v := select_value(element, css)) is not None
            }
        if parent is not None:
            raw["in_reply_to"] = parent
        own_id = (element.attrib.get("id") or "").strip() or None
        return self.finish(raw, own_id=own_id, kind="comment")

    @staticmethod
    def _comment_text(element: Selector, comments_css: str) -> str | None:
        body = element.css(_COMMENT_TEXT)
        if body:
            return element_text(body[0].root)
        # No body element: the comment's own text, without replies, byline and links.
        # (Sets of lxml elements, not of id()s: a proxy's id is only stable while it lives.)
        left_out = {e.root for e in element.css(comments_css)} - {element.root}
        left_out |= {e.root for e in element.css(_COMMENT_CHROME)}
        return element_text(element.root, skip=lambda el: el in left_out) or None


_COMMENT_TEXT = (
    ".comment-content, .comment-body, .comment-text, [itemprop=text], [itemprop=commentText]"
)
_COMMENT_CHROME = (
    ".comment-author, .comment-meta, .comment-metadata, .reply, .comment-reply-link, "
    "footer, time, .fn, .says"
)
_COMMENT_DEFAULTS: dict[str, Any] = {
    "text": (_COMMENT_TEXT,),
    "author": (
        ".comment-author .fn::text",
        ".comment-author::text",
        ".fn::text",
        "[itemprop=author]",
        ".author",
    ),
    "created_at": ("time::attr(datetime)", "time", ".comment-date"),
}


__all__ = [
    "MODES",
    "Mode",
    "POST_FIELDS",
    "ExtractConfig",
    "Extracted",
    "css_problem",
    "decode_html",
    "element_text",
    "extract_page",
    "rating_value",
    "select_value",
    "stable_id",
]
