"""Opening an account: the account, its wallets and its first subscription (on Free, or on the trial
plan). It sits above accounts, wallets and subscriptions, so that accounts depends on none of them."""

from __future__ import annotations

from datetime import datetime

from langganan.accounts import service as accounts
from langganan.accounts.models import Account
from langganan.accounts.service import NewAccount
from langganan.kit.work import Work
from langganan.subscriptions import service as subscriptions
from langganan.wallets import service as wallets


def create(session: Work, data: NewAccount, now: datetime) -> Account:
    account = accounts.new_account(session, data, now)
    wallets.create_wallets(session, account, now)
    subscriptions.create_initial(session, account, now, start_trial=data.start_trial)
    return account
