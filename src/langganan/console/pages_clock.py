"""The console's sandbox clock page: the engine time, and a form that advances it and runs the work that
falls due. Mounted in sandbox mode only (app.create_app): in live mode the page does not exist."""

from __future__ import annotations

from fastapi.responses import HTMLResponse, RedirectResponse, Response

from langganan.console.pages import Console, ConsolePage, FormStr, SettingsForm
from langganan.kit.clock import DatabaseClock
from langganan.kit.openapi import api_router
from langganan.sandbox.clock import advance
from langganan.web.errors import PageError
from langganan.web.forms import require_whole_number

router = api_router(prefix="/console", include_in_schema=False)


def _sandbox_clock(c: Console) -> DatabaseClock:
    if not c.ctx.settings.sandbox or not isinstance(c.ctx.clock, DatabaseClock):
        raise PageError(404, "error.not_found")
    return c.ctx.clock


@router.get("/clock", response_class=HTMLResponse)
def clock_page(c: ConsolePage, msg: str | None = None) -> HTMLResponse:
    _sandbox_clock(c)
    with c.ctx.unit() as (_s, now):
        return c.render("console/clock.html", now=now, msg=msg)


@router.post("/clock")
def advance_clock(c: SettingsForm, days: FormStr = "0", hours: FormStr = "0") -> Response:
    _sandbox_clock(c)
    n_days, n_hours = require_whole_number(days, 9), require_whole_number(hours, 9)
    done = advance(c.ctx, days=n_days, hours=n_hours, by=c.staff)  # bounds and the 10-year cap: a 422 error page
    return RedirectResponse(f"/console/clock?msg={done.periods_rolled}", status_code=303)
