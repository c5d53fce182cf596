"""What every app and every invoice email costs, each against the library's own way in the same run. It prints
numbers; it never fails on them.

(1) An app: `create_app`, then its first request that no route answers (a 404: FastAPI tries it against every
    route), against (1b) a FastAPI app that includes the same routers with `include_router`, FastAPI's own way,
    which builds every route's validators again per app, on the first requests that pass it.
(2) An invoice PDF (`render_invoice_pdf`, fonts read once per process), against (2b) the same document with the
    fonts read by fpdf2's `FPDF.add_font` for each document. Latin text (DejaVu only) and a buyer with a CJK
    name (the fallback font too).

    .venv/bin/python bench/app_and_pdf.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from fpdf import FPDF

import langganan.invoices.pdf as invoice_pdf
from langganan.app import create_app, open_database, prepare, routers
from langganan.config import Settings
from langganan.kit.migrate import upgrade
from langganan.kit.openapi import operation_id

NOT_A_ROUTE = "/no/such/route"  # outside /v1: the API key gate would answer 401 before any route is tried


def timed(fn: Callable[[], Any], rounds: int) -> float:
    """Median milliseconds of `fn` over `rounds` calls (after one call that warms what a process warms once)."""
    fn()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def app_cases(settings: Settings, database_url: str) -> dict[str, Callable[[], Any]]:
    db = open_database(database_url, settings)

    def langganan_app() -> None:
        with TestClient(create_app(settings, db)) as client:
            assert client.get(NOT_A_ROUTE).status_code == 404

    def included_app() -> None:
        app = FastAPI(generate_unique_id_function=operation_id)
        for router in routers(settings):
            app.include_router(router)
        with TestClient(app) as client:
            assert client.get(NOT_A_ROUTE).status_code == 404

    return {"(1) create_app + first request": langganan_app, "(1b) include_router + first request": included_app}


def _fonts_read_by_fpdf2(pdf: FPDF, family: str, style: str, name: str) -> Any:
    pdf.add_font(family, style, str(files("langganan") / "invoices" / "fonts" / name))
    return pdf.fonts[f"{family}{style}"]


def pdf_cases() -> dict[str, Callable[[], Any]]:
    from tests.unit.test_invoice_pdf import BUYER_NAME, sample_invoice

    latin, cjk = sample_invoice(buyer={"name": "PT Toko Maju"}), sample_invoice(buyer={"name": BUYER_NAME})
    cached = invoice_pdf.add_font

    def render(invoice: dict[str, Any], add_font: Callable[..., Any]) -> Callable[[], bytes]:
        def run() -> bytes:
            invoice_pdf.add_font = add_font  # type: ignore[assignment]
            try:
                return invoice_pdf.render_invoice_pdf(invoice)
            finally:
                invoice_pdf.add_font = cached
        return run

    return {"(2) invoice PDF, Latin": render(latin, cached),
            "(2b) fonts by FPDF.add_font, Latin": render(latin, _fonts_read_by_fpdf2),
            "(2) invoice PDF, CJK fallback": render(cjk, cached),
            "(2b) fonts by FPDF.add_font, CJK fallback": render(cjk, _fonts_read_by_fpdf2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        settings = Settings(database_url=url, mode="sandbox", sandbox_gateway_secret="bench")
        prepare(settings, open_database(url, settings), migrate_if_empty=False)
        results = {name: timed(fn, args.rounds) for name, fn in {**app_cases(settings, url), **pdf_cases()}.items()}
    print(f"medians of {args.rounds} rounds, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    names = list(results)
    for name in names:
        line = f"  {name:45s} {results[name]:8.1f} ms"
        if name.startswith("(1) ") or name.startswith("(2) "):
            baseline = names[names.index(name) + 1]
            line += f"   {results[name] / results[baseline]:.2f} of {baseline.split()[0]}"
        print(line)


if __name__ == "__main__":
    main()
