from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from langganan.console.models import LoginAttempt, StaffUser
from langganan.kit.work import Work


def staff_by_email(session: Work, email: str) -> StaffUser | None:
    return session.scalar(select(StaffUser).where(StaffUser.email == email))


def recent_failures(session: Work, by: str, value: str, since: datetime) -> int:
    """Failed sign-in attempts since then for this email (`by` "email") or client address (`by` "ip")."""
    column = LoginAttempt.email if by == "email" else LoginAttempt.ip
    return int(session.scalar(select(func.count()).select_from(LoginAttempt).where(
        column == value, LoginAttempt.succeeded.is_(False), LoginAttempt.created_at >= since)) or 0)
