from __future__ import annotations

from anyio import to_thread
from fastapi import Request

from langganan.accounts import repository as accounts_repo
from langganan.kit.clock import wall_now
from langganan.kit.errors import NotFound
from langganan.kit.openapi import api_router, errors
from langganan.payments import card_setups, cards, repository, service
from langganan.payments.sandbox import SandboxNotice
from langganan.payments.schemas import (
    CardSetupComplete,
    CardSetupCreate,
    CardSetupOut,
    NotificationAck,
    PaymentMethodCreate,
    PaymentMethodList,
    PaymentMethodOut,
    method_out,
)
from langganan.web.context import AnyKey, AppContext, Ctx

router = api_router(prefix="/v1", tags=["payments"])


@router.post("/accounts/{account_id}/payment-methods", status_code=201, response_model=PaymentMethodOut,
             summary="Save a card from a gateway token")
def add_payment_method(account_id: str, body: PaymentMethodCreate, ctx: Ctx, _: AnyKey) -> PaymentMethodOut:
    with ctx.unit() as (s, now):
        account = accounts_repo.get(s, account_id)
        return method_out(service.save_method(s, ctx.gateway, account, body.provider_token, now))


@router.post("/accounts/{account_id}/card-setups", status_code=201, response_model=CardSetupOut,
             summary="Begin adding a card through the gateway's own card entry",
             description="The card number never reaches langganan: the customer enters it on the gateway's page "
             "(`hosted`: send them to `redirect_url`) or the integrator's page sends it from the browser to the "
             "gateway (`tokenize`: `tokenize_url` with `client_key`). Then complete the setup.",
             responses=errors(described={502: "The gateway refused to begin a card entry."}))
def begin_card_setup(account_id: str, body: CardSetupCreate, ctx: Ctx, _: AnyKey) -> CardSetupOut:
    setup_id, setup = card_setups.begin(ctx.db, ctx.gateway, account_id, lambda _id: (body.return_url,
                                                                                        body.cancel_url),
                                        ctx.clock.now)
    return CardSetupOut(id=setup_id, kind=str(setup.kind), redirect_url=setup.redirect_url,
                        tokenize_url=setup.tokenize_url, client_key=setup.client_key)


@router.post("/accounts/{account_id}/card-setups/{setup_id}/complete", response_model=PaymentMethodOut,
             summary="Save the card a card setup entered",
             responses=errors(described={422: "No card was saved: the customer canceled or did not finish "
                                              "(`card_setup_incomplete`, `card_setup_canceled`, "
                                              "`card_setup_expired`), or the card has expired."}))
def complete_card_setup(account_id: str, setup_id: str, body: CardSetupComplete, ctx: Ctx,
                        _: AnyKey) -> PaymentMethodOut:
    returned = {k: v for k, v in body.model_dump().items() if v is not None}
    return method_out(card_setups.finish(ctx.db, ctx.gateway, account_id, setup_id, returned, ctx.clock.now))


@router.get("/accounts/{account_id}/payment-methods", response_model=PaymentMethodList)
def list_payment_methods(account_id: str, ctx: Ctx, _: AnyKey) -> PaymentMethodList:
    with ctx.unit() as (s, _now):
        accounts_repo.get(s, account_id)
        return PaymentMethodList(data=[method_out(pm) for pm in repository.methods_for(s, account_id)])


@router.delete("/accounts/{account_id}/payment-methods/{payment_method_id}", response_model=PaymentMethodOut,
               summary="Remove a saved card (never charged again)",
               responses=errors(described={409: "Auto-renew charges this card (`payment_method_in_use`): switch "
                                                "auto-renew off or to another card first."}))
def remove_payment_method(account_id: str, payment_method_id: str, ctx: Ctx, _: AnyKey) -> PaymentMethodOut:
    with ctx.unit() as (s, now):
        accounts_repo.get(s, account_id)
        return method_out(cards.remove(s, account_id, payment_method_id, now))


@router.post("/accounts/{account_id}/payment-methods/{payment_method_id}/default", response_model=PaymentMethodOut,
             summary="Make a saved card the default")
def make_default_payment_method(account_id: str, payment_method_id: str, ctx: Ctx, _: AnyKey) -> PaymentMethodOut:
    with ctx.unit() as (s, now):
        accounts_repo.get(s, account_id)
        return method_out(cards.make_default(s, account_id, payment_method_id, now))


@router.post("/gateways/{provider}/notifications", response_model=NotificationAck,
             summary="Gateway callbacks, verified by the gateway's own signature (no API key)",
             description="The body is the gateway's own; the sandbox gateway's is described here (signed with "
             "the headers X-Sandbox-Timestamp, Unix seconds, and X-Sandbox-Signature, the hex HMAC-SHA256 of "
             "`timestamp.body` under LANGGANAN_SANDBOX_GATEWAY_SECRET).",
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                 "schema": SandboxNotice.model_json_schema()}}}},
             responses=errors(413, described={401: "The gateway's signature is missing, wrong or too old "
                                                   "(`invalid_signature`); nothing was applied.",
                                              422: "The signature holds but a field of the body is not what the "
                                                   "gateway sends (`invalid_notification`); nothing was applied."}))
async def gateway_notification(provider: str, request: Request) -> NotificationAck:
    ctx: AppContext = request.app.state.ctx
    if provider != ctx.gateway.name:
        raise NotFound("gateway", provider)
    body = await request.body()
    headers = dict(request.headers)
    outcome = await to_thread.run_sync(deliver_notification, ctx, headers, body)
    return NotificationAck(received=True, outcome=outcome)


def deliver_notification(ctx: AppContext, headers: dict[str, str], body: bytes) -> str:
    """The one path every gateway callback takes, over HTTP or in-process from the sandbox: verified
    first (which may ask the gateway, so outside any transaction), then applied in one unit of work."""
    note = ctx.gateway.verify_notification(headers, body, wall_now())
    with ctx.unit() as (s, now):
        return service.handle_notification(s, ctx.settings, ctx.gateway.name, note, now)
