"""Jinja2 rendering for the pages: one environment, money and date filters, the message catalog."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, pass_context, select_autoescape
from jinja2.runtime import Context

from langganan.kit.locales import LOCALES, format_number, format_when
from langganan.kit.money import format_money
from langganan.web.i18n import translator

env = Environment(loader=PackageLoader("langganan", "templates"), autoescape=select_autoescape(["html"]),
                  trim_blocks=True, lstrip_blocks=True)
FORMATS = {"datetime": "d MMM yyyy, HH:mm", "date": "d MMM yyyy", "day": "d MMM"}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@pass_context
def money(ctx: Context, amount: int | None, currency: str = "IDR") -> str:
    """`{{ amount|money(currency) }}`: grouped as the page's language writes numbers (Rp1.234.567 in Indonesian,
    Rp1,234,567 in English), on every page (portal and console alike: `render` gives each its `lang`)."""
    if amount is None:
        return ""
    return format_money(int(amount), currency, ctx.get("lang") or "en")


def when(value: datetime | None, tz: str = "Asia/Jakarta", lang: str = "en", fmt: str = "datetime") -> str:
    if value is None:
        return ""
    return format_when(value, tz, lang, FORMATS.get(fmt, fmt))


env.filters["money"] = money


def pick_lang(request: Request, default: str) -> str:
    """?lang= wins, then the lang cookie, then the account's locale."""
    for candidate in (request.query_params.get("lang"), request.cookies.get("lang"), default):
        if candidate in LOCALES:
            return candidate
    return "en"


def render(request: Request, template: str, context: dict[str, Any], *, status: int = 200,
           lang: str = "en", tz: str = "Asia/Jakarta", transform: Callable[[str], str] | None = None) -> HTMLResponse:
    """`transform`: applied to the page's HTML before it is sent (a staff view disables its forms)."""
    t = translator(lang)

    def dt(value: datetime | None, fmt: str = "datetime") -> str:
        return when(value, tz, lang, fmt)

    def num(value: int) -> str:
        return format_number(value, lang)

    html = env.get_template(template).render(request=request, t=t, lang=lang, tz=tz, dt=dt, num=num, **context)
    if transform is not None:
        html = transform(html)
    response = HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
    if request.query_params.get("lang") in LOCALES:
        response.set_cookie("lang", lang, max_age=365 * 86400, samesite="lax", httponly=True,
                            secure=request.url.scheme == "https")
    return response


def render_error(request: Request, status: int, key: str, *, message: str | None = None) -> HTMLResponse:
    lang = pick_lang(request, "en")
    t = translator(lang)
    # The domain's own message is English: another language's page says the catalog's generic sentence instead.
    text = t(key) if t.has(key) else (message if message and lang == "en" else t("error.generic"))
    area = "console" if request.url.path.startswith("/console") else "portal"
    return render(request, "error.html", {"status": status, "message": text, "area": area},
                  status=status, lang=lang)
