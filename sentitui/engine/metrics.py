"""`run --watch --metrics HOST:PORT`: Prometheus metrics at `/metrics`.

Counters and the fetch histogram follow the engine's events in this process (they
start from zero when the daemon starts, as Prometheus expects of counters); open
failed records and alert states are read from the database at each scrape, so they
are right whoever wrote them. Names:

- sentitui_posts_loaded_total, sentitui_posts_duplicate_total, sentitui_posts_failed_total
  {pipeline, source}: raw records that became posts / duplicates / failed records
- sentitui_runs_total {pipeline, source, status}: finished runs
- sentitui_fetch_seconds {host}: HTTP request latency (histogram), with the response
- sentitui_failed_records_open {pipeline, source}: open failed records
- sentitui_stream_lag_seconds, sentitui_stream_events_per_second {pipeline, source}
- sentitui_source_last_success_timestamp_seconds {pipeline, source}: the last ok run
  ended, or a stream last committed
- sentitui_alert_firing {pipeline, alert}: 1 while the alert fires, else 0
- sentitui_credential_expiry_timestamp_seconds {pipeline, source, renews}: when the
  source's credential expires (renews="true": it renews itself)
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from sentitui.models import EngineEvent, RunFinished, RunProgress, StreamStats
from sentitui.sources.expiry import expiry_of
from sentitui.store import Store
from sentitui.store.alerts import epoch

if TYPE_CHECKING:
    from sentitui.engine.engine import Engine

FETCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class MetricsError(ValueError):
    """A --metrics address that cannot be used."""


def parse_address(text: str) -> tuple[str, int]:
    """'127.0.0.1:9464' -> ('127.0.0.1', 9464); '[::1]:9464' for IPv6."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise MetricsError(f"--metrics {text!r}: expected HOST:PORT, e.g. 127.0.0.1:9464")
    return (host.strip("[]") or "127.0.0.1"), int(port)


class StoreCollector(Collector):
    """What the database knows, read at each scrape with a reader of its own."""

    def __init__(self, db_path: str | Path) -> None:
        self.db_path = db_path

    def collect(self) -> Iterator[GaugeMetricFamily]:
        failed = GaugeMetricFamily(
            "sentitui_failed_records_open", "Open failed records", labels=["pipeline", "source"]
        )
        alerts = GaugeMetricFamily(
            "sentitui_alert_firing", "1 while the alert fires", labels=["pipeline", "alert"]
        )
        store = Store(self.db_path, migrate=False)
        try:
            for row in store.rows(
                "SELECT pipeline, source, COUNT(*) AS n FROM failed_records "
                "WHERE status = 'open' GROUP BY pipeline, source"
            ):
                failed.add_metric([row["pipeline"], row["source"]], row["n"])
            try:
                for row in store.rows("SELECT pipeline, name, state FROM alerts"):
                    alerts.add_metric([row["pipeline"], row["name"]], row["state"] == "firing")
            except Exception:  # a database from before alerts
                pass
        finally:
            store.close()
        yield failed
        yield alerts


class CredentialCollector(Collector):
    """Credential expiries the engine knows (settings, or tokens it obtained)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "sentitui_credential_expiry_timestamp_seconds",
            "When the source's credential expires",
            labels=["pipeline", "source", "renews"],
        )
        for pipeline in list(self.engine.pipelines.values()):
            for source in pipeline.sources:
                expiry = expiry_of(pipeline.name, source.name, source.options)
                if expiry is not None and expiry.expires_at is not None:
                    family.add_metric(
                        [pipeline.name, source.name, str(expiry.renews).lower()], expiry.expires_at
                    )
        yield family


class Metrics:
    """The engine's metrics in a registry of their own, served over HTTP."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.registry = CollectorRegistry()
        labels = ["pipeline", "source"]
        r = self.registry
        self.loaded = Counter("sentitui_posts_loaded", "Posts loaded", labels, registry=r)
        self.duplicates = Counter(
            "sentitui_posts_duplicate", "Records that were posts already", labels, registry=r
        )
        self.failed = Counter("sentitui_posts_failed", "Records that failed", labels, registry=r)
        self.runs = Counter("sentitui_runs", "Finished runs", [*labels, "status"], registry=r)
        self.fetch = Histogram(
            "sentitui_fetch_seconds",
            "HTTP request latency",
            ["host"],
            buckets=FETCH_BUCKETS,
            registry=r,
        )
        self.lag = Gauge(
            "sentitui_stream_lag_seconds",
            "Now minus the newest committed event",
            labels,
            registry=r,
        )
        self.rate = Gauge(
            "sentitui_stream_events_per_second", "Stream events per second", labels, registry=r
        )
        self.success = Gauge(
            "sentitui_source_last_success_timestamp_seconds",
            "When the source last succeeded (a run ended ok, or a stream committed)",
            labels,
            registry=r,
        )
        r.register(StoreCollector(engine.db_path))
        r.register(CredentialCollector(engine))
        self._seen: dict[int, tuple[int, int, int]] = {}  # run id -> counts already counted
        self._lock = threading.Lock()
        self._server: Any = None
        self._unsubscribe: Any = None

    def start(self, host: str, port: int) -> None:
        """Serve /metrics on host:port (a thread); raises MetricsError if it cannot bind."""
        try:
            self._server, _ = start_http_server(port, addr=host, registry=self.registry)
        except OSError as exc:
            raise MetricsError(f"--metrics {host}:{port}: cannot listen: {exc.strerror}") from None
        self._unsubscribe = self.engine.subscribe(self.on_event)
        self.engine.http.on_fetch = self.on_fetch

    def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self.engine.http.on_fetch == self.on_fetch:
            self.engine.http.on_fetch = None
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def seed(self) -> None:
        """Last success times from the database, so a restart does not show none."""
        store = Store(self.engine.db_path, migrate=False)
        try:
            rows = store.rows(
                "SELECT pipeline, source, MAX(ended_at) AS ended FROM runs "
                "WHERE status = 'ok' GROUP BY pipeline, source"
            )
        finally:
            store.close()
        for row in rows:
            when = epoch(row["ended"])
            if when is not None:
                self.success.labels(row["pipeline"], row["source"]).set(when)

    def on_fetch(self, url: str, seconds: float, status: int) -> None:
        self.fetch.labels(urlsplit(url).hostname or "").observe(seconds)

    def on_event(self, event: EngineEvent) -> None:
        if isinstance(event, RunProgress):
            self._count(event.run_id, event.pipeline, event.source, event)
            if self.engine.state(event.pipeline, event.source).status == "streaming":
                self.success.labels(event.pipeline, event.source).set(event.at)
        elif isinstance(event, RunFinished):
            stats = event.stats
            self._count(stats.run_id, stats.pipeline, stats.source, stats)
            self._seen.pop(stats.run_id, None)
            self.runs.labels(stats.pipeline, stats.source, stats.status).inc()
            if stats.status == "ok":
                self.success.labels(stats.pipeline, stats.source).set(stats.ended_at or event.at)
        elif isinstance(event, StreamStats):
            self.rate.labels(event.pipeline, event.source).set(event.events_per_second)
            if event.lag is not None:
                self.lag.labels(event.pipeline, event.source).set(event.lag)

    def _count(self, run_id: int, pipeline: str, source: str, counts: Any) -> None:
        """Add what a run counted since its last event (events carry running totals)."""
        with self._lock:
            loaded, duplicates, failed = self._seen.get(run_id, (0, 0, 0))
            self.loaded.labels(pipeline, source).inc(max(0, counts.loaded - loaded))
            self.duplicates.labels(pipeline, source).inc(max(0, counts.duplicates - duplicates))
            self.failed.labels(pipeline, source).inc(max(0, counts.failed - failed))
            self._seen[run_id] = (counts.loaded, counts.duplicates, counts.failed)
