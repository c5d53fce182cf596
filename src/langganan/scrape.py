"""What a Prometheus scrape reads: the instruments of `langganan.metrics` and gauges read from the database
at scrape time, as the text format; and the listener of LANGGANAN_METRICS_ADDRESS.

`/metrics` is not public: on the app it needs an admin API key; with LANGGANAN_METRICS_ADDRESS set it is
served by `serve` and `worker` on that address alone (a listener of its own, for a scraper on a private
network) and the app has no /metrics at all.

With PROMETHEUS_MULTIPROC_DIR set (prometheus_client's multiprocess mode), the counters and histograms are
those of every process writing to that directory, summed: one scrape of any `serve` process behind a shared
port sees them all, the `worker`s' too. The database gauges are read once per scrape either way."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from datetime import datetime
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, generate_latest, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from langganan import metrics
from langganan.config import ConfigError
from langganan.events import repository as events_repo
from langganan.invoices import repository as invoices_repo
from langganan.kit.clock import Clock, wall_now
from langganan.kit.db import Database
from langganan.notifications import repository as notifications_repo
from langganan.subscriptions import repository as subscriptions_repo

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's own variable, read when a process starts
log = logging.getLogger("langganan.metrics")


def _age(now: datetime, since: datetime | None) -> float:
    return max(0.0, (now - since).total_seconds()) if since is not None else 0.0


class DatabaseGauges(Collector):
    """The gauges a scrape reads from the database, in one short read-only transaction:

    - langganan_invoices{status}: invoices in each status;
    - langganan_due_subscriptions, langganan_due_lag_seconds: subscriptions whose agenda has something due at
      the engine clock's now, and how long the earliest has waited (0 when none): due work falling behind;
    - langganan_outbox_pending, langganan_outbox_oldest_age_seconds: events not yet fanned out into
      deliveries, and the age of the earliest by its event time (engine clock);
    - langganan_deliveries_pending{channel}, langganan_deliveries_oldest_age_seconds{channel}: emails and
      webhooks not yet delivered (waiting to be sent or for a retry), and the earliest one's age (wall time);
    - langganan_database_up: 1, or 0 when the database could not be read (the other gauges are left out;
      the counters are still served).
    """

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def describe(self) -> Iterator[Metric]:  # registering reads nothing
        return iter(())

    def collect(self) -> Iterator[Metric]:
        try:
            families = self._read()
        except Exception as exc:  # a scrape still answers, with the counters and this
            log.warning("metrics: the database could not be read: %s", str(exc).splitlines()[0] if str(exc) else
                        type(exc).__name__)
            families = []
        up = GaugeMetricFamily("langganan_database_up", "1 when the scrape could read the database, else 0")
        up.add_metric([], 1 if families else 0)
        yield up
        yield from families

    def _read(self) -> list[Metric]:
        invoices = GaugeMetricFamily("langganan_invoices", "Invoices by status", labels=["status"])
        due = GaugeMetricFamily("langganan_due_subscriptions",
                                "Subscriptions with agenda items due at the engine clock's now")
        lag = GaugeMetricFamily("langganan_due_lag_seconds", "How long the earliest due subscription has waited "
                                "for the due-work runner (engine clock), 0 when none is due")
        outbox = GaugeMetricFamily("langganan_outbox_pending", "Events not yet fanned out into deliveries")
        outbox_age = GaugeMetricFamily("langganan_outbox_oldest_age_seconds", "Age of the earliest event not yet "
                                       "fanned out, by its event time (engine clock), 0 when none")
        pending = GaugeMetricFamily("langganan_deliveries_pending", "Emails and webhooks not yet delivered "
                                    "(to be sent, or waiting for a retry)", labels=["channel"])
        pending_age = GaugeMetricFamily("langganan_deliveries_oldest_age_seconds", "Age of the earliest delivery "
                                        "not yet delivered (wall time), 0 when none", labels=["channel"])
        with self.db.sessions() as session:
            now = self.clock.now(session)
            for status, count in invoices_repo.count_by_status(session):
                invoices.add_metric([status], count)
            count, earliest = subscriptions_repo.due_backlog(session, now)
            due.add_metric([], count)
            lag.add_metric([], _age(now, earliest))
            count, earliest = events_repo.undispatched(session)
            outbox.add_metric([], count)
            outbox_age.add_metric([], _age(now, earliest))
            by_channel = {channel: (n, oldest) for channel, n, oldest in notifications_repo.pending_by_channel(session)}
        wall = wall_now()
        for channel in ("email", "webhook"):
            n, oldest = by_channel.get(channel, (0, None))
            pending.add_metric([channel], n)
            pending_age.add_metric([channel], _age(wall, oldest))
        return [invoices, due, lag, outbox, outbox_age, pending, pending_age]


def multiprocess() -> bool:
    """Whether this process keeps its metrics in PROMETHEUS_MULTIPROC_DIR (prometheus_client decides it
    from the environment the process started with)."""
    return bool(os.environ.get(MULTIPROC_DIR))


def registry(db: Database, clock: Clock) -> CollectorRegistry:
    """What a scrape of this process reads; a registry per app or listener, never the library's global one."""
    found = CollectorRegistry(auto_describe=False)
    if multiprocess():
        MultiProcessCollector(found)  # every process's instruments, summed (it registers itself)
    else:
        for instrument in metrics.INSTRUMENTS:
            found.register(instrument)
    found.register(DatabaseGauges(db, clock))
    return found


def exposition(scraped: CollectorRegistry) -> bytes:
    """The Prometheus text format of every metric (reads the database)."""
    return generate_latest(scraped)


class Listener:
    """/metrics on LANGGANAN_METRICS_ADDRESS, served from a thread of its own until closed."""

    def __init__(self, address: tuple[str, int], scraped: CollectorRegistry) -> None:
        host, port = address
        try:
            self._server: WSGIServer = start_http_server(port, host, registry=scraped)[0]
        except OSError as exc:
            shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            raise ConfigError(f"LANGGANAN_METRICS_ADDRESS={shown} cannot be listened on: {exc.strerror}") from exc

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
