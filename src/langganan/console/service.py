"""Console staff: passwords kept as salted scrypt hashes (rule 15), sign-in rate limited per email
and per client address over a sliding window of wall time."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from langganan.accounts.service import normalise_email, valid_email
from langganan.audit import service as audit
from langganan.audit.service import Actor
from langganan.console import repository
from langganan.console.models import LoginAttempt, StaffUser
from langganan.console.roles import StaffRole
from langganan.kit.errors import Conflict, DomainError, Unprocessable
from langganan.kit.ids import new_id
from langganan.kit.work import Work

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MIN_PASSWORD = 10
NAME_LENGTH = 200  # staff_users.name
WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_EMAIL = 5
MAX_FAILURES_PER_IP = 20


class TooManyAttempts(DomainError):
    status = 429
    type = "rate_limit_error"


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    enc = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${enc(salt).decode()}${enc(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


@functools.cache
def _dummy_hash() -> str:
    """Compared against when the email is unknown, so a wrong email costs the same time as a wrong
    password; made on the first sign-in, not at every start-up."""
    return hash_password(secrets.token_urlsafe(16))


def create_staff(session: Work, email: str, name: str, password: str, now: datetime,
                 role: str = StaffRole.OWNER) -> StaffUser:
    chosen = _role(role)
    if not valid_email(email):
        raise Unprocessable("invalid_email", "The email address is not valid.", param="email")
    email = normalise_email(email)
    if len(name.strip()) > NAME_LENGTH:
        raise Unprocessable("invalid_name", f"A name is at most {NAME_LENGTH} characters.", param="name")
    if len(password) < MIN_PASSWORD:
        raise Unprocessable("password_too_short", f"Use a password of at least {MIN_PASSWORD} characters.",
                            param="password")
    if repository.staff_by_email(session, email) is not None:
        raise Conflict("staff_exists", f"A staff user {email} already exists.", param="email")
    user = StaffUser(id=new_id("stf"), email=email, name=name.strip() or email, password_hash=hash_password(password),
                     role=chosen, created_at=now)
    session.add(user)
    session.flush()
    return user


def _role(role: str) -> StaffRole:
    if role not in tuple(StaffRole):
        raise Unprocessable("invalid_role", f"Role must be one of {', '.join(StaffRole)}.", param="role")
    return StaffRole(role)


def _view(user: StaffUser) -> dict[str, str | None]:
    return {"email": user.email, "role": user.role.value,
            "disabled_at": user.disabled_at.isoformat() if user.disabled_at else None}


def add_staff(session: Work, email: str, name: str, role: str, *, by: Actor, now: datetime,
              logged_at: datetime) -> tuple[StaffUser, str]:
    """A console user made by an owner, with a random first password (shown once to the owner, who passes it
    on); written to the audit log at `logged_at` (the engine time of the caller's unit of work, as every entry;
    `now` is wall time, as the sign-in's)."""
    password = secrets.token_urlsafe(12)
    user = create_staff(session, email, name, password, now, role=role)
    audit.record(session, by, "staff.created", target_type="staff_user", target_id=user.id, now=logged_at,
                 after=_view(user))
    return user, password


def _keep_an_owner(session: Work, user: StaffUser) -> None:
    """Refuse to take the owner role from the last active owner (409 `last_owner`). The active owners' rows are
    locked first, so two owners demoting each other at once cannot both succeed."""
    owners = repository.active_owners(session, for_update=True)
    if user.role == StaffRole.OWNER and user.disabled_at is None and [o.id for o in owners] == [user.id]:
        raise Conflict("last_owner", "This is the last owner: make another staff user an owner first (someone "
                       "must be able to manage keys and staff).", param="role")


def change_role(session: Work, staff_id: str, role: str, *, by: Actor, logged_at: datetime) -> StaffUser:
    """Give a staff user another role; the same role again changes nothing."""
    chosen = _role(role)
    user = repository.staff_user(session, staff_id, for_update=True)
    if user.role == chosen:
        return user
    if chosen != StaffRole.OWNER:
        _keep_an_owner(session, user)
    before = _view(user)
    user.role = chosen
    audit.record(session, by, "staff.role_changed", target_type="staff_user", target_id=user.id, now=logged_at,
                 before=before, after=_view(user))
    return user


def set_disabled(session: Work, staff_id: str, disabled: bool, *, by: Actor, now: datetime,
                 logged_at: datetime) -> StaffUser:
    """Disable a staff user (signed out at the next page: every page checks) or enable one again; the last active
    owner cannot be disabled. Doing it twice changes nothing. (`now`: wall time; `logged_at`: the audit entry's.)"""
    user = repository.staff_user(session, staff_id, for_update=True)
    if (user.disabled_at is not None) == disabled:
        return user
    if disabled:
        _keep_an_owner(session, user)
    before = _view(user)
    user.disabled_at = now if disabled else None
    audit.record(session, by, "staff.disabled" if disabled else "staff.enabled", target_type="staff_user",
                 target_id=user.id, now=logged_at, before=before, after=_view(user))
    return user


def demo_staff(session: Work, email: str, now: datetime) -> tuple[StaffUser, str]:
    """The demo's staff user with a fresh random password (shown once by `serve --demo`; each start makes a new
    one, since only its hash is kept)."""
    password = secrets.token_urlsafe(12)
    user = repository.staff_by_email(session, normalise_email(email))
    if user is None:
        return create_staff(session, email, "Demo operator", password, now), password
    user.password_hash = hash_password(password)
    return user, password


def authenticate(session: Work, email: str, password: str, ip: str, wall_now: datetime) -> StaffUser | None:
    """The staff user for these credentials, or None. Every checked attempt is recorded (the caller
    commits either way); too many recent failures for the email or the address refuse the attempt
    before the password is even checked."""
    email = normalise_email(email)[:320]
    ip = ip[:64]
    since = wall_now - WINDOW
    if (repository.recent_failures(session, "email", email, since) >= MAX_FAILURES_PER_EMAIL
            or repository.recent_failures(session, "ip", ip, since) >= MAX_FAILURES_PER_IP):
        raise TooManyAttempts("too_many_attempts", "Too many sign-in attempts; wait a few minutes.")
    user = repository.staff_by_email(session, email)
    ok = verify_password(password, user.password_hash if user else _dummy_hash())
    ok = ok and user is not None and user.disabled_at is None
    session.add(LoginAttempt(email=email, ip=ip, succeeded=ok, created_at=wall_now))
    return user if ok else None
