"""What the screens, the CLI and the report read: failed records, runs, posts, and the
dashboard's figures (headline totals, per source, segments, the chart, competitors,
aspects and ratings), each as the typed rows of rows.py. The headline figures come from
the rollups (rollups.py), never from all posts."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any, TypeVar

from sentitui.processing.clean import RAW_DATE_SEGMENT
from sentitui.store import rollups
from sentitui.store.database import Database
from sentitui.store.rows import (
    AspectRow,
    CompetitorRow,
    Disagreement,
    FailedRecordDetail,
    FailedRecordRow,
    FleetRunRow,
    PostRow,
    RatingAgreement,
    RunRow,
    SegmentRow,
    SentimentPoint,
    SourceTotals,
    TimeRange,
    Totals,
    columns,
)
from sentitui.store.sql import payload_text
from sentitui.store.writer import iso

Row = TypeVar("Row")

# The pseudo segment key for posts.lang on the dashboard, in `stats` and the report.
LANGUAGE_SEGMENT = "language"


# Text searches: the newest posts a common word's page is looked for in (_newest_matches).
RECENT_WINDOW = 20_000


class Reports(Database):
    """The read queries, on either backend (the dialects' differences: sql.py)."""

    def _select(self, row_type: type[Row], sql: str, params: Iterable[Any] = ()) -> list[Row]:
        """`sql`'s rows as `row_type`, built by position: its SELECT lists the row's
        fields in order (rows.columns)."""
        return [row_type(*row) for row in self.conn.execute(sql, tuple(params)).fetchall()]

    def failed_heads(self, ids: Iterable[int]) -> dict[int, tuple[str, str]]:
        """id -> (pipeline, source) of the failed records that exist, payloads unread."""
        ids = list(ids)
        heads: dict[int, tuple[str, str]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            for record_id, pipeline, source in self.conn.execute(
                f"SELECT id, pipeline, source FROM failed_records WHERE id IN ({marks})", chunk
            ):
                heads[record_id] = (pipeline, source)
        return heads

    def failed_record(self, record_id: int) -> FailedRecordDetail | None:
        found = self._select(
            FailedRecordDetail,
            f"SELECT {columns(FailedRecordDetail)} FROM failed_records WHERE id = ?",
            (record_id,),
        )
        if not found:
            return None
        # The payload as the text received (bytea on PostgreSQL: sql.payload_text).
        return replace(found[0], payload=payload_text(found[0].payload))

    def failed_records(
        self,
        *,
        status: str | None = "open",
        source: str | None = None,
        stage: str | None = None,
        search: str | None = None,
        limit: int = 200,
        offset: int = 0,
        before_id: int | None = None,
    ) -> list[FailedRecordRow]:
        """Newest first. `before_id` (the last id of the previous page) pages by key, so
        a page deep in a long list costs as much as the first; `offset` skips rows."""
        where, params = self._failed_filter(status, source, stage, search)
        if before_id is not None:
            where = (where + " AND" if where else "WHERE") + " id < ?"
            params.append(before_id)
            offset = 0
        return self._select(
            FailedRecordRow,
            "SELECT id, run_id, pipeline, source, stage, error, created_at, updated_at, attempts, "
            f"status, {self.dialect.payload_size} AS payload_size FROM failed_records {where} "
            "ORDER BY id DESC LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )

    def count_failed(
        self,
        *,
        status: str | None = "open",
        source: str | None = None,
        stage: str | None = None,
        search: str | None = None,
    ) -> int:
        where, params = self._failed_filter(status, source, stage, search)
        row = self.conn.execute(f"SELECT COUNT(*) FROM failed_records {where}", params).fetchone()
        return int(row[0])

    @staticmethod
    def _failed_filter(
        status: str | None, source: str | None, stage: str | None, search: str | None
    ) -> tuple[str, list[Any]]:
        clauses, params = [], []
        for column, value in (("status", status), ("source", source), ("stage", stage)):
            if value:
                clauses.append(f"{column} = ?")
                params.append(value)
        if search:  # a substring: % and _ are only themselves
            escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            clauses.append("error LIKE ? ESCAPE '\\'")
            params.append(f"%{escaped}%")
        return ("WHERE " + " AND ".join(clauses)) if clauses else "", params

    def runs(self, limit: int = 50, pipeline: str | None = None) -> list[RunRow]:
        """The latest runs, newest first (of one pipeline when given)."""
        where, params = ("WHERE pipeline = ?", [pipeline]) if pipeline else ("", [])
        return self._select(
            RunRow,
            f"SELECT {columns(RunRow)} FROM runs {where} ORDER BY id DESC LIMIT ?",
            (*params, limit),
        )

    def last_runs(self) -> dict[tuple[str, str], RunRow]:
        """The latest run of every (pipeline, source)."""
        rows = self._select(
            RunRow,
            f"SELECT {columns(RunRow)} FROM runs "
            "WHERE id IN (SELECT MAX(id) FROM runs GROUP BY pipeline, source)",
        )
        return {(r.pipeline, r.source): r for r in rows}

    def runs_by_daemon(self, limit: int) -> list[FleetRunRow]:
        """The latest runs, newest first, each with the daemon that ran it (the fleet)."""
        return self._select(
            FleetRunRow,
            "SELECT r.id, r.pipeline, r.source, r.status, r.loaded, r.started_at, "
            "d.host, d.pid FROM runs r LEFT JOIN daemons d ON d.id = r.daemon_id "
            "ORDER BY r.id DESC LIMIT ?",
            (limit,),
        )

    def totals(self) -> Totals:
        """Headline figures for the dashboard and `sentitui stats`."""
        posts, avg, positive, neutral, negative, unscored = rollups.totals(self.conn)
        open_failed = self.count_failed(status="open")
        # Shares are of the posts a scorer read: an unscored post is no vote either way.
        scored = posts - unscored
        return Totals(
            posts=posts,
            scored=scored,
            unscored=unscored,
            avg_polarity=avg,
            positive=positive or 0,
            neutral=neutral or 0,
            negative=negative or 0,
            share_negative=round(negative / scored, 4) if scored else 0.0,
            open_failed=open_failed,
        )

    # The dashboard and `stats` read the rollups (store/rollups.py), never all posts.

    def totals_by_source(self) -> list[SourceTotals]:
        return rollups.totals_by_source(self.conn)

    def feedback_split(self) -> dict[str, int]:
        return rollups.feedback_split(self.conn)

    def segment_keys(self) -> list[str]:
        """The segment keys posts carry (not the cleaner's raw-date note), then
        `language` when any post has one."""
        return [k for k in rollups.segment_keys(self.conn) if k != RAW_DATE_SEGMENT]

    def segment_breakdown(self, key: str) -> list[SegmentRow]:
        return rollups.segment_breakdown(self.conn, key)

    def sentiment_over_time(
        self, bucket_seconds: int, since: str | None = None, time_column: str = "created_at"
    ) -> list[SentimentPoint]:
        """Average polarity per source per time bucket (bucket start as ISO 8601 UTC)."""
        if time_column not in ("created_at", "fetched_at"):
            raise ValueError(time_column)
        if time_column == "created_at" and bucket_seconds % 60 == 0:
            return rollups.sentiment_over_time(self.conn, bucket_seconds, since)
        where = f"WHERE {time_column} IS NOT NULL" + (f" AND {time_column} >= ?" if since else "")
        params: list[Any] = [bucket_seconds, bucket_seconds]
        if since:
            params.append(since)
        return self._select(
            SentimentPoint,
            f"SELECT source, {self.dialect.time_bucket(time_column)} AS bucket, "
            "COUNT(*) AS posts, ROUND(AVG(polarity), 4) AS avg_polarity "
            f"FROM posts {where} GROUP BY source, bucket ORDER BY bucket, source",
            params,
        )

    def posts_per_minute(self, minutes: int = 5) -> float:
        since = iso(time.time() - minutes * 60)
        assert since is not None
        return round(rollups.posts_since(self.conn, since) / minutes, 2)

    def search_posts(
        self,
        query: str | None = None,
        *,
        source: str | None = None,
        label: str | None = None,
        feedback: str | None = None,
        limit: int = 100,
        offset: int = 0,
        before: tuple[str | None, int] | None = None,
    ) -> list[PostRow]:
        """Posts newest first (undated ones last); `query` is full-text (FTS5 syntax,
        words are ANDed). `before` is the (created_at, id) of the previous page's last
        row: paging by key reads one page down the index however deep it is."""
        where, params = self._posts_filter(query, source, label, feedback)
        order = f"ORDER BY created_at DESC{self.dialect.nulls_last}, id DESC LIMIT ?"
        select = f"SELECT {columns(PostRow)} FROM posts"
        filters = {"source": source, "label": label, "feedback": feedback}
        if query and self.dialect.name == "sqlite" and (offset == 0 or before is not None):
            # A word in more than limit/RECENT_WINDOW of all posts: its page is expected
            # among the newest RECENT_WINDOW (counting that far is a few ms).
            common = max(1, rollups.count_posts(self.conn) * limit // RECENT_WINDOW)
            if self.count_search_posts(query, **filters, at_most=common) >= common:
                newest = self._newest_matches(query, source, label, feedback, limit, before)
                if newest is not None:
                    return newest
        if before is None:
            return self._select(
                PostRow, f"{select} {where} {order} OFFSET ?", (*params, limit, offset)
            )
        joiner = f"{where} AND" if where else "WHERE"
        created_at, last_id = before
        rows: list[PostRow] = []
        if created_at is not None:  # dated posts after the key, then the undated ones
            rows = self._select(
                PostRow,
                f"{select} {joiner} (created_at, id) < (?, ?) {order}",
                (*params, created_at, last_id, limit),
            )
            last_id = 2**63 - 1
        if len(rows) < limit:
            rows += self._select(
                PostRow,
                f"{select} {joiner} created_at IS NULL AND id < ? {order}",
                (*params, last_id, limit - len(rows)),
            )
        return rows

    def _newest_matches(
        self,
        query: str,
        source: str | None,
        label: str | None,
        feedback: str | None,
        limit: int,
        before: tuple[str | None, int] | None,
    ) -> list[PostRow] | None:
        """A page of a text search read newest first down the `created_at` index, each
        post checked against the full-text index, within the newest RECENT_WINDOW dated
        posts (after `before`); None when they hold less than a page.

        SQLite's plan for the search takes every match from the full-text index and
        sorts them: 0.6 s for a word in 40% of 1M posts, ten times that at 10M. A word
        that common fills a page from the newest few hundred posts; a rare one finds no
        page in the window and takes that plan, which is quick for few matches."""
        if before is not None and before[0] is None:
            return None  # paging through the undated posts: the plain plan
        key, key_params = "", []
        if before is not None:
            key, key_params = "AND (created_at, id) < (?, ?)", [before[0], before[1]]
        edge = self.conn.execute(
            f"SELECT created_at FROM posts WHERE created_at IS NOT NULL {key} "
            "ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET ?",
            (*key_params, RECENT_WINDOW - 1),
        ).fetchone()
        clauses, params = self._posts_clauses(None, source, label, feedback)
        clauses.append(
            "EXISTS (SELECT 1 FROM posts_fts WHERE posts_fts.rowid = posts.id "
            "AND posts_fts MATCH ?)"
        )
        params.append(self.dialect.fts_query(query))
        clauses.append(f"created_at IS NOT NULL {key}")
        params += key_params
        if edge is not None:
            clauses.append("created_at >= ?")
            params.append(edge[0])
        rows = self._select(
            PostRow,
            f"SELECT {columns(PostRow)} FROM posts WHERE {' AND '.join(clauses)} "
            "ORDER BY created_at DESC, id DESC LIMIT ?",
            (*params, limit),
        )
        return rows if len(rows) == limit else None

    def _posts_filter(
        self, query: str | None, source: str | None, label: str | None, feedback: str | None
    ) -> tuple[str, list[Any]]:
        clauses, params = self._posts_clauses(query, source, label, feedback)
        return ("WHERE " + " AND ".join(clauses)) if clauses else "", params

    def _posts_clauses(
        self, query: str | None, source: str | None, label: str | None, feedback: str | None
    ) -> tuple[list[str], list[Any]]:
        """The conditions on `posts` of a search and its filters, with their parameters."""
        clauses: list[str] = []
        params: list[Any] = []
        if query:
            clauses.append(self.dialect.fts_match())
            params.append(self.dialect.fts_query(query))
        for column, value in (("source", source), ("label", label), ("feedback", feedback)):
            if value:
                clauses.append(f"posts.{column} = ?")
                params.append(value)
        return clauses, params

    def count_posts(self, pipeline: str | None = None) -> int:
        return rollups.count_posts(self.conn, pipeline)

    def count_search_posts(
        self,
        query: str | None = None,
        *,
        source: str | None = None,
        label: str | None = None,
        feedback: str | None = None,
        at_most: int | None = None,
    ) -> int:
        """How many posts `search_posts` would page through (for "rows 1-100 of N");
        a text search stops counting at `at_most` (a common word matches most of 10M
        posts: counting them all took seconds)."""
        if not query:  # a maintained count; only a text search counts rows
            return rollups.count_posts(self.conn, None, source, label, feedback)
        if at_most is not None and self.dialect.name == "sqlite":
            # Driven by the full-text index, so it stops at `at_most` (the IN form the
            # other queries use collects every match first). Dialects differ here.
            clauses, params = self._posts_clauses(None, source, label, feedback)
            others = "".join(f" AND {clause}" for clause in clauses)
            sql = (
                "SELECT COUNT(*) FROM (SELECT 1 FROM posts_fts JOIN posts ON posts.id = "
                f"posts_fts.rowid WHERE posts_fts MATCH ?{others} LIMIT ?)"
            )
            params = [self.dialect.fts_query(query), *params, at_most]
            return int(self.conn.execute(sql, params).fetchone()[0])
        where, params = self._posts_filter(query, source, label, feedback)
        if at_most is None:
            sql = f"SELECT COUNT(*) FROM posts {where}"
        else:
            sql = f"SELECT COUNT(*) FROM (SELECT 1 FROM posts {where} LIMIT ?) AS matches"
            params.append(at_most)
        return int(self.conn.execute(sql, params).fetchone()[0])

    def created_range(self, earliest: str, latest: str) -> TimeRange:
        """The first and last `created_at` from `earliest` to `latest`, and how many
        dated posts fall outside (the console's "all" chart: a stored 0001-01-01 or
        9999-12-31, "no date" to some APIs, would squash every other point)."""
        # Each part one short walk of the created_at index (MIN and MAX of a range in
        # one SELECT read the whole range: 2.9 s at 10M posts); the posts outside the
        # range are the few implausible ones.
        first, last, before, after = self.conn.execute(
            "SELECT (SELECT MIN(created_at) FROM posts WHERE created_at >= ? "
            "AND created_at <= ?), (SELECT MAX(created_at) FROM posts WHERE created_at >= ? "
            "AND created_at <= ?), (SELECT COUNT(*) FROM posts WHERE created_at < ?), "
            "(SELECT COUNT(*) FROM posts WHERE created_at > ?)",
            (earliest, latest, earliest, latest, earliest, latest),
        ).fetchone()
        return TimeRange(first, last, int(before) + int(after))

    def post_time_range(self) -> tuple[str | None, str | None]:
        """First and last `created_at`: the console sizes its "all" chart buckets from it."""
        # Two subqueries, each one step down the created_at index (MIN and MAX in one
        # SELECT would scan the whole table).
        row = self.conn.execute(
            "SELECT (SELECT MIN(created_at) FROM posts), (SELECT MAX(created_at) FROM posts)"
        ).fetchone()
        return row[0], row[1]

    # ---- insight panels (competitors, aspects) ------------------------------------------

    def competitor_summary(self, pipeline: str | None = None) -> list[CompetitorRow]:
        """Per competitor mentioned: `mentions` (posts naming it), `share_of_voice`
        (mentions / all posts in scope, 0..1), `avg_polarity` of those posts and their
        positive/neutral/negative counts; most mentioned first."""
        total = self.count_posts(pipeline)
        return [
            CompetitorRow(**row, share_of_voice=round(row["mentions"] / total, 4) if total else 0.0)
            for row in rollups.competitor_rows(self.conn, pipeline)
        ]

    def aspect_summary(
        self, segment_key: str | None = None, pipeline: str | None = None
    ) -> list[AspectRow]:
        """Per aspect (and per value of `segment_key`, e.g. "age_group", when given):
        `mentions`, `avg_polarity`, positive/neutral/negative counts and
        `negative_share`. Posts without that segment are left out of a segmented
        summary. Ordered by segment, then most negative mentions first."""
        return [
            AspectRow(**row, negative_share=round(row["negative"] / row["mentions"], 4))
            for row in rollups.aspect_rows(self.conn, segment_key, pipeline)
        ]

    def top_complaints(
        self, segment_key: str | None = None, pipeline: str | None = None
    ) -> dict[str | None, str]:
        """{segment value: the aspect with the most negative mentions} — "price is the
        top complaint among 18-24". Without a key the one entry is under None."""
        return top_complaints_of(self.aspect_summary(segment_key, pipeline))

    # ---- ratings: the customers' own verdict beside the text scorer's -----------------

    def rating_agreement(self) -> RatingAgreement:
        """How often the text scorer agrees with the customers' ratings, over posts that
        have both: `rated`, `agreement` (share with the same label), `macro_f1` (the
        rating's label as truth) and the confusion counts rating label -> text label."""
        return agreement_of(rollups.rating_confusion(self.conn))

    def rating_disagreements(self, limit: int = 10) -> list[Disagreement]:
        """Rated posts whose text polarity is furthest from their rating (both put on
        -1..1): where the scorer misreads customers, or the text says more than stars."""
        return self._select(
            Disagreement,
            "SELECT id, pipeline, source, url, text, rating, polarity, label, text_label, "
            "ABS((rating * 2 - 1) - polarity) AS gap FROM posts "
            "WHERE rating IS NOT NULL AND polarity IS NOT NULL "
            "ORDER BY gap DESC, id LIMIT ?",
            (limit,),
        )


def agreement_of(counts: Mapping[tuple[str, str], int]) -> RatingAgreement:
    """Posts per (truth, guess) label pair -> how often they agree; macro-F1 averages
    over the labels that occur as truth or guess."""
    labels = ("positive", "neutral", "negative")
    confusion = {t: dict.fromkeys(labels, 0) for t in labels}
    for (truth, guess), posts in counts.items():
        confusion[truth][guess] += posts
    n = sum(counts.values())
    agree = sum(confusion[label][label] for label in labels)
    scores = []
    for label in labels:
        tp = confusion[label][label]
        truth_n = sum(confusion[label].values())
        guess_n = sum(confusion[t][label] for t in labels)
        if truth_n or guess_n:
            scores.append(2 * tp / (truth_n + guess_n))
    return RatingAgreement(
        rated=n,
        agreement=round(agree / n, 4) if n else None,
        macro_f1=round(sum(scores) / len(scores), 4) if scores else None,
        confusion=confusion,
    )


def top_complaints_of(rows: Iterable[AspectRow]) -> dict[str | None, str]:
    """`Store.top_complaints` from rows `aspect_summary` already returned (the first
    aspect with negative mentions in each segment: rows come most negative first)."""
    top: dict[str | None, str] = {}
    for row in rows:
        if row.negative and row.segment not in top:
            top[row.segment] = row.aspect
    return top
