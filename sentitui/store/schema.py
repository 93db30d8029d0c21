"""The schema, as the ordered list of migrations that build it on SQLite and PostgreSQL
(postgres.SchemaDb gives PostgreSQL the part of sqlite_utils they use). The Store runs
the ones a database has not had yet, in order, each in the same transaction as the
schema version it brings (database.Database.migrate)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sentitui.processing.clean import EARLIEST_PLAUSIBLE, RAW_DATE_SEGMENT
from sentitui.store import rollups
from sentitui.store.sql import SqliteDialect, dialect_for

if TYPE_CHECKING:
    import sqlite_utils


def _dialect(db: sqlite_utils.Database) -> SqliteDialect:
    """The SQL dialect of the database a migration is given: sqlite_utils' Database,
    or postgres.SchemaDb (told apart without importing psycopg for SQLite users)."""
    import sqlite_utils  # imported already: a migration is running on it or on SchemaDb

    return dialect_for("sqlite" if isinstance(db, sqlite_utils.Database) else "postgresql")


def _migrate_1(db: sqlite_utils.Database) -> None:
    db["posts"].create(
        {
            "id": int,
            "pipeline": str,
            "source": str,
            "external_id": str,
            "url": str,
            "author_hash": str,
            "text": str,
            "lang": str,
            "created_at": str,
            "fetched_at": str,
            "polarity": float,
            "subjectivity": float,
            "label": str,
            "feedback": str,
            "competitors": str,
            "rating": float,
            "segments": str,
            "run_id": int,
        },
        pk="id",
        not_null={"pipeline", "source", "external_id", "text"},
    )
    db.execute("CREATE UNIQUE INDEX posts_identity ON posts (pipeline, source, external_id)")
    db["posts"].create_index(["created_at"])
    db["posts"].create_index(["source", "label"])
    db["posts"].enable_fts(["text"], create_triggers=True, tokenize="unicode61")
    db["failed_records"].create(
        {
            "id": int,
            "run_id": int,
            "pipeline": str,
            "source": str,
            "stage": str,
            "error": str,
            "payload": str,
            "created_at": str,
            "attempts": int,
            "status": str,
            "context": str,
            "updated_at": str,
            "fingerprint": str,
        },
        pk="id",
        defaults={"attempts": 1, "status": "open"},
    )
    db["failed_records"].create_index(["status", "source"])
    db["failed_records"].create_index(["pipeline", "source", "fingerprint"])
    db["runs"].create(
        {
            "id": int,
            "pipeline": str,
            "source": str,
            "trigger": str,
            "started_at": str,
            "ended_at": str,
            "status": str,
            "fetched": int,
            "loaded": int,
            "duplicates": int,
            "failed": int,
            "error": str,
        },
        pk="id",
        defaults={"fetched": 0, "loaded": 0, "duplicates": 0, "failed": 0},
    )
    db["runs"].create_index(["pipeline", "source"])
    db["source_state"].create(
        {
            "pipeline": str,
            "source": str,
            "cursor": str,
            "updated_at": str,
        },
        pk=("pipeline", "source"),
    )


def _migrate_2(db: sqlite_utils.Database) -> None:
    """Continuous mode: `commands` an attached console writes for the daemon to carry
    out (status pending -> running -> done | failed, with a readable outcome), and
    `events`, the daemon's log lines and config reports for attached consoles."""
    db["commands"].create(
        {
            "id": int,
            "created_at": str,
            "action": str,
            "pipeline": str,
            "source": str,
            "args": str,
            "status": str,
            "outcome": str,
            "result": str,
            "done_at": str,
        },
        pk="id",
        defaults={"status": "pending"},
        not_null={"action"},
    )
    db["commands"].create_index(["status"])
    db["events"].create(
        {
            "id": int,
            "at": float,
            "kind": str,
            "level": str,
            "pipeline": str,
            "source": str,
            "message": str,
            "data": str,
        },
        pk="id",
    )


def _migrate_3(db: sqlite_utils.Database) -> None:
    """Insight: `posts.aspects`, a JSON object aspect -> {"polarity", "label"} for the
    aspects a post mentions; indexes for retention (purge by age)."""
    db.execute("ALTER TABLE posts ADD COLUMN aspects TEXT")
    db["posts"].create_index(["pipeline", "created_at"], index_name="posts_pipeline_created")
    db["failed_records"].create_index(["created_at"], index_name="failed_records_created")


def _migrate_text_label(db: sqlite_utils.Database) -> None:
    """Languages and ratings: `posts.text_label`, the text scorer's verdict kept beside
    a label that came from the star rating (`label_from = "rating"`), so agreement
    between the two can be measured; and an index for the language segment."""
    db.execute("ALTER TABLE posts ADD COLUMN text_label TEXT")
    db.execute("UPDATE posts SET text_label = label")
    db["posts"].create_index(["lang"], index_name="posts_lang")


def repair_implausible_created_at(db: sqlite_utils.Database) -> None:
    """Posts stored before the cleaner's date policy (processing/clean.py) may carry
    "no date" values such as 0001-01-01 or 9999-12-31, or no time at all: give them the
    time they were fetched and keep the value as written in segments.created_at_raw,
    as the cleaner now does for new posts. (The dialects' forms: store/sql.py.)"""
    d = _dialect(db)
    db.execute(
        f"""
        UPDATE posts
        SET segments = {d.json_set_text("segments", RAW_DATE_SEGMENT, "created_at")},
            created_at = fetched_at
        WHERE created_at IS NOT NULL
          AND ({d.not_iso_datetime("created_at")}
               OR created_at < ?
               OR created_at > {d.iso_plus_day("fetched_at")})
        """,
        (EARLIEST_PLAUSIBLE,),
    )


def _migrate_run_owners(db: sqlite_utils.Database) -> None:
    """Who runs each run: host, pid and process start time (store/owner.py), so the
    next process to start can close a dead owner's `running` runs as `interrupted`
    and a stopping process closes only its own."""
    db.execute("ALTER TABLE runs ADD COLUMN owner_host TEXT")
    db.execute("ALTER TABLE runs ADD COLUMN owner_pid INTEGER")
    db.execute("ALTER TABLE runs ADD COLUMN owner_started TEXT")
    db.execute("CREATE INDEX runs_status ON runs (status)")


def _migrate_rollups(db: sqlite_utils.Database) -> None:
    """Scale: pre-aggregated counts the writer keeps in step with the posts (see
    store/rollups.py), filled once from the posts already stored. The full-text index
    is filled by the writer once per batch (one INSERT … SELECT) instead of a trigger
    per row: half the cost of a post's write was that trigger."""
    d = _dialect(db)
    rollups.create(db, d)
    rollups.rebuild(db, d)
    db.execute(d.drop_trigger("posts_ai", "posts"))  # PostgreSQL never had it (a GIN index)
    # The Posts screen filters by source newest first: (source, created_at) reads one
    # page down the index where (source, label) sorted all of a source's posts (1.1 s
    # at 1M). Counts by source and label now come from the rollups.
    db.execute("DROP INDEX IF EXISTS idx_posts_source_label")
    db.execute("CREATE INDEX IF NOT EXISTS posts_source_created ON posts (source, created_at)")


def _migrate_fleet(db: sqlite_utils.Database) -> None:
    """A fleet of daemons on one database (store/fleet.py): `daemons`, `leases` (who
    pulls a source now, until when) and `runs.daemon_id`. On PostgreSQL, commits to the
    tables an attached console follows NOTIFY it (channel `sentitui`, the table's name)."""
    db["daemons"].create(
        {
            "id": int,
            "host": str,
            "pid": int,
            "started_at": str,
            "heartbeat": float,
            "stopped_at": str,
            "sources": str,
            "snapshot": str,
        },
        pk="id",
    )
    db["leases"].create(
        {
            "pipeline": str,
            "source": str,
            "daemon_id": int,
            "acquired": float,
            "expires": float,
            "after_run": int,
        },
        pk=("pipeline", "source"),
    )
    db["runs"].add_column("daemon_id", int)
    from sentitui.store import postgres

    if isinstance(db, postgres.SchemaDb):
        postgres.notify_on(db, ["runs", "events", "commands", "daemons", "meta"])


def _migrate_alerts(db: sqlite_utils.Database) -> None:
    """Alerts (store/alerts.py): one row per pipeline's rule with its state (`ok`,
    `firing`, `resolved`), so a restart neither forgets a firing alert nor sends it
    again; the posts that triggered it (JSON) and how its last notification went."""
    db["alerts"].create(
        {
            "pipeline": str,
            "name": str,
            "kind": str,
            "state": str,
            "value": float,
            "detail": str,
            "posts": str,
            "fired_at": str,
            "resolved_at": str,
            "updated_at": str,
            "notified_at": str,
            "delivery_error": str,
        },
        pk=("pipeline", "name"),
        defaults={"state": "ok"},
    )
    db["alerts"].create_index(["state"])


def _migrate_command_claims(db: sqlite_utils.Database) -> None:
    """commands.daemon_id: which daemon of a fleet claimed a command, so one waiting on
    it can tell when that daemon died with it in hand (engine/commands.py orphaned)."""
    db.execute("ALTER TABLE commands ADD COLUMN daemon_id INTEGER")


def _migrate_payload_bytes(db: sqlite_utils.Database) -> None:
    """PostgreSQL text cannot hold U+0000: there failed_records.payload becomes bytea
    (the payload's UTF-8), so a raw payload is kept byte for byte on both backends
    (sql.payload_param). SQLite's TEXT holds it already. Payloads stored before this
    on PostgreSQL had NUL as U+FFFD; they stay so."""
    if _dialect(db).name == "postgresql":
        db.execute(
            "ALTER TABLE failed_records ALTER COLUMN payload TYPE bytea "
            "USING convert_to(payload, 'UTF8')"
        )


def _migrate_scan_indexes(db: sqlite_utils.Database) -> None:
    """Two scans EXPLAIN showed on PostgreSQL at 200k posts (`bench --db`):
    - the ratings panel (rating_agreement, rating_disagreements) read every post to
      find the rated ones at each dashboard load (88 ms): a partial index holds only
      rated posts, with what those queries read, on both backends;
    - the Posts screen, newest first with undated posts last (`DESC NULLS LAST` on
      PostgreSQL, see sql.nulls_last), sorted all matching posts (98 ms for a page):
      a backward scan of the ascending index gives NULLs first there, so PostgreSQL
      gets indexes in that very order. SQLite's DESC already puts NULL last."""
    db.execute(
        "CREATE INDEX IF NOT EXISTS posts_rated ON posts (rating, text_label, polarity) "
        "WHERE rating IS NOT NULL"
    )
    if _dialect(db).name == "postgresql":
        db.execute("CREATE INDEX posts_newest ON posts (created_at DESC NULLS LAST, id DESC)")
        db.execute(
            "CREATE INDEX posts_source_newest "
            "ON posts (source, created_at DESC NULLS LAST, id DESC)"
        )


def _migrate_rating_rollup(db: sqlite_utils.Database) -> None:
    """Ratings against text labels as a rollup (`rollup_ratings`): the dashboard read
    every rated post for its agreement figure, and scanned the whole table for it when
    no post had a rating (the report's largest disagreements still read the rated posts,
    through the partial index posts_rated)."""
    d = _dialect(db)
    rollups.create(db, d)
    rollups.rebuild(db, d, tables=["rollup_ratings"])


# Each entry upgrades the schema by one version; never edit an entry once released.
MIGRATIONS = [
    _migrate_1,
    _migrate_2,
    _migrate_3,
    _migrate_text_label,
    repair_implausible_created_at,
    _migrate_run_owners,
    _migrate_rollups,
    _migrate_fleet,
    _migrate_alerts,
    _migrate_command_claims,
    _migrate_payload_bytes,
    _migrate_scan_indexes,
    _migrate_rating_rollup,
]


SCHEMA_VERSION = len(MIGRATIONS)
