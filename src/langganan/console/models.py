from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from langganan.console.roles import StaffRole
from langganan.kit.db import Base
from langganan.kit.enums import text_column


class StaffUser(Base):
    """An operator of the console. The password is kept as a salted scrypt hash (rule 15)."""

    __tablename__ = "staff_users"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[StaffRole] = mapped_column(text_column(StaffRole, 20), default=StaffRole.OWNER,
                                           server_default=StaffRole.OWNER.value)
    created_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None]


class LoginAttempt(Base):
    """Every console login attempt, for rate limiting per email and per client address (wall time)."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_email", "email", "created_at"),
                      Index("ix_login_attempts_ip", "ip", "created_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(320))
    ip: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]
