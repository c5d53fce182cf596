"""Demo data: accounts on several plans, so a first start shows something real."""

from __future__ import annotations

from typing import Any

from langganan.accounts import repository as accounts_repo
from langganan.accounts import service as accounts
from langganan.apikeys import service as apikeys
from langganan.apikeys.models import Role
from langganan.app import make_clock
from langganan.config import Settings
from langganan.console import service as console
from langganan.kit.db import Database
from langganan.onboarding import service as onboarding
from langganan.payments import service as payments
from langganan.subscriptions import repository as subs_repo
from langganan.subscriptions import service as subscriptions

BILLING = {"contact_name": "Budi Santoso", "phone": "+62 812 1234 5678", "address": "Jl. Merdeka No. 1",
           "city": "Jakarta", "postal_code": "10110", "country": "ID", "tax_id": None}
DEMO = [
    ("Warung Kopi Nusantara", "free@demo.langganan.example", None, False),
    ("Klinik Sehat Sentosa", "trial@demo.langganan.example", None, True),
    ("Toko Batik Lestari", "growth@demo.langganan.example", "growth", False),
    ("PT Logistik Cepat", "pro@demo.langganan.example", "pro", False),
]


DEMO_STAFF = "demo@langganan.example"  # the console sign-in `serve --demo` prints


def load_demo(settings: Settings, db: Database) -> dict[str, Any]:
    clock = make_clock(settings)
    out: dict[str, Any] = {"accounts": []}
    with db.transaction() as s:
        now = clock.now(s)
        _key, out["api_key"] = apikeys.create(s, role=Role.ADMIN, name="demo", now=now)
        staff, out["staff_password"] = console.demo_staff(s, DEMO_STAFF, now)
        out["staff_email"] = staff.email
        for name, email, plan, trial in DEMO:
            external = "demo-" + email.split("@")[0]
            account = accounts_repo.by_external_id(s, external)
            if account is None:
                account = onboarding.create(s, accounts.NewAccount(name=name, email=email, external_id=external,
                                                                 start_trial=trial), now)
                accounts.update_billing_info(s, account, {**BILLING, "company_name": name, "email": email}, now)
                if plan:
                    _quote, invoice = subscriptions.change(s, settings, account, plan, "month", now)
                    assert invoice is not None
                    payments.mark_paid_manually(s, invoice, "DEMO-SEED", "demo data", now)
            sub = subs_repo.for_account(s, account.id)
            out["accounts"].append({"name": name, "plan": sub.plan_code, "status": sub.status, "id": account.id})
    return out
