"""Staff roles and what each may do in the console (a pure rule: tested on its own and route by route).

- owner: everything, including API keys, staff, the catalog, promotions, webhooks and the sandbox clock;
- finance: invoices, payments, refunds and credit notes, bank statements, held money, wallet adjustments,
  free periods, exports;
- support: accounts (trials, plan changes, cancellations, resending emails), read-only money;
- read_only: reads every page, changes nothing.
"""

from __future__ import annotations

from enum import StrEnum


class StaffRole(StrEnum):
    OWNER = "owner"
    FINANCE = "finance"
    SUPPORT = "support"
    READ_ONLY = "read_only"


class Permission(StrEnum):
    READ = "read"  # every console page that only shows
    ACCOUNTS = "accounts"  # account actions that move no money: trials, plans, cancellations, resend an email
    MONEY = "money"  # invoices, payments, refunds, statements, held money, wallet adjustments, comps, exports
    SETTINGS = "settings"  # API keys, staff, catalog, promotions, webhooks, the sandbox clock


GRANTS: dict[StaffRole, frozenset[Permission]] = {
    StaffRole.OWNER: frozenset(Permission),
    StaffRole.FINANCE: frozenset({Permission.READ, Permission.MONEY}),
    StaffRole.SUPPORT: frozenset({Permission.READ, Permission.ACCOUNTS}),
    StaffRole.READ_ONLY: frozenset({Permission.READ}),
}


def allows(role: StaffRole, permission: Permission) -> bool:
    return permission in GRANTS[role]
