"""Jinja2 rendering for the pages: one environment, money and date filters, the message catalog."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from babel.numbers import format_decimal
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from langganan.kit.locales import BABEL_LOCALE, LOCALES, format_when
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


def money(amount: int | None, currency: str = "IDR") -> str:
    return "" if amount is None else format_money(int(amount), currency)


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
        return str(format_decimal(value, locale=BABEL_LOCALE[lang]))

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
    text = t(key) if t.has(key) else (message or t("error.generic"))
    area = "console" if request.url.path.startswith("/console") else "portal"
    return render(request, "error.html", {"status": status, "message": text, "area": area},
                  status=status, lang=lang)
