"""An invoice line's description in the page's language.

An issued invoice keeps the English descriptions it was issued with (copied at issue, never edited; the PDF
prints them). The portal page says them again in the visitor's language when it recognises the form the
domain wrote them in (subscriptions.rules, subscriptions.addons, wallets.topups, promotions.rules,
legacy.service); anything else (an operator's credit reason, a form not known here) is shown as issued.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime

from langganan.web.i18n import Translator

Say = Callable[[re.Match[str]], str]
INTERVALS = {"monthly": "month", "yearly": "year"}
WALLETS = {"Conversation balance": "conversation", "Broadcast balance": "broadcast"}


def describe(description: str, kind: str, t: Translator, add_on_names: Mapping[str, str],
             month: Callable[[datetime], str]) -> str:
    """`description` (a line of kind `kind`) in `t`'s language; `add_on_names` maps the catalog's English
    add-on names to the page's, `month` writes a month ("December 2025") in the page's language."""

    def interval(m: re.Match[str]) -> str:
        return t(f"package.{INTERVALS[m['interval']]}")

    def add_on(name: str) -> str:
        return add_on_names.get(name, name)

    def waived(m: re.Match[str]) -> str:
        try:
            when = month(datetime.strptime(m["month"], "%B %Y"))
        except ValueError:
            when = m["month"]
        return t("line.waiver", plan=m["plan"], interval=interval(m), month=when)

    forms: dict[str, list[tuple[str, Say]]] = {
        "plan": [(r"(?P<plan>.+) \((?P<interval>monthly|yearly)\) (?P<what>subscription|renewal)",
                  lambda m: t(f"line.plan_{m['what']}", plan=m["plan"], interval=interval(m)))],
        "proration_credit": [(r"Unused time on (?P<plan>.+) \((?P<interval>monthly|yearly)\) \((?P<left>\d+) of "
                              r"(?P<total>\d+) days\)",
                              lambda m: t("line.unused", plan=m["plan"], interval=interval(m), left=m["left"],
                                          total=m["total"]))],
        "proration_charge": [(r"Remaining time on (?P<plan>.+) \((?P<interval>monthly|yearly)\) \((?P<left>\d+) "
                              r"of (?P<total>\d+) days\)",
                              lambda m: t("line.remaining", plan=m["plan"], interval=interval(m), left=m["left"],
                                          total=m["total"]))],
        "add_on": [(r"(?P<name>.+) × (?P<n>\d+) \((?P<left>\d+) of (?P<total>\d+) days\)",
                    lambda m: t("line.add_on", name=add_on(m["name"]), n=m["n"], left=m["left"], total=m["total"])),
                   (r"(?P<name>.+) × (?P<n>\d+) renewal",
                    lambda m: t("line.add_on_renewal", name=add_on(m["name"]), n=m["n"]))],
        "top_up": [(r"(?P<wallet>Conversation balance|Broadcast balance) top-up",
                    lambda m: t("package.top_up", wallet=t(f"wallet.{WALLETS[m['wallet']]}")))],
        "discount": [(r"Promotion (?P<code>\S+) \((?P<off>\S+) off\)",
                      lambda m: t("line.discount", code=m["code"], off=m["off"]))],
        "waiver": [(r"(?P<plan>.+) \((?P<interval>monthly|yearly)\), postpaid (?P<month>.+): waived for the move "
                    r"to prepaid billing", waived)],
        "credit": [(r"Credit on (?P<number>\S+): (?P<reason>.*)",
                    lambda m: t("line.credit", number=m["number"], reason=m["reason"]))],
    }
    for pattern, say in forms.get(kind, []):
        m = re.fullmatch(pattern, description, flags=re.DOTALL)
        if m is not None:
            return say(m)
    return description
