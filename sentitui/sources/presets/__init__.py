"""Social API presets: `kind = "x" | "mastodon" | "reddit" | "bluesky" | "hackernews" |
"youtube" | "instagram" | "facebook"`.

Each module describes one service's API for the generic `json_api` machinery
(endpoint, records, pagination, increments, rate-limit headers) and maps its records
to post fields, so a pipeline file needs three lines instead of a field mapping.
"""
