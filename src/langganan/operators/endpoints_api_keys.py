"""API keys over the API (admin keys only): create (the token is in that answer only), list, revoke (refused from
the next request on, in every process), rotate with an overlap. Each change is in the audit log."""

from __future__ import annotations

from datetime import timedelta

from fastapi import Response

from langganan.apikeys import repository, service
from langganan.apikeys.schemas import ApiKeyCreated, ApiKeyIn, ApiKeyList, ApiKeyOut, RotateIn, api_key_out
from langganan.kit.clock import wall_now
from langganan.kit.openapi import api_router, errors
from langganan.kit.web import Limit, StartingAfter
from langganan.web.context import AdminKey, Ctx

router = api_router(prefix="/v1/api-keys", tags=["api-keys"])
NO_STORE = "no-store"  # the answer holds the token: no cache keeps it, nor the idempotency record


@router.post("", status_code=201, response_model=ApiKeyCreated, responses=errors(422),
             summary="Create an API key; its token is in this answer only")
def create_api_key(body: ApiKeyIn, ctx: Ctx, key: AdminKey, response: Response) -> ApiKeyCreated:
    with ctx.unit() as (s, now):
        created, token = service.create(s, role=body.role, name=body.name, now=wall_now(), by=key.actor,
                                        logged_at=now)
        response.headers["Cache-Control"] = NO_STORE
        return ApiKeyCreated(**api_key_out(created).model_dump(), key=token)


@router.get("", response_model=ApiKeyList, summary="API keys, newest first (never their tokens)")
def list_api_keys(ctx: Ctx, _: AdminKey, limit: Limit = 20, starting_after: StartingAfter = None) -> ApiKeyList:
    with ctx.unit() as (s, _now):
        rows, more = repository.list_keys(s, limit, starting_after)
        return ApiKeyList(data=[api_key_out(k) for k in rows], has_more=more)


@router.get("/{key_id}", response_model=ApiKeyOut)
def get_api_key(key_id: str, ctx: Ctx, _: AdminKey) -> ApiKeyOut:
    with ctx.unit() as (s, _now):
        return api_key_out(repository.get(s, key_id))


@router.delete("/{key_id}", response_model=ApiKeyOut,
               summary="Revoke a key: refused from the next request on (revoking it again changes nothing)")
def revoke_api_key(key_id: str, ctx: Ctx, key: AdminKey) -> ApiKeyOut:
    with ctx.unit() as (s, now):
        return api_key_out(service.revoke(s, key_id, by=key.actor, now=wall_now(), logged_at=now))


@router.post("/{key_id}/rotate", status_code=201, response_model=ApiKeyCreated, responses=errors(409, 422),
             summary="Replace a key: a new key with its name and role; the old one works `overlap_seconds` more")
def rotate_api_key(key_id: str, body: RotateIn, ctx: Ctx, key: AdminKey, response: Response) -> ApiKeyCreated:
    with ctx.unit() as (s, now):
        created, token = service.rotate(s, key_id, timedelta(seconds=body.overlap_seconds), by=key.actor,
                                        now=wall_now(), logged_at=now)
        response.headers["Cache-Control"] = NO_STORE
        return ApiKeyCreated(**api_key_out(created).model_dump(), key=token)
