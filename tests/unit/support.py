"""What the unit tests check about every error a person reads."""

from __future__ import annotations


def assert_sentence(message: object) -> None:
    """API.md: an error's message is "a sentence a person understands": written out, starting with a capital
    letter (or the quoted value it is about), ending with a full stop, in sentence case rather than capitals."""
    assert isinstance(message, str) and len(message) > 10, message
    assert message[0].isupper() or message[0] in "'\"", message
    assert message.endswith("."), message
    assert not message.isupper(), message
