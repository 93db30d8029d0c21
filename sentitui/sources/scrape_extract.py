"""HTML page -> review records and links: the CPU half of the `scrape` source.

Everything here is a pure function of (bytes, headers, URL, fetch time, config), so
the crawler runs it in a worker thread, off the event loop, and `failed retry` can
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

A record is a plain dict of what was extracted (raw date and rating kept beside the
resolved ones), so a failed record's payload shows exactly what the page said.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

from parsel import Selector

from sentitui.processing.clean import CleanError, parse_rating
from sentitui.processing.dates import parse_page_date

MODES = ("selectors", "auto", "article")
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


# ---- text of an element ----------------------------------------------------------------------

_BLOCK_TAGS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "dd",
        "details",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
    ]
)
_HIDDEN_TAGS = frozenset(["script", "style", "noscript", "template", "head"])


def element_text(element: Any, skip: Any = None) -> str:
    """Visible text of an lxml element: blocks separated by newlines, scripts left out.

    `skip(el) -> bool` drops whole subtrees (navigation, sidebars, nested comments).
    """
    parts: list[str] = []

    def walk(node: Any) -> None:
        tag = node.tag if isinstance(node.tag, str) else None
        if tag is not None and tag not in _HIDDEN_TAGS and not (skip and skip(node)):
            block = tag in _BLOCK_TAGS
            if block:
                parts.append("\n")
            if node.text:
                parts.append(node.text)
            for child in node:
                walk(child)
            if block:
                parts.append("\n")
        if node.tail:
            parts.append(node.tail)

    tail, element.tail = element.tail, None  # the element's own tail is not its text
    try:
        walk(element)
    finally:
        element.tail = tail
    lines = (" ".join(line.split()) for line in "".join(parts).split("\n"))
    return "\n".join(line for line in lines if line)


def select_first(sel: Selector, alternatives: tuple[str, ...]) -> str | None:
    """The first alternative that finds something: unlike "a, b", which answers in
    document order, this honours the order of preference."""
    for css in alternatives:
        if (value := select_value(sel, css)) is not None:
            return value
    return None


def select_value(sel: Selector, css: str, *, join: bool = False) -> str | None:
    """One field by CSS: `::attr(x)` -> the attribute, `::text` -> the text nodes,
    plain CSS -> the element's visible text. `join` keeps every match (for text);
    otherwise the first non-empty one (for `::text`, the first non-empty text node)."""
    if "::attr(" in css:
        values = [v.strip() for v in sel.css(css).getall()]
    elif "::text" in css:
        pieces = [" ".join(v.split()) for v in sel.css(css).getall()]
        values = [" ".join(p for p in pieces if p)] if join else pieces
    else:
        values = [element_text(match.root) for match in sel.css(css)]
    values = [v for v in values if v]
    if not values:
        return None
    return "\n".join(values) if join else values[0]


# ---- ratings and ids ----------------------------------------------------------------------

_WIDTH = re.compile(r"width\s*:\s*([0-9]+(?:\.[0-9]+)?)\s*%", re.I)
_FRACTION = re.compile(
    r"([0-9]+(?:[.,][0-9]+)?)\s*(?:/|out\s+of|of|von|sur|de|su)\s*([0-9]+(?:[.,][0-9]+)?)", re.I
)
_NUMBER = re.compile(r"[0-9]+(?:[.,][0-9]+)?")
_NUMBER_WORDS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5}


def rating_value(raw: Any, scale: float | None = None) -> float | str | None:
    """A rating as a page shows it -> stars on a 0-5 scale.

    Understands "4", "4.5 out of 5", "4/5", "★★★★☆", a star bar's style
    ("width: 80%" -> 4.0), a class like "star-rating Four", and "4 von 5 Sternen".
    Bare numbers are on `scale` (default 5). Anything else is returned as found, so
    cleaning rejects the record with the raw value in its message.
    """
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        return str(raw)
    if isinstance(raw, int | float):
        value = float(raw)
        return round(value * 5 / scale, 4) if scale and scale != 5 else value
    text = " ".join(str(raw).split())
    width = _WIDTH.search(text)
    if width:
        return round(min(float(width.group(1)), 100.0) / 20, 4)
    fraction = _FRACTION.search(text)
    if fraction:
        num, den = (float(g.replace(",", ".")) for g in fraction.groups())
        if den > 0 and num <= den:
            return round(num * 5 / den, 4)
    try:
        value = parse_rating(text)
    except CleanError:
        value = None
        if "★" in text:
            value = float(text.count("★"))
        else:
            words = [
                _NUMBER_WORDS[w] for w in re.findall(r"[a-z]+", text.lower()) if w in _NUMBER_WORDS
            ]
            number = _NUMBER.search(text)
            if words:
                value = float(words[-1])
            elif number:
                value = float(number.group().replace(",", "."))
        if value is None:
            return text
    if value is None:
        return None
    return round(value * 5 / scale, 4) if scale and scale != 5 else value


def stable_id(url: str, author: str | None, date: str | None, text: str | None) -> str:
    """Hash of what makes a review itself, for pages that give it no id of its own."""
    material = "\n".join(" ".join(str(part or "").split()) for part in (url, author, date, text))
    return hashlib.sha1(material.encode("utf-8")).hexdigest()[:20]


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
    base = sel.css("base::attr(href)").get()
    base_url = urljoin(url, base.strip()) if base else url

    canonical = sel.css('link[rel~="canonical"]::attr(href)').get()
    canonical = urldefrag(urljoin(base_url, canonical.strip()))[0] if canonical else None
    identity = canonical if canonical and _same_site(canonical, url) else urldefrag(url)[0]
    page = Extracted(url=identity, html=html, encoding=encoding, canonical=canonical)

    builder = _RecordBuilder(
        config, identity, fetched_at, (sel.css("html::attr(lang)").get() or "").strip() or None
    )
    if config.mode == "auto":
        records = list(_auto_records(sel, html, identity, builder, page))
    elif config.mode == "article":
        records = list(_article_records(sel, builder, config))
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
        yield from (v for v in sel.css(css).getall() if v.strip())
        return
    for match in sel.css(css):
        href = match.attrib.get("href")
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


# ---- "article": one blog post per page ---------------------------------------------------

_ARTICLE_BODY = (
    "[itemprop=articleBody], .entry-content, .post-content, .article-body, "
    ".post-body, .article-content"
)
_NOT_CONTENT = re.compile(
    r"sidebar|share|sharing|social|related|comment|respond|navigation|\bnav\b|menu|breadcrumb|"
    r"newsletter|subscribe|promo|widget|footer|cookie|advert|byline|author-box",
    re.I,
)
_NOT_CONTENT_TAGS = frozenset(
    ["nav", "aside", "header", "footer", "form", "button", "iframe", "svg"]
)


def _is_chrome(el: Any) -> bool:
    if el.tag in _NOT_CONTENT_TAGS:
        return True
    marks = f"{el.get('class', '')} {el.get('id', '')} {el.get('role', '')}"
    return bool(marks.strip()) and bool(_NOT_CONTENT.search(marks))


def _article_records(
    sel: Selector, builder: _RecordBuilder, config: ExtractConfig
) -> Iterator[dict[str, Any]]:
    comments = {e.root for e in sel.css(config.comments)} if config.comments else set()
    articles = [a for a in sel.css("article") if not a.xpath("ancestor::article")]
    if len(articles) > 1:
        return  # a blog index: posts are behind its links, not on it
    container = (
        sel.css(_ARTICLE_BODY) or articles or sel.css("main, [role=main]") or sel.css("body")
    )
    if not container:
        return
    root = container[0].root
    # The title is kept apart (`title`); the post's text is the body below it.
    text = element_text(
        root,
        skip=lambda el: el is not root and (el.tag == "h1" or el in comments or _is_chrome(el)),
    )
    if not text:
        return
    scope = articles[0] if articles else sel
    raw = {
        "text": text,
        "title": (
            sel.css('meta[property="og:title"]::attr(content)').get()
            or select_value(scope, "h1")
            or select_value(sel, "title")
        ),
        "author": (
            sel.css('meta[name="author"]::attr(content)').get()
            or select_first(
                scope,
                (
                    "[itemprop=author] [itemprop=name]",
                    "[itemprop=author]",
                    '[rel~="author"]',
                    ".byline .author",
                    ".author .fn",
                    ".author",
                ),
            )
        ),
        "created_at": (
            sel.css('meta[property="article:published_time"]::attr(content)').get()
            or select_first(
                scope,
                (
                    "[itemprop=datePublished]::attr(content)",
                    "[itemprop=datePublished]::attr(datetime)",
                    "time::attr(datetime)",
                ),
            )
        ),
    }
    raw.update(
        {name: select_value(sel, css, join=name == "text") for name, css in config.fields.items()}
    )
    own_id = (articles[0].attrib.get("id") or "").strip() or None if articles else None
    # An article is its URL: an edit to the text must not make it a new post.
    record = builder.finish(
        raw, own_id=own_id or stable_id(builder.page_url, None, None, None), kind="article"
    )
    record["url"] = builder.page_url
    yield record


# ---- "auto": schema.org reviews ------------------------------------------------------------


def _short(name: str) -> str:
    """'http://schema.org/reviewBody' -> 'reviewBody'."""
    if name.startswith(("http://", "https://")):
        return re.split(r"[/#]", name.rstrip("/#"))[-1]
    return name


def _types(node: dict[str, Any]) -> set[str]:
    value = node.get("@type") or []
    return {_short(str(t)) for t in (value if isinstance(value, list) else [value])}


def _normalise(value: Any, index: dict[str, dict[str, Any]], depth: int = 0) -> Any:
    """JSON-LD (compact or expanded, as RDFa comes) -> plain nested dicts with short keys;
    `{"@id": x}` references are replaced by the node they name."""
    if depth > 12:
        return None
    if isinstance(value, list):
        items = [_normalise(v, index, depth + 1) for v in value]
        return items[0] if len(items) == 1 else items
    if not isinstance(value, dict):
        return value
    if "@value" in value:
        return value["@value"]
    if set(value) == {"@id"} and isinstance(value["@id"], str) and value["@id"] in index:
        return _normalise(
            index[value["@id"]], {k: v for k, v in index.items() if k != value["@id"]}, depth + 1
        )
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key == "@type":
            out["@type"] = sorted(_types(value))
        elif key == "@id":
            out["@id"] = item
        elif not key.startswith("@"):
            out[_short(key)] = _normalise(item, index, depth + 1)
    return out


def _walk(
    node: Any, parent: dict[str, Any] | None = None
) -> Iterator[tuple[dict[str, Any], dict[str, Any] | None]]:
    if isinstance(node, list):
        for item in node:
            yield from _walk(item, parent)
    elif isinstance(node, dict):
        yield node, parent
        for key, value in node.items():
            if key != "@type":
                yield from _walk(value, node if "@type" in node else parent)


def _text(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("name") or value.get("text")
    if isinstance(value, list):
        value = next((v for v in (_text(x) for x in value) if v), None)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _schema_items(sel: Selector, html: str, url: str, notes: list[str]) -> list[Any]:
    import extruct  # late: heavy import, only auto mode needs it

    # One syntax at a time: with errors="ignore" extruct answers a broken microdata
    # block (a link whose href is not a URL) with KeyError('microdata') and loses the
    # JSON-LD too; here the broken syntax alone is left out.
    sources: list[tuple[str, Any]] = [("json-ld", sel.root), ("microdata", sel.root)]
    if "typeof" in html:  # RDFa types its resources; no typeof, no RDFa reviews
        sources.append(("rdfa", html.encode("utf-8", "replace")))
    items: list[Any] = []
    for syntax, document in sources:
        try:
            found = extruct.extract(
                document, base_url=url, syntaxes=[syntax], uniform=True, errors="strict"
            )
        except Exception as exc:  # markup extruct cannot read: no reviews from that syntax
            notes.append(f"{url}: {syntax} markup unreadable ({type(exc).__name__}: {exc})")
            continue
        items += found.get(syntax) or []
    graph: list[Any] = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("@graph"), list):
            graph.extend(item["@graph"])
        else:
            graph.append(item)
    index = {n["@id"]: n for n in graph if isinstance(n, dict) and isinstance(n.get("@id"), str)}
    # A node another node points to is met inside it, with its product around it.
    referenced = set(_references(graph))
    return [
        _normalise(n, index)
        for n in graph
        if not (isinstance(n, dict) and isinstance(n.get("@id"), str) and n["@id"] in referenced)
    ]


def _references(value: Any) -> Iterator[str]:
    """The `{"@id": x}` references anywhere in a JSON-LD graph (an explicit stack: a page
    can nest its JSON-LD as deep as the JSON reader allows)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        elif isinstance(item, dict):
            if set(item) == {"@id"}:
                if isinstance(item["@id"], str):
                    yield item["@id"]
            else:
                stack.extend(reversed(list(item.values())))


def _auto_records(
    sel: Selector, html: str, url: str, builder: _RecordBuilder, page: Extracted
) -> Iterator[dict[str, Any]]:
    for node, parent in _walk(_schema_items(sel, html, url, page.notes)):
        types = _types(node)
        if "AggregateRating" in types:
            owner = _text(parent.get("name")) if parent else None
            value = _number(node.get("ratingValue"))
            count = _number(node.get("ratingCount") or node.get("reviewCount"))
            page.aggregates.append({"item": owner, "value": value, "count": count})
            page.notes.append(f"{owner or url}: rated {value} from {count} rating(s)")
        if not types & {"Review", "UserReview", "CriticReview", "EmployerReview"}:
            continue
        rating = node.get("reviewRating")
        scale = None
        if isinstance(rating, dict):
            scale = _number(rating.get("bestRating"))
            rating = rating.get("ratingValue")
        raw: dict[str, Any] = {
            "text": _text(node.get("reviewBody")) or _text(node.get("description")),
            "title": _text(node.get("name")) if node.get("reviewBody") else None,
            "author": _text(node.get("author")),
            "created_at": _text(node.get("datePublished")) or _text(node.get("dateCreated")),
            "rating": _scaled(rating, scale),
            "lang": _text(node.get("inLanguage")),
        }
        if parent:
            raw["product"] = _text(parent.get("name"))
            aggregate = parent.get("aggregateRating")
            if isinstance(aggregate, dict):
                raw["aggregate_rating"] = {
                    "value": _number(aggregate.get("ratingValue")),
                    "count": _number(aggregate.get("ratingCount") or aggregate.get("reviewCount")),
                }
        own = node.get("@id") if isinstance(node.get("@id"), str) else None
        own_id = own if own and not own.startswith("_:") else None  # blank nodes change per parse
        if own_id and own_id.startswith(("http://", "https://")):
            raw["url"] = own_id
        yield builder.finish(raw, own_id=own_id, kind="review")


def _number(value: Any) -> float | None:
    try:
        number = float(str(value).replace(",", "."))
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() else number


def _scaled(value: Any, best: float | None) -> Any:
    number = _number(value)
    if number is None or not best or best == 5:
        return number if number is not None else value
    return round(number * 5 / best, 4)


__all__ = [
    "MODES",
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
