"""Posts and failed records page by key: page after page, the rows are those OFFSET
paging gives, undated posts last, with filters."""

from __future__ import annotations

from sentitui.models import FailedRecord, Post
from sentitui.store import PageWrite, Store
from sentitui.store.rows import PostRow
from sentitui.tui.queries import FailedFilter, PostFilter, load_failed, load_posts, with_store


def post(n: int) -> Post:
    return Post(
        pipeline="p",
        source="s",
        external_id=str(n),
        text=f"post {n}",
        # Several posts share a second, some have no time at all.
        created_at=None if n % 7 == 0 else f"2026-11-20T10:{n % 13:02d}:00Z",
        label=("positive", "negative")[n % 2],
    )


def test_key_paging_walks_the_same_rows_as_offsets(db_url: str) -> None:
    """On both backends (PostgreSQL sorts NULL first in DESC unless told otherwise)."""
    db = db_url
    store = Store(db)
    stats = store.start_run("p", "s", "cli")
    failures = [FailedRecord("clean", f"bad {n}", f'{{"id": {n}}}') for n in range(45)]
    store.write_pages([PageWrite(stats, [post(n) for n in range(95)], failures)])

    for label in (None, "negative"):
        everything = store.search_posts(label=label, limit=1000)
        dated = [p for p in everything if p.created_at]
        assert everything[len(dated) :] and not any(p.created_at for p in everything[len(dated) :])
        walked: list[PostRow] = []
        offset = 0
        while True:
            window = with_store(
                db,
                lambda s, label=label, offset=offset: load_posts(
                    s, PostFilter(label=label), 10, offset
                ),
            )
            assert window.total == len(everything)
            if not window.rows:
                break
            walked += window.rows
            offset += 10
        assert [p.id for p in walked] == [p.id for p in everything]

    every_failed = store.failed_records(limit=1000)
    walked_ids: list[int] = []
    for offset in range(0, 60, 20):
        window = with_store(db, lambda s, offset=offset: load_failed(s, FailedFilter(), 20, offset))
        walked_ids += [r.id for r in window.rows]
    assert walked_ids == [r.id for r in every_failed]
    store.close()


def test_a_text_search_pages_newest_first_whichever_plan_reads_it(db_url: str, monkeypatch) -> None:
    """A common word's pages are read down the time index (the newest posts hold them),
    a rare word's from the full-text index; both give the rows in the same order as
    sorting every match, page after page, and the count stops where it is told."""
    from sentitui.store import reports

    monkeypatch.setattr(reports, "RECENT_WINDOW", 40)  # small, so both plans are used
    store = Store(db_url)
    stats = store.start_run("p", "s", "cli")
    posts = [post(n) for n in range(300)]
    for n, p in enumerate(posts):
        p.text = " ".join(
            word
            for word, every in (("common", 2), ("shiny", 3), ("rare", 97), ("post", 1))
            if n % every == 0
        )
    store.write_pages([PageWrite(stats, posts, [])])

    def expected(word: str, label: str | None) -> list[str]:
        rows = [p for p in posts if word in p.text.split() and (label is None or p.label == label)]
        dated = sorted((p for p in rows if p.created_at), key=lambda p: p.created_at or "")
        # Same second: the later insert (higher id) first; undated ones last, newest id first.
        ids = {p.external_id: i for i, p in enumerate(posts)}
        dated.sort(key=lambda p: (p.created_at, ids[p.external_id]), reverse=True)
        undated = sorted((p for p in rows if not p.created_at), key=lambda p: -ids[p.external_id])
        return [p.external_id for p in dated + undated]

    for word in ("common", "common shiny", "rare"):
        for label in (None, "negative"):
            want = [
                i
                for i in expected(word.split()[0], label)
                if all(w in posts[int(i)].text.split() for w in word.split())
            ]
            walked: list[PostRow] = []
            offset = 0
            while True:
                window = with_store(
                    db_url,
                    lambda s, word=word, label=label, offset=offset: load_posts(
                        s, PostFilter(query=word, label=label), 10, offset
                    ),
                )
                if not window.rows:
                    break
                walked += window.rows
                offset += 10
            assert [p.external_id for p in walked] == want, (word, label)
            assert store.count_search_posts(word, label=label) == len(want)
            assert store.count_search_posts(word, label=label, at_most=5) == min(5, len(want))
    store.close()
