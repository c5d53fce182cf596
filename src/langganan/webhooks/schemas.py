from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from langganan.webhooks.models import EndpointStatus, WebhookEndpoint


class EndpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(max_length=2000, description="http:// or https:// URL that receives signed POSTs")
    events: list[str] = Field(description='Event types to receive, e.g. ["invoice.paid"], or ["*"] for all')
    description: str | None = Field(default=None, max_length=200)


class EndpointOut(BaseModel):
    id: str
    url: str
    events: list[str]
    description: str | None
    status: EndpointStatus = Field(description="enabled | disabled")
    created_at: datetime
    disabled_at: datetime | None


class EndpointCreated(EndpointOut):
    secret: str = Field(description="Standard Webhooks signing secret (whsec_...); shown only here")


class EndpointList(BaseModel):
    data: list[EndpointOut]
    has_more: bool


def endpoint_out(e: WebhookEndpoint) -> EndpointOut:
    return EndpointOut(id=e.id, url=e.url, events=list(e.events), description=e.description, status=e.status,
                       created_at=e.created_at, disabled_at=e.disabled_at)
