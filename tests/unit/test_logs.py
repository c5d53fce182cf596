"""Log lines (logs.py) and request ids (web/access.py): one JSON object per line with the request's id and
account, text for a person, nothing that looks like a secret or a card number, and a client's X-Request-Id
taken only when it is short and plain."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from langganan import logs
from langganan.web.access import request_id


def _record(msg: str, *args: object, exc: bool = False, **extra: object) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("boom\nsecond line")
        except ValueError:
            exc_info = sys.exc_info()
    record = logging.LogRecord("langganan.test", logging.WARNING, __file__, 1, msg, args, exc_info)
    record.__dict__.update(extra)
    return record


def test_a_json_line_is_one_object_with_the_request_and_the_extra_fields() -> None:
    token = logs.begin_request(logs.RequestInfo("req-1"))
    try:
        logs.note_account("acc_1")
        logs.note_account("acc_2")  # the first account named stays
        line = logs.JsonFormatter().format(_record("paid %s", "inv_9", exc=True, invoice_id="inv_9", amount=499000))
    finally:
        logs.end_request(token)
    assert "\n" not in line
    parsed = json.loads(line)
    assert (parsed["level"], parsed["logger"], parsed["msg"]) == ("warning", "langganan.test", "paid inv_9")
    assert (parsed["request_id"], parsed["account_id"]) == ("req-1", "acc_1")
    assert (parsed["invoice_id"], parsed["amount"]) == ("inv_9", 499000)
    assert parsed["ts"].endswith("Z") and "ValueError: boom" in parsed["exc"]
    outside = json.loads(logs.JsonFormatter().format(_record("no request")))
    assert "request_id" not in outside and "account_id" not in outside


def test_a_text_line_is_for_a_person() -> None:
    token = logs.begin_request(logs.RequestInfo("0123456789abcdef", "acc_7"))
    try:
        line = logs.TextFormatter().format(_record("GET %s 200", "/v1/plans", route="/v1/plans"))
    finally:
        logs.end_request(token)
    assert line.endswith("WARNING GET /v1/plans 200 [01234567 acc_7]"), line


@pytest.mark.parametrize(("text", "shown"), [
    ("key lgn_AbC-12_xyz used", "key lgn_[redacted] used"),
    ("Authorization: Bearer lgn_secretvalue", "Authorization: Bearer [redacted]"),
    ("Bearer abc.def", "Bearer [redacted]"),
    ("secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "secret whsec_[redacted]"),
    ("postgresql+psycopg://app:hunter2@db:5432/x", "postgresql+psycopg://app:[redacted]@db:5432/x"),
    ("card 4242424242424242 declined", "card [card redacted] declined"),
    ("card 4000 0000 0000 0002 declined", "card [card redacted] declined"),
    ("card 5555-5555-5555-4444", "card [card redacted]"),
])
def test_secrets_and_card_numbers_are_scrubbed(text: str, shown: str) -> None:
    assert logs.scrub(text) == shown


@pytest.mark.parametrize("text", [
    "va 8808123456789013 ok",  # 16 digits that fail the Luhn check are not a card
    "took 12.5 ms at 2026-01-15T03:00:00.000Z", "inv_00mxbxrj5k00r5kw9hlv", "amount 1500000000000",
    "https://api.sandbox.midtrans.com/v2/charge",
])
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert logs.scrub(text) == text


@pytest.mark.parametrize(("given", "taken"), [
    (b"abc-123", True), (b"0f8fad5b-d9cb-469f-a165-70867728950e", True), (b"trace:span.1_x", True),
    (b"a" * 128, True), (b"a" * 129, False), (b"", False), (b"has space", False), (b"new\nline", False),
    (b'quote"', False), ("caf\u00e9".encode(), False),
])
def test_a_request_id_is_taken_only_when_short_and_plain(given: bytes, taken: bool) -> None:
    found = request_id([(b"content-type", b"application/json"), (b"x-request-id", given)])
    assert (found == given.decode("utf-8")) is taken
    assert len(found) <= 128 and found.isascii()


def test_configure_sends_every_line_to_stderr_once(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    before = list(root.handlers), root.level
    try:
        logs.configure("json")
        logs.configure("json", "warning")  # again: replaces its own handler
        logging.getLogger("langganan.x").info("not at warning level")
        logging.getLogger("langganan.x").warning("shown %s", "once")
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
        assert [line["msg"] for line in lines] == ["shown once"]
    finally:
        for handler in root.handlers[:]:
            if handler not in before[0]:
                root.removeHandler(handler)
        root.setLevel(before[1])
