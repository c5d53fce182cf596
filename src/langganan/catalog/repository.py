from __future__ import annotations

from sqlalchemy import func, select

from langganan.catalog.models import CatalogVersion
from langganan.kit.work import Work


def latest(session: Work) -> CatalogVersion | None:
    return session.scalars(select(CatalogVersion).order_by(CatalogVersion.version.desc()).limit(1)).first()


def by_id(session: Work, catalog_id: int) -> CatalogVersion | None:
    return session.get(CatalogVersion, catalog_id)


def by_digest(session: Work, digest: str) -> CatalogVersion | None:
    return session.scalars(select(CatalogVersion).where(CatalogVersion.digest == digest)).first()


def max_version(session: Work) -> int:
    return session.scalar(select(func.max(CatalogVersion.version))) or 0


def latest_id(session: Work) -> int | None:
    # Catalog versions are only added by `catalog apply`, which flushes its row itself: nothing
    # pending in the session can change the answer, so a batch's unflushed writes stay unflushed.
    with session.no_autoflush:
        return session.scalar(select(CatalogVersion.id).order_by(CatalogVersion.version.desc()).limit(1))
