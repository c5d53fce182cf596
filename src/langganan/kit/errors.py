"""Domain errors carry their API error code and HTTP status (API.md error shape)."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    type = "invalid_request_error"

    def __init__(self, code: str, message: str, *, param: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param
        self.extra = extra

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {"type": self.type, "code": self.code, "message": self.message,
                               "param": self.param}
        err.update(self.extra)
        return {"error": err}


class InvalidRequest(DomainError):
    status = 400


class Unprocessable(DomainError):
    status = 422


class PayloadTooLarge(DomainError):
    status = 413


class UnsupportedMediaType(DomainError):
    status = 415


class Unauthorized(DomainError):
    status = 401
    type = "authentication_error"


class Forbidden(DomainError):
    status = 403
    type = "permission_error"


class NotFound(DomainError):
    status = 404

    def __init__(self, what: str, ident: str, *, param: str | None = None) -> None:
        super().__init__(f"{what}_not_found", f"No {what.replace('_', ' ')} with id {ident!r}.", param=param)


class NotFoundCode(DomainError):
    """404 with a code and message of the caller's choosing."""

    status = 404


class Conflict(DomainError):
    status = 409


class PaymentRequired(DomainError):
    status = 402
    type = "payment_error"


class Unavailable(DomainError):
    """503: a condition that passes by itself; the answer carries `Retry-After: retry_after` seconds."""

    status = 503
    type = "api_error"

    def __init__(self, code: str, message: str, *, retry_after: int, param: str | None = None) -> None:
        super().__init__(code, message, param=param)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


RETRY_AFTER_SECONDS = 2  # what a client is told to wait after a 503 for a busy database


def database_busy() -> Unavailable:
    """The answer to a database condition that passes by itself (`kit.db.is_transient`)."""
    return Unavailable("database_busy", "The database is busy with other work and this request could not be "
                       f"completed. Try again in {RETRY_AFTER_SECONDS} seconds (with the same Idempotency-Key, if "
                       "you sent one).", retry_after=RETRY_AFTER_SECONDS)
