"""A file sent to an import route: as the body (text/csv and kin) or as the multipart part named `file`."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile

from langganan.kit.errors import Unprocessable, UnsupportedMediaType

RAW_TYPES = ("text/csv", "text/plain", "application/csv", "application/octet-stream")


def request_body(description: str, *, multipart: bool = True) -> dict[str, Any]:
    """The OpenAPI requestBody of a route that takes a file (`openapi_extra`): as text/csv, and documented as
    multipart too unless `multipart` is False (both are accepted either way)."""
    content: dict[str, Any] = {"text/csv": {"schema": {"type": "string"}}}
    if multipart:
        content["multipart/form-data"] = {"schema": {"type": "object", "required": ["file"], "properties": {
            "file": {"type": "string", "format": "binary"}}}}
    return {"requestBody": {"required": True, "description": description, "content": content}}


async def read_upload(request: Request, what: str) -> tuple[bytes, str | None]:
    """The file's bytes and (multipart only) its name; `what` names it in errors ("the statement")."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media in RAW_TYPES:
        return await request.body(), None
    if media == "multipart/form-data":
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise Unprocessable("file_required", f"Send {what} in the multipart part named 'file'.", param="file")
        return await upload.read(), upload.filename
    raise UnsupportedMediaType("unsupported_media_type", f"Send {what} as text/csv or as multipart/form-data "
                               "(part 'file').")
