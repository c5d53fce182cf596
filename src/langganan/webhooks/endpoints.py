"""Webhook endpoints (admin keys only; integration keys get 403). Disabling one and its deliveries are
`notifications.endpoints_webhooks`."""

from __future__ import annotations

from langganan.kit.clock import wall_now
from langganan.kit.openapi import api_router
from langganan.kit.web import Limit, StartingAfter
from langganan.web.context import AdminKey, Ctx
from langganan.webhooks import repository, service
from langganan.webhooks.schemas import EndpointCreated, EndpointIn, EndpointList, EndpointOut, endpoint_out

router = api_router(prefix="/v1/webhook-endpoints", tags=["webhooks"])


@router.post("", status_code=201, response_model=EndpointCreated,
             summary="Register a URL for signed event deliveries (Standard Webhooks)")
def create_webhook_endpoint(body: EndpointIn, ctx: Ctx, key: AdminKey) -> EndpointCreated:
    with ctx.unit() as (s, _now):
        endpoint = service.create(s, body.url, body.events, body.description, wall_now(), by=key.actor)
        return EndpointCreated(**endpoint_out(endpoint).model_dump(), secret=endpoint.secret)


@router.get("", response_model=EndpointList)
def list_webhook_endpoints(ctx: Ctx, _: AdminKey, limit: Limit = 20,
                           starting_after: StartingAfter = None) -> EndpointList:
    with ctx.unit() as (s, _now):
        rows, more = repository.list_endpoints(s, limit, starting_after)
        return EndpointList(data=[endpoint_out(e) for e in rows], has_more=more)


@router.get("/{endpoint_id}", response_model=EndpointOut)
def get_webhook_endpoint(endpoint_id: str, ctx: Ctx, _: AdminKey) -> EndpointOut:
    with ctx.unit() as (s, _now):
        return endpoint_out(repository.get(s, endpoint_id))
