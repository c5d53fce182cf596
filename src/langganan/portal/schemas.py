"""Bodies of the portal-link route."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class PortalSessionOut(BaseModel):
    url: str
    expires_at: datetime
