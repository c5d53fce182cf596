from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from langganan.accounts.models import Account, TrialClaim
from langganan.kit.errors import NotFound


def get(session: Session, account_id: str, *, for_update: bool = False) -> Account:
    account = session.get(Account, account_id, with_for_update=for_update or None)
    if account is None:
        raise NotFound("account", account_id)
    return account


def by_external_id(session: Session, external_id: str) -> Account | None:
    return session.scalar(select(Account).where(Account.external_id == external_id))


def trial_claimed(session: Session, email: str, account_id: str) -> bool:
    return session.scalar(select(TrialClaim.email).where(
        (TrialClaim.email == email) | (TrialClaim.account_id == account_id))) is not None
