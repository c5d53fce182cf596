"""A webhook endpoint's side in notifications (admin keys only; integration keys get 403): disabling it
cancels the deliveries still waiting; its deliveries with their attempts. Registering and reading
endpoints is `webhooks.endpoints`."""

from __future__ import annotations

from langganan.kit.clock import wall_now
from langganan.kit.openapi import api_router
from langganan.kit.web import Limit, StartingAfter
from langganan.notifications import repository, service
from langganan.notifications.schemas import DeliveryList, delivery_out
from langganan.web.context import AdminKey, Ctx
from langganan.webhooks import repository as webhooks_repo
from langganan.webhooks.schemas import EndpointOut, endpoint_out

router = api_router(prefix="/v1/webhook-endpoints", tags=["webhooks"])


@router.delete("/{endpoint_id}", response_model=EndpointOut,
               summary="Disable an endpoint: nothing more is sent to it; its deliveries stay visible")
def delete_webhook_endpoint(endpoint_id: str, ctx: Ctx, key: AdminKey) -> EndpointOut:
    with ctx.unit() as (s, _now):
        return endpoint_out(service.disable_endpoint(s, endpoint_id, wall_now(), by=key.actor))


@router.get("/{endpoint_id}/deliveries", response_model=DeliveryList,
            summary="Deliveries to this endpoint, newest first, each with its attempts")
def list_webhook_deliveries(endpoint_id: str, ctx: Ctx, _: AdminKey, limit: Limit = 20,
                    starting_after: StartingAfter = None) -> DeliveryList:
    with ctx.unit() as (s, _now):
        webhooks_repo.get(s, endpoint_id)
        rows, more = repository.deliveries_for_endpoint(s, endpoint_id, limit, starting_after)
        attempts = repository.attempts_for(s, [d.id for d in rows])
        return DeliveryList(data=[delivery_out(d, attempts[d.id]) for d in rows], has_more=more)
