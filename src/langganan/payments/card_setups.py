"""Adding a card through the configured gateway's own card entry, so the card number never reaches langganan:
the gateway's hosted page (Xendit) or langganan's page whose script registers the card with the gateway
(Midtrans), or the sandbox's test-card form.

`begin` asks the gateway for a setup and records it for the account (table card_setups, keyed by
langganan's id, which is the reference the gateway gets and the id the customer's return names). `finish`
takes only a setup of that account, asks the gateway which card it saved (outside any transaction) and keeps
it once: finishing the same setup again gives the same card. A setup is good for SETUP_LIFETIME; one that
was canceled or not completed changes nothing."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from langganan.accounts import repository as accounts_repo
from langganan.kit.db import Database
from langganan.kit.errors import Conflict
from langganan.kit.ids import new_id
from langganan.kit.work import Work
from langganan.payments import cards, repository
from langganan.payments.gateway import CardSetup, CardSetupIncomplete, Gateway
from langganan.payments.models import CardSetupRecord, PaymentMethod

SETUP_LIFETIME = timedelta(hours=24)  # Xendit's sessions last as long by default; a setup is refused after it
ClockNow = Callable[[Work], datetime]


def begin(db: Database, gateway: Gateway, account_id: str, urls: Callable[[str], tuple[str, str]],
          clock_now: ClockNow) -> tuple[str, CardSetup]:
    """Start a card setup for the account; `urls(setup_id)` gives where the customer comes back to
    (return URL, cancel URL). Returns langganan's id for the setup and where the card is entered."""
    setup_id = new_id("cs")
    with db.transaction() as s:
        account = accounts_repo.get(s, account_id)
        email, name = account.billing_email or account.email, account.contact_name or account.name
    return_url, cancel_url = urls(setup_id)
    setup = gateway.start_card_setup(reference=setup_id, email=email, name=name, return_url=return_url,
                                     cancel_url=cancel_url)
    with db.transaction() as s:
        s.add(CardSetupRecord(id=setup_id, account_id=account_id, provider=gateway.name,
                              session_id=setup.session_id, kind=str(setup.kind), created_at=clock_now(s)))
    return setup_id, setup


def _open(record: CardSetupRecord, gateway: Gateway, now: datetime) -> None:
    if record.provider != gateway.name:
        raise Conflict("card_setup_gateway_changed", f"This card entry was begun with {record.provider}, "
                       f"and payments now go through {gateway.name}; add the card again.", param="setup")
    if record.created_at + SETUP_LIFETIME < now:
        raise CardSetupIncomplete("The card entry expired before the card was saved; start again.",
                                  code="card_setup_expired")


def finish(db: Database, gateway: Gateway, account_id: str, setup_id: str, returned: Mapping[str, str],
           clock_now: ClockNow) -> PaymentMethod:
    """The card the account's setup `setup_id` saved, kept as a payment method (once)."""
    with db.transaction() as s:
        record = repository.card_setup(s, account_id, setup_id)
        if record.payment_method_id is not None:
            return repository.payment_method(s, account_id, record.payment_method_id)
        _open(record, gateway, clock_now(s))
        session_id = record.session_id
    saved = gateway.finish_card_setup(session_id, returned)
    with db.transaction() as s:
        record = repository.card_setup(s, account_id, setup_id, for_update=True)
        if record.payment_method_id is not None:  # finished meanwhile (the customer's second tab)
            return repository.payment_method(s, account_id, record.payment_method_id)
        now = clock_now(s)
        pm = cards.save_from_setup(s, account_id, gateway.name, saved, now)
        record.finished_at, record.payment_method_id = now, pm.id
        return pm
