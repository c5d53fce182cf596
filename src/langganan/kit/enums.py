"""Closed sets of values stored as text.

A status, type or method is a `StrEnum` defined beside its model; its column stores the member's value
as plain text (VARCHAR of the length the migrations gave it), exactly the strings stored before the
enums existed: no database enum type and no CHECK constraint, so the schema is unchanged. Reading a row
gives the member. A plain string is bound as it is, so a filter on a value from outside (a query parameter,
a path segment) that names no member matches no row instead of failing.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Enum


def _values(cls: type[StrEnum]) -> list[str]:
    return [member.value for member in cls]


def text_column(cls: type[StrEnum], length: int) -> Enum:
    """The column type of `cls` stored as its values' text in VARCHAR(`length`)."""
    return Enum(cls, native_enum=False, create_constraint=False, length=length, values_callable=_values,
                validate_strings=False)
