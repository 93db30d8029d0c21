"""`kind = "json_api"`: any paged JSON REST API, described declaratively (after dlt's rest_api).

The social presets (mastodon, reddit, x …) are built on this class: they fill in
url, params, records, fields and pagination, and override `map_record` where a
service's shape needs code.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, ClassVar, TypedDict
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from sentitui.config.kinds import FIELDS
from sentitui.models import FailedRecord, Page
from sentitui.net.http import AuthError, FetchError, Response
from sentitui.net.ratelimit import DEFAULT_RULES, RateLimitRules
from sentitui.net.scope import CredentialScope
from sentitui.processing.clean import strip_controls
from sentitui.sources.base import (
    ALLOWED_HOSTS,
    BaseSource,
    Option,
    SourceConfigError,
    SourceContext,
    check_allowed_hosts,
    count_of,
    get_path,
    map_fields,
    parse_json,
    scalar_id,
)

PAGINATION_KEYS: dict[str, dict[str, bool]] = {
    # type -> {key: required}
    "cursor": {"cursor_path": True, "param": True},
    "link_header": {},
    "page": {"param": False, "start": False, "total_path": False},
    "offset": {"param": False, "limit_param": False, "limit": False, "total_path": False},
    "next_url": {"path": True},
}

DEFAULT_MAX_PAGES = 1000
# What a query string can carry (HttpClient spells booleans; aiohttp rejects tables).
QUERY = dict[str, str | int | float | bool | list[str | int | float]]


class PageParseError(ValueError):
    pass


class RecordsNotFound(PageParseError):
    """`records` does not lead to a list in this response."""


def parse_link_header(value: str | None) -> dict[str, str]:
    """RFC 8288 Link header -> {rel: url}."""
    links: dict[str, str] = {}
    if not value:
        return links
    for match in re.finditer(r"<([^>]*)>\s*((?:;\s*[^;,]+)*)", value):
        url, params = match.group(1), match.group(2)
        rel = re.search(r'rel\s*=\s*"?([^";,]+)"?', params)
        if rel:
            for name in rel.group(1).split():
                links.setdefault(name.lower(), url)
    return links


def page_link(base: str, link: str) -> str:
    """The next page's URL from a link a server sent (relative to `base`); a link that
    is not a URL at all ("http://[x") stops the paging as a fetch failure saying so."""
    try:
        url = urljoin(base, link.strip())
        urlsplit(url).port  # noqa: B018 - raises ValueError for a port that is not one
    except ValueError as exc:
        raise FetchError(base, f"the next-page link {link[:200]!r} is not a URL ({exc})") from None
    return url


def not_json(response: Response, body: str, exc: json.JSONDecodeError) -> str:
    """Why a response body is not the JSON expected, in the words an operator needs:
    an empty body, an HTML page (a login wall, a maintenance page) or broken JSON."""
    # The server's text: escapes go first (an OSC's own ";" would cut it short).
    kind = strip_controls(response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if not body.strip():
        return f"empty response body (HTTP {response.status}) where JSON was expected"
    if "json" not in kind and (
        kind.startswith(("text/html", "application/xhtml")) or body.lstrip()[:1] == "<"
    ):
        start = " ".join(body.split())[:80]
        return f"expected JSON, got {kind or 'markup'} (HTTP {response.status}): {start!r}"
    return f"invalid JSON: {exc}"


def comparable(value: Any) -> tuple[int, Any]:
    """Order incremental values: numbers as numbers, times as times, else as text.

    A total order over anything a record holds, so comparing two values never raises:
    zone-less times count as UTC (a feed mixing `…Z` and zone-less times once failed
    every run with TypeError), and numbers < times < text."""
    if isinstance(value, bool):
        return (2, str(value))
    if isinstance(value, int | float):
        return (0, value) if value == value else (2, "nan")  # NaN orders nowhere
    if isinstance(value, str):
        text = value.strip()
    elif isinstance(value, dict | list | tuple):
        return (2, type(value).__name__)  # not an increment: no deep str() of it
    else:
        text = str(value).strip()
    try:
        if re.fullmatch(r"-?\d+(\.\d+)?", text):
            return (0, float(text) if "." in text else int(text))
    except ValueError:  # more digits than int() takes
        return (2, text)
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return (1, when.timestamp())
    except (ValueError, OverflowError):
        return (2, text)


def newest(values: list[Any]) -> Any:
    """The largest of the incremental values (None when there are none); values that
    cannot be an increment (objects, lists, NaN) are left out."""
    present = [
        v
        for v in values
        if v not in (None, "") and not isinstance(v, dict | list | tuple) and v == v
    ]
    return max(present, key=comparable) if present else None


def cut_off(body: str, exc: Exception) -> bool:
    """True when JSON breaks off before its end (a dropped connection), as opposed to
    JSON that is wrong in the middle or not JSON at all."""
    if not isinstance(exc, json.JSONDecodeError) or not body.strip():
        return False
    return exc.msg.startswith("Unterminated string") or exc.pos >= len(body.rstrip()) - 1


def listing_key(url: str, params: dict[str, Any]) -> str:
    """A listing's name in the stored positions: a digest of its first request, so a
    changed query starts afresh and no parameter value (a key) is stored as written."""
    text = json.dumps([url, params], sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def position_of(
    url: str, params: dict[str, Any], start_url: str, start_params: dict[str, Any], pages: int
) -> dict[str, Any]:
    """A listing's next request as stored: only what paging changed. Query values of
    the first request (a key, perhaps) are left out of a stored link and added back."""
    changed = {k: v for k, v in params.items() if start_params.get(k) != v}
    if url == start_url:
        return {"params": changed, "pages": pages}
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    given = {(k, str(v)) for k, v in start_params.items()}
    in_link = {k for k, v in query if (k, v) in given}
    if in_link:
        kept = [(k, v) for k, v in query if k not in in_link]
        url = urlunsplit(parts._replace(query=urlencode(kept)))
    restore = sorted(in_link | (params.keys() - changed.keys()))
    return {"url": url, "restore": restore, "params": changed, "pages": pages}


def resumed_request(
    start_url: str, start_params: dict[str, Any], position: Any
) -> tuple[str, dict[str, Any], int]:
    """(url, params, pages read) to carry on from a stored position; the first request
    when there is none or it is not one this code wrote."""
    fresh = (start_url, dict(start_params), 0)
    if not isinstance(position, dict):
        return fresh
    pages, params = position.get("pages", 0), position.get("params") or {}
    if isinstance(pages, bool) or not isinstance(pages, int) or not isinstance(params, dict):
        return fresh
    if "url" not in position:
        return start_url, {**start_params, **params}, pages
    url, restore = position["url"], position.get("restore") or []
    if not isinstance(url, str) or not isinstance(restore, list):
        return fresh
    return url, {**{k: start_params[k] for k in restore if k in start_params}, **params}, pages


class Incremental(TypedDict):
    """`incremental = { param = "since_id", field = "id" }`: later runs send the
    newest `field` value seen so far as the query parameter `param`."""

    param: str
    field: str


class JsonApiSource(BaseSource):
    KIND = "json_api"
    RATE_LIMIT: RateLimitRules = DEFAULT_RULES  # how the service's rate-limit headers read
    OPTIONS = {
        "url": Option((str,), required=True),
        "params": Option((dict,), default={}, shape=QUERY),
        "headers": Option((dict,), default={}, shape=dict[str, str]),
        "records": Option((str,), default="", doc='dotted path to the list; "" = top level'),
        "fields": Option((dict,), required=True, doc="post field -> dotted path", shape=FIELDS),
        "pagination": Option(
            (dict,),
            doc="{ type = cursor|link_header|page|offset|next_url, … }",
            shape=dict[str, str | int],
        ),
        "incremental": Option(
            (dict,), doc="{ param = 'since_id', field = 'id' }", shape=Incremental
        ),
        "allowed_hosts": ALLOWED_HOSTS,
    }
    # Listings resume where a run stopped (facebook reads its window again instead: its
    # comment listings hang off feed pages already passed).
    RESUMABLE: ClassVar[bool] = True

    @classmethod
    def check_config(cls, config: Any) -> list[str]:
        problems = []
        url = config.get("url")
        if isinstance(url, str) and (
            urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname
        ):
            problems.append(f"key 'url': {url!r} is not an http(s) URL")
        # params and headers values a run could not send are refused by their Option shape.
        fields = config.get("fields") or {}
        for required in ("id", "text"):
            if required not in fields:
                problems.append(f"key 'fields.{required}' is required")
        for name, path in fields.items():
            if name == "segments":
                if not isinstance(path, dict):
                    problems.append("key 'fields.segments' must be a table of name -> path")
            elif not isinstance(path, str):
                problems.append(f"key 'fields.{name}' must be a dotted path string")
        pagination = config.get("pagination")
        if pagination is not None:
            kind = pagination.get("type")
            if kind not in PAGINATION_KEYS:
                problems.append(
                    f"key 'pagination.type' must be one of "
                    f"{', '.join(PAGINATION_KEYS)}, not {kind!r}"
                )
            else:
                allowed = PAGINATION_KEYS[kind]
                for key in pagination:
                    if key != "type" and key not in allowed:
                        problems.append(
                            f"unknown key 'pagination.{key}' for type {kind!r} "
                            f"(known: {', '.join(allowed) or 'none'})"
                        )
                for key, needed in allowed.items():
                    if needed and key not in pagination:
                        problems.append(f"missing key 'pagination.{key}' for type {kind!r}")
                for key, least in (("start", 0), ("limit", 1)):
                    value = pagination.get(key)
                    if (
                        key in allowed
                        and value is not None
                        and (isinstance(value, bool) or not isinstance(value, int) or value < least)
                    ):
                        problems.append(
                            f"key 'pagination.{key}' must be a whole number of at "
                            f"least {least}, not {value!r}"
                        )
        problems.extend(check_allowed_hosts(config))
        return problems

    # ---- what presets override -----------------------------------------------------

    def request_params(self, ctx: SourceContext) -> dict[str, Any]:
        """Query parameters of the first request, with the incremental value if any."""
        params = dict(self.options.get("params") or {})
        incremental = self.options.get("incremental")
        if incremental and ctx.cursor.get("since") not in (None, ""):
            params[incremental["param"]] = ctx.cursor["since"]
        return params

    def map_record(self, payload: Any) -> dict[str, Any]:
        if not isinstance(payload, dict):
            raise PageParseError(f"record is {type(payload).__name__}, not a JSON object")
        return map_fields(payload, self.options["fields"])

    def next_cursor(
        self, cursor: dict[str, Any], loaded_fields: list[dict[str, Any]]
    ) -> dict[str, Any] | None:
        incremental = self.options.get("incremental")
        if not incremental:
            return None
        field = incremental["field"]
        best = newest([cursor.get("since")] + [f.get(field) for f in loaded_fields])
        if best is None or best == cursor.get("since"):
            return None
        return {**cursor, "since": best}

    def records_of(self, data: Any) -> list[Any]:
        path = self.options.get("records", "")
        records = get_path(data, path)
        if records is None and path:
            raise RecordsNotFound(f"records path {path!r} not found in the response")
        if not isinstance(records, list):
            shape = (
                f"object with keys {', '.join(list(records)[:6])}"
                if isinstance(records, dict)
                else type(records).__name__
            )
            raise RecordsNotFound(f"records path {path!r} does not lead to a list (found {shape})")
        return records

    # ---- paging ------------------------------------------------------------------------

    def stop_after(self, records: list[Any]) -> bool:
        """True when paging should end after this page even though the API offers more
        (presets: a page of posts already seen, or older than the last run's newest)."""
        return False

    def auth_hint(self) -> str:
        """What to fix after a 401/403: the environment variables behind the credentials."""
        names = [n for key in ("headers", "params") for n in self.config.env_names(key)]
        return f"set {', '.join(names)}" if names else "check the source's credentials"

    async def fetch(
        self, ctx: SourceContext, url: str, params: dict[str, Any], headers: dict[str, str]
    ) -> Response:
        """One request with the source's retry and rate-limit policy; waits show as the
        source's state and in its log. Presets override it to read service errors."""

        def on_wait(delay: float, why: str) -> None:
            ctx.set_status("backing_off", why)
            ctx.log("WARNING", f"{why} (waiting {delay:.1f}s)")

        try:
            return await ctx.http.get(
                url,
                params=params,
                headers=headers,
                retries=self.config.retries,
                timeout=self.config.timeout,
                backoff=self.config.backoff,
                on_wait=on_wait,
                rate_limit=self.RATE_LIMIT,
                scope=self.credential_scope(),
            )
        except AuthError as exc:
            message = str(exc).replace("check the source's credentials", self.auth_hint())
            raise AuthError(exc.url, message, exc.status, exc.body, exc.headers) from None

    def credential_scope(self) -> CredentialScope:
        """The API's own origin (and `allowed_hosts`): pagination links and redirects
        elsewhere are refused, so its headers and key parameters go nowhere else."""
        return CredentialScope.of(
            self.options["url"], self.config.options.get("allowed_hosts") or ()
        )

    def reparse(self, body: str, context: dict[str, Any]) -> Page:
        return Page(records=self.records_of(parse_json(body)), url=context.get("url", ""))

    async def pages(self, ctx: SourceContext) -> AsyncIterator[Page]:
        headers = self.options.get("headers") or {}
        async for page in self.walk(ctx, self.options["url"], self.request_params(ctx), headers):
            yield page

    async def walk(
        self, ctx: SourceContext, url: str, params: dict[str, Any], headers: dict[str, str]
    ) -> AsyncIterator[Page]:
        """Page through one listing from `url`, following `pagination` (presets that
        read several listings, such as comments under each post, call it per listing).

        Each page carries the listing's position (the next request, or "done"), so a
        run that stops anywhere is resumed there by the next one (`ctx.resume`). A page
        that cannot be read ends a chained listing without moving its position."""
        pagination = self.options.get("pagination") or {}
        kind = pagination.get("type")
        max_pages = self.config.max_pages or DEFAULT_MAX_PAGES
        start_url, start_params = url, dict(params)
        key = listing_key(start_url, start_params)
        stored = ctx.resume.get(key) if self.RESUMABLE else None
        if stored == "done":  # an earlier run of this backfill finished this listing
            return
        url, params, fetched = resumed_request(start_url, start_params, stored)
        if fetched:
            ctx.log("INFO", f"resuming an unfinished listing after {fetched} page(s)")

        page_param = pagination.get("param", "page" if kind == "page" else "offset")
        page_number = int(pagination.get("start", 1))
        offset = 0
        limit = int(pagination.get("limit", 100))
        if kind == "page":
            page_number = int(params.setdefault(page_param, page_number))
        elif kind == "offset":
            offset = int(params.setdefault(page_param, offset))
            params.setdefault(pagination.get("limit_param", "limit"), limit)
        seen_cursors: set[str] = set()
        matched = False  # has `records` led to a list in any response yet?

        while fetched < max_pages:
            here = position_of(url, params, start_url, start_params, fetched)
            fetched += 1
            response = await self.fetch(ctx, url, params, headers)
            ctx.set_status("running", "")
            data, records, failure, broken_off = self.read_page(response, matched)
            if broken_off and failure is not None:
                # A 200 whose JSON breaks off mid-way is most often a dropped connection.
                ctx.log("WARNING", f"{failure.error[:200]}; fetching the page once more")
                response = await self.fetch(ctx, url, params, headers)
                data, records, failure, _ = self.read_page(response, matched)
            failures = [failure] if failure is not None else []
            matched = matched or records is not None

            # Work out the next request before yielding, so a crash never skips a page.
            next_url: str | None = None
            broken_link: FetchError | None = None
            done = False
            if kind is None:
                done = True
            elif kind == "cursor":
                cursor = scalar_id(get_path(data, pagination["cursor_path"]) if data else None)
                if cursor in (None, "") or cursor in seen_cursors:
                    done = True
                else:
                    seen_cursors.add(cursor)
                    params[pagination["param"]] = cursor
            elif kind in ("next_url", "link_header"):
                try:
                    if kind == "link_header":
                        link = self.next_link(response)
                    else:
                        found = scalar_id(get_path(data, pagination["path"])) if data else None
                        link = page_link(response.url, found) if found else None
                except FetchError as exc:  # not a URL: this page still counts, then stop
                    link, broken_link = None, exc
                if not link or link in seen_cursors:
                    done = True
                else:
                    next_url = link
                    seen_cursors.add(link)
            elif kind == "page":
                total = (
                    count_of(get_path(data, pagination["total_path"]))
                    if "total_path" in pagination and data is not None
                    else None
                )
                page_number += 1
                start = int(pagination.get("start", 1))
                if records == [] or (total is not None and page_number >= start + int(total)):
                    done = True
                params[page_param] = page_number
            elif kind == "offset":
                total = (
                    count_of(get_path(data, pagination["total_path"]))
                    if "total_path" in pagination and data is not None
                    else None
                )
                offset += limit
                if (
                    records == []
                    or (total is not None and offset >= int(total))
                    or (records is not None and total is None and len(records) < limit)
                ):
                    done = True
                params[page_param] = offset

            if records and self._stops(ctx, records):
                done = True
            if records == [] and kind in ("cursor", "next_url", "link_header"):
                done = True
            if next_url is not None:
                url, params = next_url, {}
            if records is None and kind in (None, "cursor", "next_url", "link_header"):
                # No next request without this page: stay on it, the next run asks again.
                yield Page(records=[], url=response.url, failures=failures, position={key: here})
                return
            if not done and fetched >= max_pages:
                ctx.log("INFO", f"stopped after max_pages={max_pages}")
                done = True
            position: Any = (
                "done" if done else position_of(url, params, start_url, start_params, fetched)
            )
            yield Page(
                records=records or [], url=response.url, failures=failures, position={key: position}
            )
            if broken_link is not None:  # refused or unreadable: after its page is stored
                raise broken_link
            if done:
                return

    def read_page(
        self, response: Response, matched: bool = True
    ) -> tuple[Any, list[Any] | None, FailedRecord | None, bool]:
        """(data, records, None, False) for a page that reads, else (None, None, its
        failure, whether the body looks like JSON cut off in transit). Whatever the page
        holds, it fails alone — except a `records` key that no response of this listing
        has had yet (`matched` False): that is a configuration error, not a bad page."""
        body = response.text()
        try:
            if response.status == 204:  # No Content: nothing (more) to list
                return None, [], None, False
            data = parse_json(body)
            return data, self.records_of(data), None, False
        except Exception as exc:
            if isinstance(exc, RecordsNotFound) and not matched:
                raise SourceConfigError(
                    f"source {self.config.name!r}: key 'records': {exc} "
                    f"from {response.url.split('?')[0]} (nothing loaded; check the key)"
                ) from None
            reason = (
                not_json(response, body, exc)
                if isinstance(exc, json.JSONDecodeError)
                else str(exc)
                if isinstance(exc, PageParseError)
                else f"cannot read its records: {type(exc).__name__}: {exc}"
            )
            failure = FailedRecord(
                "parse",
                f"page {response.url}: {reason}",
                body,
                {"url": response.url, "status": response.status},
            )
            return None, None, failure, cut_off(body, exc)

    def _stops(self, ctx: SourceContext, records: list[Any]) -> bool:
        """`stop_after`, which reads raw records: one it cannot read ends no run."""
        try:
            return self.stop_after(records)
        except Exception as exc:
            ctx.log("WARNING", f"stop rule could not read a page ({type(exc).__name__}: {exc})")
            return False

    def next_link(self, response: Response) -> str | None:
        link = parse_link_header(response.headers.get("Link")).get("next")
        return page_link(response.url, link) if link else None
