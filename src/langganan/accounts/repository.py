from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import func, or_, select

from langganan.accounts.models import Account, TrialClaim
from langganan.kit.errors import NotFound
from langganan.kit.pagination import page
from langganan.kit.work import Work


def get(session: Work, account_id: str, *, for_update: bool = False) -> Account:
    account = session.get(Account, account_id, with_for_update=for_update or None)
    if account is None:
        raise NotFound("account", account_id)
    return account


def by_external_id(session: Work, external_id: str) -> Account | None:
    return session.scalar(select(Account).where(Account.external_id == external_id))


def trial_claimed(session: Work, email: str, account_id: str) -> bool:
    return session.scalar(select(TrialClaim.email).where(
        (TrialClaim.email == email) | (TrialClaim.account_id == account_id))) is not None


def many(session: Work, account_ids: Collection[str]) -> Sequence[Account]:
    return session.scalars(select(Account).where(Account.id.in_(account_ids))).all()


def list_accounts(session: Work, *, external_id: str | None, limit: int,
                  starting_after: str | None) -> tuple[Sequence[Account], bool]:
    stmt = select(Account)
    if external_id is not None:
        stmt = stmt.where(Account.external_id == external_id)
    return page(session, stmt, Account.id, limit, starting_after)


def search(session: Work, q: str, limit: int, starting_after: str | None) -> tuple[Sequence[Account], bool]:
    """The accounts whose id or external id is `q`, or whose name, email or company contains it (any case)."""
    stmt = select(Account)
    if q.strip():
        needle = f"%{q.strip().lower()}%"
        stmt = stmt.where(or_(Account.id == q.strip(), Account.external_id == q.strip(),
                              func.lower(Account.name).like(needle), func.lower(Account.email).like(needle),
                              func.lower(Account.company_name).like(needle)))
    return page(session, stmt, Account.id, limit, starting_after)
