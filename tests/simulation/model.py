"""A simple reference model of the subscription lifecycle, written from DESIGN.md's rules and the
README's lifecycle table, not from the engine's code: for each account its plan, interval, status,
period end and invoices (type and status), and how they move when money arrives and time passes.

Only the pure period arithmetic (kit.periods: month math with the anchor day) and the legacy
anniversary rule are shared with the engine; those have unit and mutation tests of their own.
Amounts are not modelled: `langganan verify` checks them (totals, ledger, payments).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from langganan.kit.periods import add_months_anchored, anchor_day_of, period_end, wall_time_of

# The engine's defaults (Settings): lifecycle lead times and windows.
RENEWAL_INVOICE_DAYS = 7
GRACE = timedelta(days=3)
CARD_RETRY_DAYS = (1, 3, 5)
PAYMENT_DAYS = timedelta(days=3)  # invoice_payment_days
RANK = {"free": 0, "starter": 1, "growth": 2, "pro": 3}
FREE, TRIAL_PLAN = "free", "starter"


@dataclass
class Inv:
    """An invoice the model expects: its type, status and, while unpaid, when it expires."""

    key: str  # the engine's invoice id when the model learnt it from an answer, else a name of its own
    type: str  # subscription | plan_change | renewal | top_up | add_on
    status: str  # unpaid | paid | expired | canceled | failed
    expires_at: datetime | None
    action: dict[str, object] = field(default_factory=dict)
    received: int = 0  # transfers held as underpayments of it, which count toward it while it can be applied


@dataclass
class Acct:
    key: str
    tz: str
    plan: str
    interval: str
    status: str  # trialing | active | past_due
    start: datetime
    end: datetime
    anchor_day: int
    anchor_time: time
    changed_at: datetime  # the last change to the subscription (an item overdue then happens then)
    card: str | None = None  # the saved card auto-renew charges: "good" | "bad" | None
    auto_renew: bool = False
    cancel_at_end: bool = False
    pending: tuple[str, str] | None = None  # a scheduled downgrade (plan, interval)
    invoiced_for: datetime | None = None  # the period end whose bank renewal was seen to
    attempts: int = 0  # card charges for the overdue renewal
    invoices: list[Inv] = field(default_factory=list)

    # -- what the engine's agenda holds (README, Lifecycle) -----------------------------------
    @property
    def has_card(self) -> bool:
        return self.auto_renew and self.card is not None

    @property
    def leaving(self) -> bool:
        return self.cancel_at_end or (self.pending is not None and self.pending[0] == FREE)

    def renewal(self) -> Inv | None:
        """The renewal of the current period end: any but a canceled one (rule 4)."""
        return next((i for i in self.invoices if i.type == "renewal" and i.status != "canceled"
                     and i.action["start"] == self.end), None)

    def next_plan(self) -> tuple[str, str]:
        return self.pending if self.pending is not None else (self.plan, self.interval)

    def agenda(self) -> list[tuple[datetime, int, str]]:
        """(when it falls due, order at the same instant, what) of the next lifecycle items; an item
        already overdue when the subscription last changed happens at that change."""
        items: list[tuple[datetime, int, str]] = []
        if self.status == "trialing":
            items.append((self.end, 2, "period_end"))
        elif self.status == "past_due":
            if self.has_card and self.attempts < 1 + len(CARD_RETRY_DAYS):
                retry = CARD_RETRY_DAYS[self.attempts - 1] if self.attempts else 0
                items.append((self.end + timedelta(days=retry), 3, "card_retry"))
            else:
                items.append((self.end + GRACE, 4, "grace_end"))
        else:
            items.append((self.end, 2, "period_end"))
            if self.plan != FREE and not self.has_card and not self.leaving and self.invoiced_for != self.end:
                items.append((self.end - timedelta(days=RENEWAL_INVOICE_DAYS), 1, "renewal_invoice"))
        return items


class Model:
    def __init__(self) -> None:
        self.accounts: dict[str, Acct] = {}
        self._n = 0

    def _key(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}-{self._n}"

    # -- accounts --------------------------------------------------------------------------
    def open(self, key: str, tz: str, now: datetime, *, trial: bool) -> Acct:
        acc = Acct(key=key, tz=tz, plan=FREE, interval="month", status="active", start=now, end=now,
                   anchor_day=1, anchor_time=time(), changed_at=now)
        self._start(acc, TRIAL_PLAN if trial else FREE, "month", now, "trialing" if trial else "active")
        self.accounts[key] = acc
        return acc

    def migrated(self, key: str, tz: str, plan: str, interval: str, start: datetime, end: datetime,
                 now: datetime, waived_id: str) -> None:
        acc = Acct(key=key, tz=tz, plan=plan, interval=interval, status="active", start=start, end=end,
                   anchor_day=anchor_day_of(start, tz), anchor_time=wall_time_of(start, tz), changed_at=now)
        acc.invoices.append(Inv(waived_id, "subscription", "waived", None))
        self.accounts[key] = acc

    def _start(self, acc: Acct, plan: str, interval: str, at: datetime, status: str) -> None:
        """A new period at `at` (purchase, trial, return to Free): the anchor becomes at's day."""
        acc.plan, acc.interval, acc.status = plan, interval, status
        acc.anchor_day, acc.anchor_time = anchor_day_of(at, acc.tz), wall_time_of(at, acc.tz)
        acc.start, acc.end = at, period_end(at, interval, acc.anchor_day, acc.tz, acc.anchor_time)
        acc.cancel_at_end, acc.pending, acc.attempts = False, None, 0
        acc.changed_at = max(acc.changed_at, at)

    def _to_free(self, acc: Acct, at: datetime) -> None:
        renewal = acc.renewal()
        if renewal is not None and renewal.status == "unpaid":
            renewal.status = "canceled"
        self._start(acc, FREE, "month", at, "active")

    def _roll(self, acc: Acct, renewal: Inv, at: datetime, *, keep_scheduled: bool = False) -> None:
        """The paid renewal's period starts at the old period end, however late it was paid. A cancel or
        downgrade scheduled after it was paid (`keep_scheduled`) applies at the end of that period."""
        acc.plan, acc.interval = str(renewal.action["plan"]), str(renewal.action["interval"])
        acc.start, acc.end = acc.end, renewal.action["end"]  # type: ignore[assignment]
        acc.status, acc.attempts = "active", 0
        if not keep_scheduled:
            acc.pending, acc.cancel_at_end = None, False
        acc.changed_at = max(acc.changed_at, at)

    def _renewal(self, acc: Acct, *, expires_at: datetime) -> Inv:
        plan, interval = acc.next_plan()
        end = period_end(acc.end, interval, acc.anchor_day, acc.tz, acc.anchor_time)
        inv = Inv(self._key("renewal"), "renewal", "unpaid", expires_at,
                  {"plan": plan, "interval": interval, "start": acc.end, "end": end})
        acc.invoices.append(inv)
        return inv

    # -- what an API answer tells the model it issued --------------------------------------
    def issued(self, acc: Acct, inv_id: str, type_: str, status: str, now: datetime, expires_at: datetime | None,
               **action: object) -> Inv:
        inv = Inv(inv_id, type_, status, expires_at if status == "unpaid" else None, dict(action))
        acc.invoices.append(inv)
        return inv

    def cancel_open_purchases(self, acc: Acct) -> None:
        """Rule 3: a new plan change, a downgrade or a cancel voids an older unpaid plan-change invoice."""
        for inv in acc.invoices:
            if inv.type in ("subscription", "plan_change") and inv.status == "unpaid":
                inv.status = "canceled"

    def void_open_renewal(self, acc: Acct) -> None:
        renewal = acc.renewal()
        if renewal is not None and renewal.status == "unpaid":
            renewal.status = "canceled"
            acc.invoiced_for = None

    # -- money arrives ---------------------------------------------------------------------
    def can_apply(self, acc: Acct, inv: Inv, now: datetime) -> bool:
        kind = inv.action.get("kind", inv.type)
        if inv.type == "top_up":
            return True
        if kind == "purchase":
            return acc.plan == FREE or acc.status == "trialing"
        if kind == "upgrade":  # while the rest of the period it prices is ahead
            return (acc.plan, acc.interval, acc.start) == inv.action["from"] and acc.status == "active" \
                and now < acc.end
        if inv.type == "renewal":
            return acc.end == inv.action["start"] and acc.plan != FREE
        if inv.type == "add_on":
            return acc.plan != FREE and acc.start == inv.action["start"] and now < acc.end
        return False

    def pay(self, acc: Acct, inv: Inv, now: datetime, *, amount: int | None = None, total: int = 0,
            card: bool = False) -> bool:
        """Money arrived at `now` for `inv` (`amount` of its `total`; None: all of it). Applied when the
        invoice can still do what it was issued for (rule 10) and, with what was held short of it
        before, covers it; else held. Returns whether it was applied."""
        if inv.status not in ("unpaid", "expired") or not self.can_apply(acc, inv, now):
            return False
        if amount is not None and inv.received + amount < total:
            inv.received += amount
            return False
        inv.status, inv.received = "paid", 0
        kind = inv.action.get("kind", inv.type)
        if kind in ("purchase", "upgrade") and card:
            acc.auto_renew = True
        if kind == "purchase":
            self._start(acc, str(inv.action["plan"]), str(inv.action["interval"]), now, "active")
        elif kind == "upgrade":
            self.void_open_renewal(acc)
            acc.plan, acc.interval = str(inv.action["plan"]), str(inv.action["interval"])
            acc.end = inv.action["end"]  # type: ignore[assignment]
            acc.pending, acc.cancel_at_end = None, False
            acc.changed_at = max(acc.changed_at, now)
        elif inv.type == "renewal":
            acc.pending, acc.cancel_at_end = None, False
            acc.changed_at = max(acc.changed_at, now)
            if acc.end <= now:
                self._roll(acc, inv, now)
        return True

    def charge(self, acc: Acct, inv: Inv, now: datetime) -> bool:
        """The auto-renew card is charged for `inv` (a renewal) at `now`."""
        if acc.card == "good":
            return self.pay(acc, inv, now)
        return False

    # -- time passes -----------------------------------------------------------------------
    def advance(self, now: datetime, to: datetime) -> None:
        for acc in self.accounts.values():
            self._catch_up(acc, to)

    def _catch_up(self, acc: Acct, to: datetime) -> None:
        for _ in range(1000):
            expiring = [i for i in acc.invoices if i.status == "unpaid" and i.expires_at is not None
                        and i.expires_at <= to]
            first_expiry = min(expiring, key=lambda i: i.expires_at or to) if expiring else None
            items = sorted(a for a in acc.agenda() if a[0] <= to)
            if first_expiry is not None and (not items or (first_expiry.expires_at or to) <= items[0][0]):
                first_expiry.status = "expired"
                continue
            if not items:
                return
            at, _order, what = items[0]
            getattr(self, "_" + what)(acc, max(at, acc.changed_at))
        raise AssertionError(f"{acc.key}: the model's agenda did not settle")

    def _renewal_invoice(self, acc: Acct, at: datetime) -> None:
        acc.invoiced_for = acc.end
        if acc.renewal() is None:
            self._renewal(acc, expires_at=acc.end + GRACE)

    def _period_end(self, acc: Acct, at: datetime) -> None:
        acc.changed_at = max(acc.changed_at, at)
        if acc.status == "trialing":
            if acc.has_card and not acc.leaving:
                inv = self._renewal(acc, expires_at=acc.end + timedelta(days=CARD_RETRY_DAYS[-1] + 1))
                inv.action.update(plan=acc.plan, interval="month")
                if not self.charge(acc, inv, at):
                    self._to_free(acc, acc.end)
                return
            self._to_free(acc, acc.end)
            return
        if acc.plan == FREE:
            acc.start, acc.end = acc.end, period_end(acc.end, "month", acc.anchor_day, acc.tz, acc.anchor_time)
            return
        renewal = acc.renewal()
        if renewal is not None and renewal.status == "paid":  # paid for: given; a cancel waits for its end
            self._roll(acc, renewal, at, keep_scheduled=True)
            return
        if acc.leaving:
            self._to_free(acc, acc.end)
            return
        if renewal is not None and renewal.status in ("expired", "failed"):
            self._to_free(acc, acc.end)
            return
        if acc.has_card:
            self._card_retry(acc, at)
            return
        if renewal is None:
            self._renewal(acc, expires_at=acc.end + GRACE)
        acc.status = "past_due"

    def _card_retry(self, acc: Acct, at: datetime) -> None:
        renewal = acc.renewal()
        if renewal is None:
            renewal = self._renewal(acc, expires_at=acc.end + timedelta(days=CARD_RETRY_DAYS[-1] + 1))
        if renewal.status in ("expired", "failed"):
            self._to_free(acc, at)
            return
        acc.attempts += 1
        if self.charge(acc, renewal, at):
            return
        acc.changed_at = max(acc.changed_at, at)
        if acc.attempts >= 1 + len(CARD_RETRY_DAYS):
            renewal.status = "failed"
            self._to_free(acc, at)
        else:
            acc.status = "past_due"

    def _grace_end(self, acc: Acct, at: datetime) -> None:
        renewal = acc.renewal()
        if renewal is not None and renewal.status == "unpaid":
            renewal.status = "expired"
        self._to_free(acc, at)


def months_later(at: datetime, months: int, tz: str) -> datetime:
    return add_months_anchored(at, months, anchor_day_of(at, tz), tz)
