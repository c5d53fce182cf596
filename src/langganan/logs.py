"""Logging: one line per event on standard error, JSON (LANGGANAN_LOG_FORMAT=json, the default) or text for
a person (`serve --demo`, or LANGGANAN_LOG_FORMAT=text), through the standard `logging` module.

A JSON line is one object: `ts` (UTC, RFC 3339 with milliseconds), `level`, `logger`, `msg`, the request's
`request_id` and `account_id` when the line is written while a request is handled (`web.access` sets
them), the fields a call passes with `extra={...}`, and `exc` (the traceback) when there is one.
The formatter is a small one of our own rather than python-json-logger: it is thirty lines, it adds the
request's fields and the last line of defence below, and it is one dependency fewer.

What is logged never carries a secret: nothing logs a request's headers, body, query string or raw path
(the access line names the route template), and as a last line of defence every line is scrubbed of what
looks like an API key (`lgn_...`), a webhook secret (`whsec_...`), a bearer token, a password in a URL and a
card number (13-19 digits passing the Luhn check)."""

from __future__ import annotations

import json
import logging
import re
import sys
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO


@dataclass
class RequestInfo:
    """The request being handled: its id, and the account it is about once known (anyone handling it may
    say: `note_account`). One object per request, shared by the tasks and threads that work on it."""

    request_id: str
    account_id: str | None = None


_request: ContextVar[RequestInfo | None] = ContextVar("langganan_request", default=None)


def current_request() -> RequestInfo | None:
    return _request.get()


def begin_request(info: RequestInfo) -> Any:
    """Make `info` the current request (for the log lines written while it is handled); returns the token
    `end_request` takes."""
    return _request.set(info)


def end_request(token: Any) -> None:
    _request.reset(token)


def note_account(account_id: str | None) -> None:
    """The request being handled is about this account (its log lines and access line say so)."""
    info = _request.get()
    if info is not None and account_id and info.account_id is None:
        info.account_id = account_id


# -- the last line of defence ---------------------------------------------------------------------------

# (what to look for, and the pattern that finds it: the cheap `in` test spares most lines the pattern)
_SECRETS = (("lgn_", re.compile(r"\b(lgn_)[A-Za-z0-9_\-]+")),
            ("whsec_", re.compile(r"\b(whsec_)[A-Za-z0-9+/=_\-]+")),
            ("earer", re.compile(r"\b([Bb]earer\s+)[^\s\"',;]+")),
            ("://", re.compile(r"(://[^\s:/@\"']+:)[^\s@/\"']+(?=@)")))
_CARD = re.compile(r"(?<![\w.])\d[\d -]{11,36}\d(?![\w.])")  # 13-19 digits, maybe grouped by spaces or dashes
_GROUPED = re.compile(r"\d+(?:[ -]\d+)*")


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    found = match.group(0)
    digits = found.replace(" ", "").replace("-", "")
    if 13 <= len(digits) <= 19 and _GROUPED.fullmatch(found) and _luhn(digits):
        return "[card redacted]"
    return found


def scrub(text: str) -> str:
    """`text` without anything that looks like a secret or a card number."""
    for marker, pattern in _SECRETS:
        if marker in text:
            text = pattern.sub(r"\1[redacted]", text)
    return _CARD.sub(_card, text)


# -- formatters --------------------------------------------------------------------------------------------

# What every LogRecord has; anything else on a record came from `extra=` and is a field of the line (but
# uvicorn's copy of its message with terminal colours).
_STANDARD = frozenset(vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None))) | {
    "message", "asctime", "color_message"}


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


_MADE_HERE = (int, float, type(None))  # (bool is an int)


class JsonFormatter(logging.Formatter):
    """One JSON object per line (see the module's docstring)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(), "logger": record.name, "msg": record.getMessage()}
        info = _request.get()
        if info is not None:
            line["request_id"] = info.request_id
            if info.account_id:
                line["account_id"] = info.account_id
        line.update(_fields(record))
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        elif record.stack_info:
            line["exc"] = self.formatStack(record.stack_info)
        for key, value in line.items():  # (what is not a string was made here: a number, a time)
            if key != "ts" and not isinstance(value, _MADE_HERE):
                line[key] = scrub(value if isinstance(value, str) else str(value))
        return json.dumps(line, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """For a person: `12:00:01 INFO  message [request id, account]` (the message says what the JSON line's
    extra fields say, for machines)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-5s %(message)s", datefmt="%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        info = _request.get()
        where = f" [{info.request_id[:8]}{' ' + info.account_id if info.account_id else ''}]" if info else ""
        first, newline, rest = text.partition("\n")  # (a traceback follows on lines of its own)
        return scrub(first + where + newline + rest)


class _Stderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is when a line is written (a test runner may swap it)."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def configure(log_format: str, level: str = "info") -> None:
    """Send every logger's lines (uvicorn's too) to standard error in `log_format`, from `level` up. Replaces
    what an earlier call installed; touches no other handler."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _Stderr)]:
        root.removeHandler(handler)
    handler = _Stderr()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):  # (uvicorn's own configuration is not used: log_config=None)
        uv = logging.getLogger(name)
        uv.handlers.clear()
        uv.propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # `langganan.access` writes one line per request
    for name in ("httpx", "httpcore"):  # a line per gateway or webhook call, with its URL: only their warnings
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
