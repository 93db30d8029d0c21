"""`kind = "youtube"`: comments on the product's videos, YouTube Data API v3
`GET /youtube/v3/commentThreads` (with up to five replies inline), one listing per video.

Pages chain through `nextPageToken`. YouTube has no "since": threads are asked for
newest first (`order=time`) and each video's paging stops at the first page that
reaches the newest comment the last run saw there. The API key travels in the
`X-Goog-Api-Key` header, so it never lands in logged URLs. Quota exhaustion is a
403 `quotaExceeded` with no reset header: the run stops and says the quota resets
at midnight Pacific time. A video with comments disabled is skipped with a warning.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sentitui.models import Page
from sentitui.net.http import AuthError, FetchError, Response
from sentitui.net.ratelimit import clock
from sentitui.sources.base import Option, SourceContext, get_path, parse_json
from sentitui.sources.json_api import comparable, listing_key, newest
from sentitui.sources.presets.common import CURSOR_FIELD, SocialPreset, as_object, preset_options

QUOTA_REASONS = ("quotaExceeded", "dailyLimitExceeded", "rateLimitExceeded")
SKIP_REASONS = ("commentsDisabled", "videoNotFound", "forbidden")
KEY_REASONS = (
    "keyInvalid",
    "API_KEY_INVALID",
    "keyExpired",
    "ipRefererBlocked",
    "accessNotConfigured",
)
PACIFIC = ZoneInfo("America/Los_Angeles")


class SkipVideo(Exception):
    """This video's comments cannot be read; the other videos still are."""


class YouTubeSource(SocialPreset):
    KIND = "youtube"
    OPTIONS = preset_options(
        "https://www.googleapis.com",
        video_ids=Option(
            (list,),
            required=True,
            doc='the product\'s videos: ["dQw4w9WgXcQ"]',
            shape=list[str],
        ),
        key=Option((str,), required=True, doc='API key: "${YOUTUBE_API_KEY}"'),
        max_results=Option((int,), default=100, doc="threads per page", minimum=1, maximum=100),
    )
    ENDPOINT = "/youtube/v3/commentThreads"
    RECORDS = "items"
    PAGINATION = {"type": "cursor", "cursor_path": "nextPageToken", "param": "pageToken"}
    SECRETS = ("key",)

    @classmethod
    def check_config(cls, config: Any) -> list[str]:
        ids = config.get("video_ids") or []
        if not ids or not all(isinstance(v, str) and v for v in ids):
            return ["key 'video_ids' must be a non-empty list of video ids"]
        return []

    def base_params(self) -> dict[str, Any]:
        return {
            "part": "snippet,replies",
            "order": "time",
            "textFormat": "plainText",
            "maxResults": self.config.options.get("max_results", 100),
        }

    def auth_headers(self) -> dict[str, str]:
        return {"X-Goog-Api-Key": str(self.config.options.get("key", ""))}

    async def pages(self, ctx: SourceContext) -> AsyncIterator[Page]:
        seen = ctx.cursor.get("videos") or {}
        for video in self.config.options["video_ids"]:
            self._since = seen.get(video)
            params = {**self.request_params(ctx), "videoId": video}
            try:
                async for page in self.walk(
                    ctx, self.options["url"], params, self.options["headers"]
                ):
                    yield page
            except SkipVideo as exc:
                ctx.log("WARNING", f"video {video}: {exc}; skipped")
                # Nothing more to read there: its listing is finished, not left halfway.
                done = {listing_key(self.options["url"], params): "done"}
                yield Page(records=[], url=self.options["url"], position=done)

    async def fetch(
        self, ctx: SourceContext, url: str, params: dict[str, Any], headers: dict[str, str]
    ) -> Response:
        try:
            return await super().fetch(ctx, url, params, headers)
        except FetchError as exc:
            reason = error_reason(exc.body)
            if reason in QUOTA_REASONS:
                raise FetchError(
                    exc.url,
                    f"YouTube API quota exhausted ({reason}); it resets at "
                    f"midnight Pacific time ({clock(next_quota_reset())} "
                    f"local): the next run after that resumes",
                    exc.status,
                    exc.body,
                    exc.headers,
                ) from None
            if reason in SKIP_REASONS:
                raise SkipVideo(f"HTTP {exc.status} {reason}") from None
            if reason in KEY_REASONS and not isinstance(exc, AuthError):
                raise AuthError(
                    exc.url,
                    f"HTTP {exc.status} {reason}: {self.auth_hint()}",
                    exc.status,
                    exc.body,
                    exc.headers,
                ) from None
            raise

    def records_of(self, data: Any) -> list[Any]:
        """Each thread, then its inline replies (which carry no video id: add the thread's)."""
        records = []
        for thread in super().records_of(data):
            records.append(thread)
            if not isinstance(thread, dict):
                continue
            video = (thread.get("snippet") or {}).get("videoId")
            for reply in (thread.get("replies") or {}).get("comments") or []:
                if (
                    isinstance(reply, dict)
                    and video
                    and "videoId" not in (reply.get("snippet") or {})
                ):
                    reply = {**reply, "snippet": {**reply.get("snippet", {}), "videoId": video}}
                records.append(reply)
        return records

    def stop_after(self, records: list[Any]) -> bool:
        since = getattr(self, "_since", None)
        reached = since is not None and any(
            comparable(t) < comparable(since) for t in (thread_time(r) for r in records) if t
        )
        return super().stop_after(records) or reached

    def next_cursor(
        self, cursor: dict[str, Any], loaded_fields: list[dict[str, Any]]
    ) -> dict[str, Any] | None:
        """Per video, the newest top-level comment time handed on."""
        videos = dict(cursor.get("videos") or {})
        for fields in loaded_fields:
            video, when = fields.get("_video"), fields.get(CURSOR_FIELD)
            if video and when:
                videos[video] = newest([videos.get(video), when])
        return {**cursor, "videos": videos} if videos != (cursor.get("videos") or {}) else None

    def map_record(self, payload: Any) -> dict[str, Any]:
        item = as_object(payload)
        top = (item.get("snippet") or {}).get("topLevelComment")
        comment = top if isinstance(top, dict) else item
        s = comment.get("snippet") or {}
        video = s.get("videoId") or (item.get("snippet") or {}).get("videoId")
        author = (s.get("authorChannelId") or {}).get("value") or s.get("authorDisplayName")
        return {
            "id": comment.get("id"),
            "text": s.get("textOriginal") or s.get("textDisplay"),
            "author": author,
            "created_at": s.get("publishedAt"),
            "url": f"https://www.youtube.com/watch?v={video}&lc={comment.get('id')}"
            if video
            else None,
            "segments": {"video": video} if video else {},
            CURSOR_FIELD: thread_time(item) if top is not None else None,
            "_video": video,
        }


def thread_time(record: Any) -> str | None:
    top = get_path(record, "snippet.topLevelComment.snippet.publishedAt")
    return top if isinstance(top, str) else None


def error_reason(body: str) -> str | None:
    """The reason of a Google API error body (errors[0].reason, or details' ErrorInfo)."""
    error = get_path(parse_json_or_none(body), "error")
    if not isinstance(error, dict):
        return None
    details, errors = error.get("details"), error.get("errors")
    listed = (details if isinstance(details, list) else []) + (
        errors if isinstance(errors, list) else []
    )
    for entry in listed:
        if isinstance(entry, dict) and entry.get("reason") in (
            *QUOTA_REASONS,
            *SKIP_REASONS,
            *KEY_REASONS,
        ):
            return str(entry["reason"])
    first = errors[0] if isinstance(errors, list) and errors else None
    reason = first.get("reason") if isinstance(first, dict) else None
    return reason if isinstance(reason, str) else None


def parse_json_or_none(body: str) -> Any:
    try:
        return parse_json(body)
    except ValueError:
        return None


def next_quota_reset(now: datetime | None = None) -> float:
    """Epoch seconds of the next midnight in Pacific time, when YouTube quotas reset."""
    local = (now or datetime.now(PACIFIC)).astimezone(PACIFIC)
    midnight = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=PACIFIC)
    return midnight.timestamp()
