"""The path to sharding by account stays open (issue 17; README "Running in production", Citus): every table
that holds an account's rows carries the account id, so it can be distributed by it and co-located with the
account's other rows. Each table is one of: distributed by account (ACCOUNT_TABLES), replicated to every node
(REFERENCE_TABLES: small, read everywhere), or kept on the coordinator (DEPLOYMENT_TABLES: the deployment's own
books that cross accounts). A new table fails here until it is placed."""

from __future__ import annotations

from langganan.models import metadata

# table -> whether a row may have no account (a deployment event, a staff session, money with no known payer)
ACCOUNT_TABLES = {
    "accounts": False,  # distributed by its id
    "audit_entries": True, "auto_top_ups": False, "card_setups": False, "credit_refunds": False,
    "deliveries": True, "delivery_attempts": True, "events": True, "invoice_lines": False, "invoices": False,
    "legacy_imports": False, "notifications": False, "payment_methods": False, "payment_receipts": True,
    "payments": False, "portal_links": False, "promotion_redemptions": False, "quota_alerts": False,
    "reservations": False, "subscription_add_ons": False, "subscription_periods": False, "subscriptions": False,
    "tax_invoice_numbers": False, "trial_claims": False, "unapplied_payments": True, "wallet_entries": False,
    "wallet_spend_hours": False, "wallets": False, "web_sessions": True,
}
REFERENCE_TABLES = {"api_keys", "catalog_versions", "promotions", "staff_users", "webhook_endpoints", "engine_clock",
                    "generated_secrets"}
DEPLOYMENT_TABLES = {
    "invoice_sequences",  # one gapless sequence per month across every account (rule 12)
    "bank_statements", "bank_statement_lines",  # a bank account's statement pays many accounts' invoices
    "gateway_notifications",  # arrive before the payer is known
    "idempotency_keys",  # per API key, not per account
    "login_attempts",  # staff sign-in throttling
}


def test_every_table_is_placed_once() -> None:
    placed = [*ACCOUNT_TABLES, *REFERENCE_TABLES, *DEPLOYMENT_TABLES]
    assert len(placed) == len(set(placed)), "a table is placed twice"
    assert set(metadata.tables) == set(placed), (
        f"not placed: {sorted(set(metadata.tables) - set(placed))}; gone: {sorted(set(placed) - set(metadata.tables))}")


def test_every_account_table_carries_the_account_id() -> None:
    for name, may_be_empty in ACCOUNT_TABLES.items():
        table = metadata.tables[name]
        column = table.c.id if name == "accounts" else table.c.get("account_id")
        assert column is not None, f"{name} holds an account's rows but has no account_id"
        assert str(column.type).startswith("VARCHAR"), name
        assert column.nullable == may_be_empty or column.primary_key, (
            f"{name}.account_id is {'nullable' if column.nullable else 'NOT NULL'}; expected the opposite")
