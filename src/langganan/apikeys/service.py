"""API keys (DESIGN rule 15): random 32-byte tokens, stored as SHA-256 hashes, with a role and a name.

A key is looked up by its hash (a unique index) on every request: nothing remembers a key between requests,
so a revoked key, or a rotated one past its overlap, is refused on the very next request in every process.
Its `last_used_at` is written at most once a minute (a conditional UPDATE, never a write per request).
Times here are wall time (rule 14: security)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from langganan.apikeys import repository
from langganan.apikeys.models import ApiKey, Role
from langganan.audit import service as audit
from langganan.audit.models import ActorKind
from langganan.audit.service import Actor
from langganan.kit.errors import Conflict, Forbidden, Unauthorized, Unprocessable
from langganan.kit.ids import new_id
from langganan.kit.work import Work

ROLES = tuple(Role)
NAME_LENGTH = 200  # api_keys.name
TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is kept to this precision
MAX_OVERLAP = timedelta(days=30)  # how long a rotated key may keep working beside its replacement


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _name(name: str) -> str:
    name = name.strip()
    if not name:
        raise Unprocessable("invalid_name", "Give the key a name (what uses it, e.g. \"crm-production\").",
                            param="name")
    if len(name) > NAME_LENGTH:
        raise Unprocessable("invalid_name", f"A key's name is at most {NAME_LENGTH} characters.", param="name")
    return name


def _role(role: str) -> Role:
    if role not in ROLES:
        raise Unprocessable("invalid_role", f"Role must be one of {', '.join(ROLES)}.", param="role")
    return Role(role)


def _view(key: ApiKey) -> dict[str, str | None]:
    """What the audit log keeps of a key (never its hash)."""
    return {"name": key.name, "role": key.role.value, "prefix": key.prefix,
            "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
            "expires_at": key.expires_at.isoformat() if key.expires_at else None}


def create(session: Work, *, role: str, name: str, now: datetime, token: str | None = None,
           by: Actor | None = None, logged_at: datetime | None = None) -> tuple[ApiKey, str]:
    """A new key and its token (the only time the token exists outside the caller's hands). With `by`, the
    creation is written to the audit log at `logged_at` (the engine time of the caller's unit of work, as every
    entry; `now`, wall time, when not given)."""
    chosen, name = _role(role), _name(name)
    token = token or "lgn_" + secrets.token_urlsafe(32)
    key = ApiKey(id=new_id("key"), name=name, role=chosen, key_hash=hash_token(token), prefix=token[:8],
                 created_at=now)
    session.add(key)
    session.flush()
    if by is not None:
        audit.record(session, by, "api_key.created", target_type="api_key", target_id=key.id,
                     now=logged_at or now, after=_view(key))
    return key, token


def ensure_bootstrap(session: Work, token: str, now: datetime) -> bool:
    """Create the admin key from LANGGANAN_BOOTSTRAP_API_KEY once; later starts change nothing."""
    if repository.by_hash(session, hash_token(token)) is not None:
        return False
    create(session, role=Role.ADMIN, name="bootstrap", now=now, token=token)
    return True


def usable(key: ApiKey, now: datetime) -> bool:
    """Not revoked, and (once rotated) still inside its overlap."""
    return key.revoked_at is None and (key.expires_at is None or key.expires_at > now)


def revoke(session: Work, key_id: str, *, by: Actor, now: datetime, logged_at: datetime | None = None) -> ApiKey:
    """Revoke a key: refused from the next request on, everywhere. Revoking it again changes nothing. (`now`: wall
    time; `logged_at`: the audit entry's time, as in `create`.)"""
    key = repository.get(session, key_id, for_update=True)
    if key.revoked_at is None:
        before = _view(key)
        key.revoked_at = now
        audit.record(session, by, "api_key.revoked", target_type="api_key", target_id=key.id,
                     now=logged_at or now, before=before, after=_view(key))
    return key


def rotate(session: Work, key_id: str, overlap: timedelta, *, by: Actor, now: datetime,
           logged_at: datetime | None = None) -> tuple[ApiKey, str]:
    """A new key with the same name and role; the old one keeps working for `overlap` (0: stops now), so the
    caller can deploy the new token before the old one is refused. Returns the new key and its token. (`now`:
    wall time; `logged_at`: the audit entry's time, as in `create`.)"""
    if overlap < timedelta(0) or overlap > MAX_OVERLAP:
        raise Unprocessable("invalid_overlap", f"The overlap is from 0 to {MAX_OVERLAP.days} days.",
                            param="overlap")
    old = repository.get(session, key_id, for_update=True)
    if not usable(old, now):
        raise Conflict("api_key_not_usable", "This key is revoked or expired already: create a new key instead.")
    if old.replaced_by is not None:
        raise Conflict("api_key_rotated", "This key was rotated already (it stops working at its expiry): "
                       "rotate its replacement instead.")
    before = _view(old)
    new, token = create(session, role=old.role, name=old.name, now=now)
    old.expires_at, old.replaced_by = now + overlap, new.id
    audit.record(session, by, "api_key.rotated", target_type="api_key", target_id=old.id, now=logged_at or now,
                 before=before, after={**_view(old), "replaced_by": new.id})
    return new, token


@dataclass(frozen=True)
class Principal:
    """The key a request was made with."""

    key_id: str
    role: str
    name: str

    @property
    def actor(self) -> Actor:
        """Who acted, for the audit log (the key's name as it is now)."""
        return Actor(ActorKind.API_KEY, self.key_id, self.name)


def _bearer(authorization: str | None) -> str | None:
    if not authorization or not authorization.lower().startswith("bearer "):
        return None
    return authorization[7:].strip() or None


def token_hash(authorization: str | None) -> str | None:
    """The hash of a bearer token (how a key is looked up), None without one."""
    token = _bearer(authorization)
    return hash_token(token) if token else None


def token_from_header(authorization: str | None) -> str:
    token = _bearer(authorization)
    if token is None:
        raise Unauthorized("missing_api_key", "Send your API key as `Authorization: Bearer <key>`.")
    return token


def authenticate(session: Work, authorization: str | None, now: datetime) -> tuple[Principal, bool]:
    """The live key behind a bearer token, looked up by its hash (401 for a missing, unknown, revoked or expired
    one), and whether its use is due to be noted (`note_use`: the last note is TOUCH_EVERY old)."""
    key = repository.by_hash(session, hash_token(token_from_header(authorization)))
    if key is None or not usable(key, now):
        raise Unauthorized("invalid_api_key", "The API key is not valid.")
    due = key.last_used_at is None or key.last_used_at <= now - TOUCH_EVERY
    return Principal(key.id, key.role.value, key.name), due


def note_use(session: Work, key_id: str, now: datetime) -> None:
    """last_used_at = now unless another request noted it within TOUCH_EVERY (one conditional UPDATE)."""
    repository.touch(session, key_id, now, now - TOUCH_EVERY)


def live_among(session: Work, hashes: set[str], now: datetime) -> tuple[set[str], list[str]]:
    """Which of these token hashes belong to live keys (one query), and the ids of those keys whose use is due to
    be noted (`note_use`): for requests whose keys are checked together, e.g. a group of usage events."""
    live, due = set(), []
    for key in repository.by_hashes(session, hashes):
        if usable(key, now):
            live.add(key.key_hash)
            if key.last_used_at is None or key.last_used_at <= now - TOUCH_EVERY:
                due.append(key.id)
    return live, due


def require_role(key: Principal, role: str) -> None:
    if role == Role.ADMIN and key.role != Role.ADMIN:
        raise Forbidden("forbidden", "This API key's role (integration) may not do this; use an admin key.")
