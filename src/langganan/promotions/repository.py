from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from langganan.kit.errors import NotFoundCode
from langganan.kit.pagination import page
from langganan.kit.work import Work
from langganan.promotions.models import Promotion, PromotionRedemption
from langganan.promotions.rules import normalise_code


def by_code(session: Work, code: str, *, for_update: bool = False) -> Promotion | None:
    stmt = select(Promotion).where(Promotion.code == code)
    return session.scalar(stmt.with_for_update() if for_update else stmt)


def get(session: Work, ident: str) -> Promotion:
    """A promotion by id or by code."""
    found = session.get(Promotion, ident) or by_code(session, normalise_code(ident))
    if found is None:
        raise NotFoundCode("promotion_not_found", f"No promotion with id or code {ident!r}.", param="code")
    return found


def list_promotions(session: Work, limit: int, starting_after: str | None) -> tuple[Sequence[Promotion], bool]:
    return page(session, select(Promotion), Promotion.id, limit, starting_after)


def redemptions(session: Work, promotion_id: str, limit: int,
                starting_after: str | None) -> tuple[Sequence[PromotionRedemption], bool]:
    stmt = select(PromotionRedemption).where(PromotionRedemption.promotion_id == promotion_id)
    return page(session, stmt, PromotionRedemption.id, limit, starting_after)


def redemption_of(session: Work, promotion_id: str, account_id: str) -> PromotionRedemption | None:
    return session.scalar(select(PromotionRedemption).where(PromotionRedemption.promotion_id == promotion_id,
                                                            PromotionRedemption.account_id == account_id))
