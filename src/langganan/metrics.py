"""The Prometheus instruments: what langganan counts and times as it works, one small function per thing
that happens, called where it happens (after the commit where a rollback would make it untrue:
`kit.work.Work.on_commit`).

The instruments are process-wide objects (prometheus_client's nature), registered in no registry here:
`langganan.scrape` builds the registry a scrape reads, with these and the gauges read from the
database at scrape time. With PROMETHEUS_MULTIPROC_DIR set in the environment before the process starts,
prometheus_client keeps every value in a file of that directory, and a scrape of any process that
shares the directory sums all of them (`scrape.registry`): several `serve` processes behind one port,
and the `worker`s beside them.

This module imports nothing of langganan: every package may count."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from prometheus_client import Counter, Histogram
from prometheus_client.registry import Collector

# Latency buckets (seconds): HTTP requests and gateway calls, from a cached key's usage event (~1 ms) to a
# gateway's timeout (10 s); background batches, which last about LANGGANAN_BATCH_SECONDS but may wait 30 s.
FAST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
UNMATCHED = "unmatched"  # the route label of a request no route answers (never its raw path)

http_requests = Counter("langganan_http_requests", "HTTP requests answered, by method, route template and status",
                        ["method", "route", "status"])
http_duration = Histogram("langganan_http_request_duration_seconds",
                          "Time from a request's arrival to the end of its answer, by method and route template",
                          ["method", "route"], buckets=FAST_BUCKETS)
usage_events = Counter("langganan_usage_events", "Usage events by outcome (accepted, duplicate, rejected) and the "
                       "reason of a rejection (empty otherwise)", ["outcome", "reason"])
wallet_debits = Counter("langganan_wallet_debits_rupiah", "Money taken out of wallets (whole rupiah), by wallet kind "
                        "and ledger entry type (usage, hold, expiry, adjustment)", ["wallet", "type"])
wallet_credits = Counter("langganan_wallet_credits_rupiah", "Money put into wallets (whole rupiah), by wallet kind "
                         "and ledger entry type (grant, top_up, release, adjustment)", ["wallet", "type"])
due_batches = Histogram("langganan_due_batch_duration_seconds", "How long one due-work batch (a transaction of "
                        "subscriptions' agenda steps) took, commit included", buckets=BATCH_BUCKETS)
due_runs = Histogram("langganan_due_run_duration_seconds", "How long one run of the due-work runner took, from the "
                     "first batch until nothing was due", buckets=BATCH_BUCKETS)
due_steps = Counter("langganan_due_steps", "Subscription agenda steps done by the due-work runner, by kind", ["step"])
deliveries = Counter("langganan_deliveries", "Notification delivery attempts by channel (email, webhook) and "
                     "outcome (succeeded, retrying, failed)", ["channel", "outcome"])
delivery_duration = Histogram("langganan_delivery_duration_seconds", "How long one email or webhook send took",
                              ["channel"], buckets=FAST_BUCKETS)
gateway_calls = Counter("langganan_gateway_calls", "Calls to the payment gateway by gateway, operation and outcome "
                        "(ok, succeeded, pending, declined, refused, rejected, unavailable, error)",
                        ["gateway", "operation", "outcome"])
gateway_duration = Histogram("langganan_gateway_call_duration_seconds", "How long a payment gateway call took, "
                             "retries included, by gateway and operation", ["gateway", "operation"],
                             buckets=FAST_BUCKETS)
invoices_issued = Counter("langganan_invoices_issued", "Invoices issued (committed), by type", ["type"])
invoices_paid = Counter("langganan_invoices_paid", "Invoices that became paid (committed), by type", ["type"])
invoices_paid_rupiah = Counter("langganan_invoices_paid_rupiah", "The totals of invoices that became paid (whole "
                               "rupiah), by type", ["type"])

INSTRUMENTS: tuple[Collector, ...] = (
    http_requests, http_duration, usage_events, wallet_debits, wallet_credits, due_batches, due_runs, due_steps,
    deliveries, delivery_duration, gateway_calls, gateway_duration, invoices_issued, invoices_paid,
    invoices_paid_rupiah)


class UsageOutcome(Protocol):
    status: str  # accepted | duplicate | rejected
    code: str | None


_http_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}  # (labels() costs more than the counting)


def http_request(method: str, route: str, status: int, seconds: float) -> None:
    """One HTTP request answered. `route` is the template (`/v1/accounts/{account_id}`), never a raw path (so
    there are as many label sets as routes, methods and statuses)."""
    key = (method, route, status)
    children = _http_children.get(key)
    if children is None:
        children = _http_children[key] = (http_requests.labels(method, route, str(status)),
                                          http_duration.labels(method, route))
    children[0].inc()
    children[1].observe(seconds)


def usage_results(results: Iterable[UsageOutcome]) -> None:
    """The results of usage events whose transaction committed."""
    tally: dict[tuple[str, str], int] = {}
    for result in results:
        key = (result.status, (result.code or "") if result.status == "rejected" else "")
        tally[key] = tally.get(key, 0) + 1
    for (outcome, reason), n in tally.items():
        usage_events.labels(outcome, reason).inc(n)


def wallets_moved(moved: Mapping[tuple[str, str], tuple[int, int]]) -> None:
    """Committed wallet movements: per (wallet kind, entry type), the rupiah taken out and put in."""
    for (wallet, type_), (out, into) in moved.items():
        if out:
            wallet_debits.labels(wallet, type_).inc(out)
        if into:
            wallet_credits.labels(wallet, type_).inc(into)


def due_batch(seconds: float, steps: Mapping[str, int]) -> None:
    """A due-work batch committed after `seconds`, having done `steps` (by kind)."""
    due_batches.observe(seconds)
    for step, n in steps.items():
        if n:
            due_steps.labels(step).inc(n)


def due_run(seconds: float) -> None:
    due_runs.observe(seconds)


def delivery(channel: str, outcome: str, seconds: float) -> None:
    """A delivery attempt recorded: `outcome` succeeded, retrying or failed."""
    deliveries.labels(channel, outcome).inc()
    delivery_duration.labels(channel).observe(seconds)


def gateway_call(gateway: str, operation: str, outcome: str, seconds: float) -> None:
    gateway_calls.labels(gateway, operation, outcome).inc()
    gateway_duration.labels(gateway, operation).observe(seconds)


def invoice_issued(type_: str) -> None:
    invoices_issued.labels(type_).inc()


def invoice_paid(type_: str, total: int) -> None:
    invoices_paid.labels(type_).inc()
    if total > 0:
        invoices_paid_rupiah.labels(type_).inc(total)
