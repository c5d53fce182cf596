"""Running an import: the caller's side of the transactions, shared by the API and the CLI.

Each row is committed on its own as soon as it is done (a long file holds no lock for long, and an
interrupted import is finished by running it again); a dry run checks every row in one transaction
that is rolled back, so a later row still sees an earlier one of the same file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from langganan.kit.web import AppContext
from langganan.legacy import service
from langganan.legacy.service import RowResult


def run(ctx: AppContext, rows: Iterable[tuple[int, Mapping[str, str | None]]], *, dry_run: bool,
        on_result: Callable[[RowResult], None] | None = None) -> list[RowResult]:
    results: list[RowResult] = []
    with ctx.db.sessions() as session:
        for line, raw in rows:
            result = service.import_row(session, ctx.settings, line, raw, ctx.now(session))
            if not dry_run:
                session.commit()
            results.append(result)
            if on_result is not None:
                on_result(result)
    return results  # leaving the session rolls back what a dry run did
