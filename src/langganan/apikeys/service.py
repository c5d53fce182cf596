"""API keys (DESIGN rule 15): random 32-byte tokens, stored as SHA-256 hashes, with a role."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from langganan.apikeys import repository
from langganan.apikeys.models import ApiKey, Role
from langganan.kit.errors import Forbidden, InvalidRequest, Unauthorized
from langganan.kit.ids import new_id
from langganan.kit.work import Work

ROLES = tuple(Role)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(session: Work, *, role: str, name: str, now: datetime, token: str | None = None) -> tuple[ApiKey, str]:
    if role not in ROLES:
        raise InvalidRequest("invalid_role", f"Role must be one of {', '.join(ROLES)}.", param="role")
    token = token or "lgn_" + secrets.token_urlsafe(32)
    key = ApiKey(id=new_id("key"), name=name, role=Role(role), key_hash=hash_token(token), prefix=token[:8],
                 created_at=now)
    session.add(key)
    session.flush()
    return key, token


def ensure_bootstrap(session: Work, token: str, now: datetime) -> bool:
    """Create the admin key from LANGGANAN_BOOTSTRAP_API_KEY once; later starts change nothing."""
    if repository.by_hash(session, hash_token(token)) is not None:
        return False
    create(session, role=Role.ADMIN, name="bootstrap", now=now, token=token)
    return True


@dataclass(frozen=True)
class Principal:
    key_id: str
    role: str


_cache: dict[str, tuple[float, Principal]] = {}
CACHE_SECONDS = 30.0


def _bearer(authorization: str | None) -> str | None:
    if not authorization or not authorization.lower().startswith("bearer "):
        return None
    return authorization[7:].strip() or None


def token_from_header(authorization: str | None) -> str:
    token = _bearer(authorization)
    if token is None:
        raise Unauthorized("missing_api_key", "Send your API key as `Authorization: Bearer <key>`.")
    return token


def cached_principal(authorization: str | None) -> Principal | None:
    """The key behind a bearer token when it was seen in the last CACHE_SECONDS, else None."""
    token = _bearer(authorization)
    hit = _cache.get(hash_token(token)) if token else None
    return hit[1] if hit is not None and hit[0] > time.monotonic() else None


def authenticate(session_factory: Callable[[], Work], authorization: str | None) -> Principal:
    """Resolve a bearer token to its key. Known keys are cached briefly (wall time, rule 14)."""
    digest = hash_token(token_from_header(authorization))
    hit = _cache.get(digest)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    with session_factory() as session:
        key = repository.by_hash(session, digest)
        if key is None or key.revoked_at is not None:
            raise Unauthorized("invalid_api_key", "The API key is not valid.")
        principal = Principal(key.id, key.role)
    _cache[digest] = (time.monotonic() + CACHE_SECONDS, principal)
    return principal


def require_role(key: Principal, role: str) -> None:
    if role == Role.ADMIN and key.role != Role.ADMIN:
        raise Forbidden("forbidden", "This API key's role (integration) may not do this; use an admin key.")
