"""Console promotions: the list (code, discount, plans, end, redemptions used/limit), a create form that
goes through the same validation as `POST /v1/promotions` (the API's Pydantic model, then the
promotions service), and a promotion's redemptions."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from langganan.accounts import repository as accounts_repo
from langganan.catalog import service as catalog_service
from langganan.console.pages import PAGE_SIZE, Console, ConsolePage, SettingsForm
from langganan.kit.errors import DomainError, Unprocessable
from langganan.kit.openapi import api_router
from langganan.promotions import repository, service
from langganan.promotions.schemas import PromotionCreate
from langganan.web.forms import whole_number

router = api_router(prefix="/console/promotions", include_in_schema=False)
FormStr = Annotated[str, Form()]
# which form control an error's `param` (the API's field name) points at
FIELD_OF = {"code": "code", "percent_off": "value", "amount_off": "value", "plans": "plans", "ends_at": "ends_on",
            "duration_months": "duration_months", "max_redemptions": "max_redemptions"}


def _list(c: Console, *, after: str | None = None, form: dict[str, Any] | None = None,
          error: DomainError | None = None, msg: str | None = None, status: int = 200) -> HTMLResponse:
    with c.ctx.unit() as (s, _now):
        rows, more = repository.list_promotions(s, PAGE_SIZE, after or None)
        if msg and repository.by_code(s, msg) is None:  # only a code that exists is announced as created
            msg = None
        catalog = catalog_service.current(s)
        plans = [p for p in catalog.plans_by_rank() if not p.is_free]
        names = {p.code: p.name for p in catalog.plans.values()}
        form = form or {"kind": "percent", "plans": []}
        bad = FIELD_OF.get(error.param or "", "") if error else ""
        return c.render("console/promotions.html", rows=rows, more=more, plans=plans, plan_names=names, form=form,
                        error=error, bad=bad, msg=msg, http_status=status)


@router.get("", response_class=HTMLResponse)
def promotions_page(c: ConsolePage, after: str | None = None, msg: str | None = None) -> HTMLResponse:
    return _list(c, after=after, msg=msg)


def _number(value: str, field: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    number = whole_number(value, 13)
    if number is None:
        raise Unprocessable("invalid_parameter", f"{field}: enter a whole number.", param=field)
    return number


def _body(form: dict[str, Any], tz: str) -> dict[str, Any]:
    """The form as the API's JSON body: a date is midnight of that day in the seller's time zone."""
    body: dict[str, Any] = {"code": form["code"], "plans": form["plans"]}
    if form["kind"] not in ("percent", "amount"):
        raise Unprocessable("invalid_discount", "Give exactly one of percent_off or amount_off.", param="percent_off")
    value = _number(form["value"], "percent_off" if form["kind"] == "percent" else "amount_off")
    body["percent_off" if form["kind"] == "percent" else "amount_off"] = value
    if form["ends_on"].strip():
        try:
            day = date.fromisoformat(form["ends_on"].strip())
        except ValueError as exc:
            raise Unprocessable("invalid_parameter", "ends_at: use a date such as 2027-03-31.",
                                param="ends_at") from exc
        body["ends_at"] = datetime.combine(day, time(0), tzinfo=ZoneInfo(tz))
    body["duration_months"] = _number(form["duration_months"], "duration_months")
    body["max_redemptions"] = _number(form["max_redemptions"], "max_redemptions")
    return body


def _validation_error(exc: ValidationError) -> DomainError:
    """The API's answer to a body its model refuses (kit/web.py), as a page error."""
    first: dict[str, Any] = dict(exc.errors()[0]) if exc.errors() else {}
    param = ".".join(str(p) for p in first.get("loc", ())) or None
    return Unprocessable("invalid_parameter", f"{param or 'The request'}: {first.get('msg', 'invalid')}.",
                         param=param)


@router.post("", response_class=HTMLResponse)
def create_promotion(c: SettingsForm, code: FormStr = "", kind: FormStr = "percent", value: FormStr = "",
                     plans: Annotated[list[str] | None, Form()] = None, ends_on: FormStr = "",
                     duration_months: FormStr = "", max_redemptions: FormStr = "") -> Response:
    form: dict[str, Any] = {"code": code, "kind": kind, "value": value, "plans": list(plans or []),
                            "ends_on": ends_on, "duration_months": duration_months,
                            "max_redemptions": max_redemptions}
    try:
        try:
            body = PromotionCreate.model_validate(_body(form, c.ctx.settings.seller_timezone))
        except ValidationError as exc:
            raise _validation_error(exc) from exc
        with c.ctx.unit() as (s, now):
            promo = service.create(s, service.NewPromotion(**body.model_dump()), now, by=c.staff)
            created = promo.code
    except DomainError as exc:
        return _list(c, form=form, error=exc, status=exc.status)
    return RedirectResponse(f"/console/promotions?msg={created}", status_code=303)


@router.get("/{promotion_id}", response_class=HTMLResponse)
def promotion_page(promotion_id: str, c: ConsolePage, after: str | None = None) -> HTMLResponse:
    with c.ctx.unit() as (s, _now):
        promo = repository.get(s, promotion_id)
        rows, more = repository.redemptions(s, promo.id, PAGE_SIZE, after or None)
        accounts = {a.id: a for a in accounts_repo.many(s, [r.account_id for r in rows])}
        catalog = catalog_service.current(s)
        names = {p.code: p.name for p in catalog.plans.values()}
        return c.render("console/promotion.html", promo=promo, rows=rows, more=more, accounts=accounts,
                        plan_names=names)
