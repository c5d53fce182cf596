"""A batch's rows written at once, for the due runner's one-flush batches (`kit.db.one_flush`).

On PostgreSQL new rows are streamed with COPY on the session's own connection, in its transaction:
PostgreSQL parses and plans nothing per row, and the client sends one stream instead of one INSERT
per row (an executemany) — about five times less work per row on both sides. Changed rows go as one
`UPDATE ... FROM unnest(...)` per table and set of changed columns, the arrays sent in binary.
Elsewhere (SQLite, in-process) `insert_rows` is a plain executemany and the rest is left to the
unit of work.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import JSON, Table, TypeDecorator, insert, inspect, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import ONETOMANY, Session

_PG = postgresql.dialect()
COPY_FROM_ROWS = 20  # fewer rows go as one INSERT (a request's few events): COPY costs an extra round trip


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]], *,
                copy_from: int = COPY_FROM_ROWS) -> None:
    """Insert `rows` (dicts with the same keys, values as the columns take them) into `table`: on
    PostgreSQL with COPY from `copy_from` rows on, else in one executemany."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql" or len(rows) < copy_from:
        session.execute(insert(table), list(rows))
        return
    columns = list(rows[0])
    convert = [_converter(table.c[name].type, connection.dialect) for name in columns]
    raw = connection.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([value if fn is None else fn(value)
                            for fn, value in zip(convert, (row[name] for name in columns), strict=True)])


def _converter(type_: Any, dialect: Any) -> Any:
    if isinstance(type_, JSON):
        return lambda v: None if v is None else json.dumps(v)
    if isinstance(type_, TypeDecorator):  # e.g. UTCDateTime refuses a time without a zone
        then = _converter(type_.impl_instance, dialect)  # e.g. an invoice action, stored as JSON
        if then is not None:
            return lambda v: then(type_.process_bind_param(v, dialect))
        return lambda v: type_.process_bind_param(v, dialect)
    return None


def copy_new(session: Session, classes: Sequence[type[Any]]) -> int:
    """On PostgreSQL, write the session's new objects of `classes` (insert-only rows, given parents
    before children) with COPY and make them persistent, as a flush would; the unit of work then has
    nothing left to do for them. Only for a transaction that falls back to ordinary flushes when
    this raises (a constraint it breaks fails the whole COPY). Returns the number of rows written."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return 0
    new = list(session.new)
    written = 0
    with session.no_autoflush:  # the unit of work must not write these meanwhile
        for cls in classes:
            objs = sorted((o for o in new if type(o) is cls), key=lambda o: inspect(o).insert_order)
            if objs:
                written += _copy_objects(session, cls, objs)
    return written


_MISSING = object()


def _copy_objects(session: Session, cls: type[Any], objs: list[Any]) -> int:
    mapper = inspect(cls)
    table = cast(Table, mapper.local_table)
    for rel in mapper.relationships:  # a child's foreign key is set by its parent's collection on flush
        if rel.direction is ONETOMANY:
            pairs = [(local.key, rel.mapper.get_property_by_column(remote).key)
                     for local, remote in rel.local_remote_pairs]
            for obj in objs:
                for child in obj.__dict__.get(rel.key, ()):
                    for local, remote in pairs:
                        setattr(child, remote, getattr(obj, local))
    (pk,) = table.primary_key.columns
    pk_key = mapper.get_property_by_column(pk).key
    missing = [o for o in objs if o.__dict__.get(pk_key) is None]
    if missing:  # an autoincrement key: taken from its sequence, in the order the objects were added
        ids = sorted(session.execute(text("SELECT nextval(pg_get_serial_sequence(:t, :c)) FROM generate_series(1, :n)"),
                                     {"t": table.name, "c": pk.name, "n": len(missing)}).scalars())
        for obj, id_ in zip(missing, ids, strict=True):
            obj.__dict__[pk_key] = id_
    props = [(prop.key, prop.columns[0]) for prop in mapper.column_attrs]
    for obj in objs:
        values = obj.__dict__
        for key, column in props:
            if key not in values:
                if column.default is not None and column.default.is_scalar:
                    values[key] = column.default.arg
                elif column.default is None and column.server_default is None:
                    values[key] = None
                else:
                    raise ValueError(f"{cls.__name__}.{key}: a generated default cannot be copied")
    rows = [{column.name: obj.__dict__[key] for key, column in props} for obj in objs]
    insert_rows(session, table, rows, copy_from=1)
    session._register_persistent({inspect(o) for o in objs})  # what a flush does after its INSERT (private API)
    return len(objs)


def update_dirty(session: Session, classes: Sequence[type[Any]]) -> int:
    """On PostgreSQL, write the changed columns of the session's modified objects of `classes` with
    one `UPDATE ... FROM unnest(...)` per class and set of changed columns, and mark them clean, as
    a flush would: like the unit of work, it writes only the columns that were set. Objects whose
    relationships changed are left to the unit of work. Only in a transaction that falls back to
    ordinary flushes when this raises. Returns the number of rows written."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return 0
    written = 0
    with session.no_autoflush:
        for cls in classes:
            mapper = inspect(cls)
            columns = {prop.key: prop.columns[0] for prop in mapper.column_attrs}
            groups: dict[tuple[str, ...], list[Any]] = {}
            for obj in session.dirty:
                if type(obj) is not cls:
                    continue
                changed = tuple(sorted(inspect(obj).committed_state))
                if changed and all(key in columns for key in changed):
                    groups.setdefault(changed, []).append(obj)
            for changed, objs in groups.items():
                written += _update_group(session, mapper, columns, changed, objs)
    return written


def _update_group(session: Session, mapper: Any, columns: dict[str, Any], changed: tuple[str, ...],
                  objs: list[Any]) -> int:
    table = cast(Table, mapper.local_table)
    (pk,) = table.primary_key.columns
    names = [pk.name, *(columns[key].name for key in changed)]
    # %b: the arrays travel in binary, several times cheaper to encode than as text on both sides
    arrays = ", ".join(f"CAST(%b AS {table.c[name].type.compile(dialect=_PG)}[])" for name in names)
    sets = ", ".join(f"{name} = r.{name}" for name in names[1:])
    statement = (f"UPDATE {table.name} SET {sets} FROM unnest({arrays}) AS r({', '.join(names)}) "
                 f"WHERE {table.name}.{pk.name} = r.{pk.name}")
    connection = session.connection()
    # the keys from the identities: an expired object's key is not in its __dict__
    params: list[list[Any]] = [[inspect(obj).identity[0] for obj in objs]]
    for key, name in zip(changed, names[1:], strict=True):
        convert = _converter(table.c[name].type, connection.dialect)
        values = [obj.__dict__[key] for obj in objs]
        params.append(values if convert is None else [convert(v) for v in values])
    raw = connection.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor:
        cursor.execute(statement, params)
        if cursor.rowcount != len(objs):
            raise RuntimeError(f"{table.name}: updated {cursor.rowcount} rows, expected {len(objs)}")
    session._register_persistent({inspect(o) for o in objs})  # what a flush does after its UPDATE (private API)
    return len(objs)
