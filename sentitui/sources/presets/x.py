"""`kind = "x"`: X (Twitter) API v2 recent search, `GET /2/tweets/search/recent`.

Pages chain through `meta.next_token`; later runs send `since_id` (the newest tweet
id seen, which is what `meta.newest_id` reports). `x-rate-limit-reset` is epoch
seconds. User location and follower counts come only through
`expansions=author_id` with `user.fields`, so each tweet is handed on with its
author (and, for a retweet, the original tweet) from the response's `includes`.

A retweet is counted once per original: it is mapped to the original tweet's id,
text, author and time, so a second sighting lands as a counted duplicate.
"""

from __future__ import annotations

import re
from typing import Any

from sentitui.net.ratelimit import RateLimitRules
from sentitui.sources.base import Option
from sentitui.sources.presets.common import (
    CURSOR_FIELD,
    SocialPreset,
    as_object,
    check_search,
    followers_band,
    preset_options,
    segments,
)
from sentitui.sources.streams.base import STREAM_OPTIONS

RT_PREFIX = re.compile(r"^RT @\w+: ")


class XSource(SocialPreset):
    KIND = "x"
    OPTIONS = preset_options(
        "https://api.x.com",
        query=Option((str,), doc="search query; X operators allowed"),
        hashtag=Option((str,), doc="searched as #hashtag when no query is given"),
        token=Option((str,), required=True, doc='app bearer token: "${X_BEARER_TOKEN}"'),
        max_results=Option((int,), default=100, doc="tweets per page", minimum=10, maximum=100),
        **STREAM_OPTIONS,
    )
    ENDPOINT = "/2/tweets/search/recent"
    RECORDS = "data"
    PAGINATION = {"type": "cursor", "cursor_path": "meta.next_token", "param": "next_token"}
    SINCE_PARAM = "since_id"
    RATE_LIMIT = RateLimitRules(reset="epoch")

    @classmethod
    def check_config(cls, config: Any) -> list[str]:
        return check_search(config)

    def base_params(self) -> dict[str, Any]:
        return {
            "query": self.search_text(),
            "max_results": self.config.options.get("max_results", 100),
            "tweet.fields": "author_id,created_at,lang,referenced_tweets",
            "expansions": "author_id,referenced_tweets.id,referenced_tweets.id.author_id",
            "user.fields": "location,public_metrics,username",
        }

    def records_of(self, data: Any) -> list[Any]:
        """Each tweet with its author and retweeted original from `includes`. A search
        with no results has no `data` key at all."""
        if not isinstance(data, dict):
            return super().records_of(data)
        includes = data.get("includes") or {}
        users = {u.get("id"): u for u in includes.get("users") or [] if isinstance(u, dict)}
        tweets = {t.get("id"): t for t in includes.get("tweets") or [] if isinstance(t, dict)}
        records = []
        for tweet in data.get("data") or []:
            if not isinstance(tweet, dict):
                records.append(tweet)
                continue
            expanded: dict[str, Any] = {}
            if tweet.get("author_id") in users:
                expanded["author"] = users[tweet["author_id"]]
            original = tweets.get(retweeted_id(tweet))
            if original is not None:
                expanded["retweeted"] = {
                    **original,
                    "includes": {"author": users.get(original.get("author_id"))},
                }
            records.append({**tweet, "includes": expanded} if expanded else tweet)
        return records

    def map_record(self, payload: Any) -> dict[str, Any]:
        tweet = as_object(payload)
        original_id = retweeted_id(tweet)
        source, text = tweet, tweet.get("text")
        if original_id is not None:
            original = (tweet.get("includes") or {}).get("retweeted")
            if original:
                source, text = original, original.get("text")
            else:  # the original was not expanded: keep what the retweet quotes of it
                source, text = (
                    {"created_at": tweet.get("created_at"), "lang": tweet.get("lang")},
                    RT_PREFIX.sub("", str(tweet.get("text") or "")),
                )
        user = (source.get("includes") or {}).get("author") or {}
        post_id = original_id or tweet.get("id")
        return {
            "id": post_id,
            "text": text,
            "author": source.get("author_id"),
            "created_at": source.get("created_at"),
            "lang": source.get("lang"),
            "url": f"https://x.com/i/web/status/{post_id}",
            "segments": segments(
                location=user.get("location"),
                followers=followers_band((user.get("public_metrics") or {}).get("followers_count")),
                language=source.get("lang") if source.get("lang") not in ("und", "zxx") else None,
            ),
            CURSOR_FIELD: tweet.get("id"),  # the retweet's own id: since_id must pass it
        }


def retweeted_id(tweet: dict[str, Any]) -> str | None:
    for ref in tweet.get("referenced_tweets") or []:
        if isinstance(ref, dict) and ref.get("type") == "retweeted":
            return ref.get("id")
    return None
