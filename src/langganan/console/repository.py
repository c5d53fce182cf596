from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from langganan.console.models import LoginAttempt, StaffUser
from langganan.console.roles import StaffRole
from langganan.kit.errors import NotFound
from langganan.kit.work import Work


def staff_by_email(session: Work, email: str) -> StaffUser | None:
    return session.scalar(select(StaffUser).where(StaffUser.email == email))


def recent_failures(session: Work, by: str, value: str, since: datetime) -> int:
    """Failed sign-in attempts since then for this email (`by` "email") or client address (`by` "ip")."""
    column = LoginAttempt.email if by == "email" else LoginAttempt.ip
    return int(session.scalar(select(func.count()).select_from(LoginAttempt).where(
        column == value, LoginAttempt.succeeded.is_(False), LoginAttempt.created_at >= since)) or 0)


def staff_user(session: Work, staff_id: str, *, for_update: bool = False) -> StaffUser:
    user = session.get(StaffUser, staff_id, with_for_update=for_update)
    if user is None:
        raise NotFound("staff_user", staff_id)
    return user


def list_staff(session: Work) -> list[StaffUser]:
    """Every staff user, by email (a console has a handful)."""
    return list(session.scalars(select(StaffUser).order_by(StaffUser.email)))


def active_owners(session: Work, *, for_update: bool = False) -> list[StaffUser]:
    query = select(StaffUser).where(StaffUser.role == StaffRole.OWNER, StaffUser.disabled_at.is_(None))
    return list(session.scalars(query.order_by(StaffUser.id).with_for_update() if for_update
                                else query.order_by(StaffUser.id)))
