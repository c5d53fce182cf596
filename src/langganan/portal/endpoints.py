from __future__ import annotations

from fastapi import Request

from langganan.accounts import repository as accounts_repo
from langganan.kit.clock import wall_now
from langganan.kit.openapi import api_router
from langganan.portal import service
from langganan.portal.schemas import PortalSessionOut
from langganan.web.context import AnyKey, Ctx

router = api_router(prefix="/v1/accounts/{account_id}/portal-sessions", tags=["portal"])

@router.post("", status_code=201, response_model=PortalSessionOut,
             summary="A one-account portal login link (works once, expires after an hour)")
def create_portal_session(account_id: str, request: Request, ctx: Ctx, _: AnyKey) -> PortalSessionOut:
    with ctx.unit() as (s, _now):
        account = accounts_repo.get(s, account_id)
        link, token = service.create_link(s, account, wall_now())
    base = str(request.base_url).rstrip("/")
    return PortalSessionOut(url=f"{base}/portal/session/{token}", expires_at=link.expires_at)
