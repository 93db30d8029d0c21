"""`extract = "auto"`: schema.org `Review`s (and the `AggregateRating` beside them)
from a page's JSON-LD, microdata and RDFa, via extruct; a well-marked page needs no
selectors. The scrape source's third way to find posts (see scrape_extract.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from parsel import Selector

from sentitui.processing.clean import rating_on_five

if TYPE_CHECKING:
    from sentitui.sources.scrape_extract import Extracted, _RecordBuilder

__all__ = ["schema_org_records"]


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


def schema_org_records(
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
    return rating_on_five(number, best)
