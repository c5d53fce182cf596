from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from langganan.apikeys.models import ApiKey
from langganan.apikeys.service import MAX_OVERLAP, NAME_LENGTH


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=NAME_LENGTH, description="What uses the key, e.g. crm-production")
    role: Literal["admin", "integration"] = Field(description="admin: every route; integration: the routes the "
                                                  "SaaS calls (not mark-paid, promotions, catalog, webhooks, keys)")


class RotateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    overlap_seconds: int = Field(default=0, ge=0, le=int(MAX_OVERLAP.total_seconds()),
                                 description="How long the old key keeps working beside the new one (0: it stops "
                                 "now; at most 30 days)")


class ApiKeyOut(BaseModel):
    id: str
    name: str
    role: str = Field(description="admin | integration")
    prefix: str = Field(description="The token's first characters, to recognise it")
    created_at: datetime
    last_used_at: datetime | None = Field(description="Kept to the minute")
    revoked_at: datetime | None
    expires_at: datetime | None = Field(description="A rotated key: when it stops working")
    replaced_by: str | None = Field(description="A rotated key: the key that replaced it")


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The token (lgn_...): shown only here, stored only as its SHA-256 hash")


class ApiKeyList(BaseModel):
    data: list[ApiKeyOut]
    has_more: bool


def api_key_out(k: ApiKey) -> ApiKeyOut:
    return ApiKeyOut(id=k.id, name=k.name, role=k.role.value, prefix=k.prefix, created_at=k.created_at,
                     last_used_at=k.last_used_at, revoked_at=k.revoked_at, expires_at=k.expires_at,
                     replaced_by=k.replaced_by)
