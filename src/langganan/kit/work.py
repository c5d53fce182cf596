"""The unit of work: the session of one transaction and everything that transaction carries.

The caller (a request, a job, a CLI command) opens it (`Database.transaction()`, or a session of
`Database.sessions` that it commits itself) and commits it. What used to hide in flags on the session
and process-global `Session` hooks are typed fields of the `Work` and its own steps:

- `outbox`: rows this transaction only appends (its domain events; a due batch's ledger entries),
  inserted in one statement per table just before it commits; a savepoint that rolls back takes
  its rows with it.
- `deferred`: None, or the objects waiting for a number (a due batch numbers its invoices only just
  before it commits, so the month's counter row is locked for a moment, not for the whole batch).
- `collecting`: within `kit.db.one_flush`, services' own flushes wait for the batch's single flush.
- `held` / `kept`: rows this transaction inserted or locked, and rows it read ahead (no query again).
- read-ahead answers (`answers`/`read_ahead`), each to one typed `Question`, for the due batches.
- `before`: values of rows before this transaction moved them (wallet balances, quota counts), that
  the reactions given in `Steps.before_commit` (usage alerts) decide on, once, on the net movement.
- `steps`: what the process's composition root (`langganan.app.make_database`) asks of every unit
  of work of its database: derived columns kept right on each flush, reactions before each commit.
- `committed`: what to do once this transaction has committed, and never if it rolls back (counting
  what happened in the metrics): given where the thing happens (`on_commit`); a savepoint that rolls
  back takes what it gave with it.

Everything but `steps` lives one transaction: it is forgotten when the outermost transaction ends.
Only this module registers session events, on this class only, and each only calls `Work`'s methods.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import Table, event, inspect
from sqlalchemy.orm import Session, SessionTransaction

from langganan.kit.bulk import insert_rows

K = TypeVar("K")
V = TypeVar("V")

Step = Callable[["Work"], None]


@dataclass(frozen=True)
class Steps:
    """What a database's units of work do besides their callers' writes: `before_flush` steps keep
    derived columns right (a subscription's `next_due_at`), `before_commit` steps react to what the
    transaction did (usage alerts). Given once, where the database is made."""

    before_flush: tuple[Step, ...] = ()
    before_commit: tuple[Step, ...] = ()
    # What the steps were made from (opaque here, compared by equality): lets the composition root refuse
    # a database whose units of work follow other settings than the application's.
    made_from: object = None


NO_STEPS = Steps()


@dataclass(frozen=True, eq=False)
class Question(Generic[K, V]):
    """One kind of read-ahead answer a unit of work can hold (say, "the renewal invoice of a period"),
    typed by its key and value. Identity is the object: define each once, at module level."""

    name: str


@dataclass
class Outbox:
    """Rows to insert before the transaction commits, per table, in emission order."""

    rows: dict[Table, list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, table: Table, row: dict[str, Any]) -> None:
        self.rows.setdefault(table, []).append(row)

    def mark(self) -> dict[Table, int]:
        return {table: len(rows) for table, rows in self.rows.items()}

    def forget_after(self, mark: Mapping[Table, int]) -> None:
        for table, rows in self.rows.items():
            del rows[mark.get(table, 0):]

    def rename(self, names: Mapping[str, str]) -> None:
        """Replace placeholder values (deferred invoice numbers) in the rows' JSON `data` by their final ones."""
        if not names:
            return
        for rows in self.rows.values():
            for row in rows:
                data = row.get("data")
                if isinstance(data, dict) and any(isinstance(v, str) and v in names for v in data.values()):
                    row["data"] = {k: names.get(v, v) if isinstance(v, str) else v for k, v in data.items()}

    def write(self, session: Session) -> None:
        """Insert every row (one statement per table) and empty the outbox."""
        pending, self.rows = self.rows, {}
        for table, rows in pending.items():
            insert_rows(session, table, rows)


@dataclass
class Before:
    """A row's value before this transaction moved it, and the latest time it was moved at."""

    obj: Any
    value: int
    at: datetime


class Work(Session):
    """A session that is one unit of work (see the module's docstring)."""

    def __init__(self, *args: Any, steps: Steps = NO_STEPS, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.steps = steps
        self._reset()

    def _reset(self) -> None:
        self.outbox = Outbox()
        self.deferred: list[tuple[Any, str]] | None = None
        self.collecting = False
        self.held_rows: dict[tuple[type[Any], Any], Any] = {}
        self.kept: list[Any] = []
        self._answers: dict[Question[Any, Any], dict[Any, Any]] = {}
        self.before: dict[tuple[str, Any], Before] = {}
        self.committed: list[Callable[[], None]] = []
        self._marks: dict[SessionTransaction, tuple[dict[Table, int], int, int]] = {}

    def rollback(self) -> None:
        super().rollback()
        self._reset()  # (also what was noted while no transaction had begun yet)

    def close(self) -> None:
        super().close()
        self._reset()

    # -- rows this transaction holds ---------------------------------------------------------------
    # A row the transaction inserted, or locked FOR UPDATE outside any savepoint, stays locked until the
    # transaction ends, so reading it again "for update" needs no second round trip.

    def hold(self, obj: Any, key: Any = None) -> None:
        """Remember that this transaction holds `obj`'s row, under its id or another unique `key`."""
        self.held_rows[(type(obj), obj.id if key is None else key)] = obj

    def held(self, cls: type[V], key: Any) -> V | None:
        """The object of a row this transaction holds, without a query; None when it does not hold it."""
        obj = self.held_rows.get((cls, key))
        if obj is None or obj not in self:  # (not in it: added in a savepoint that rolled back)
            return None
        state = inspect(obj)
        return cast(V, obj) if state.persistent or state.pending else None

    def keep(self, objs: Iterable[Any]) -> None:
        """Keep objects read ahead in the identity map (it holds them weakly) for this transaction."""
        self.kept.extend(objs)

    # -- read-ahead answers ------------------------------------------------------------------------

    def answers(self, question: Question[K, V]) -> dict[K, V] | None:
        """The answers to `question` this transaction read ahead, or None when it read none."""
        return cast("dict[K, V] | None", self._answers.get(question))

    def read_ahead(self, question: Question[K, V]) -> dict[K, V]:
        """Where to put answers to `question` read ahead (the same dict for the rest of the transaction)."""
        return cast("dict[K, V]", self._answers.setdefault(question, {}))

    # -- values before this transaction moved them ------------------------------------------------------

    def remember(self, kind: str, key: Any, obj: Any, value: int, at: datetime) -> None:
        """`obj`'s `kind` value (a balance, a count) is about to move at `at`: keep what it was before
        this transaction moved it first, for the reactions that run before it commits."""
        seen = self.before.get((kind, key))
        if seen is None:
            self.before[(kind, key)] = Before(obj, value, at)
        elif at > seen.at:
            seen.at = at

    # -- after the commit -----------------------------------------------------------------------------

    def on_commit(self, action: Callable[[], None]) -> None:
        """Run `action` once the outermost transaction has committed; never when it (or the savepoint
        this is called in) rolls back. For what must not happen for work that did not: counting it."""
        self.committed.append(action)

    def _after_commit(self) -> None:
        if self.in_nested_transaction():  # a savepoint released: its actions wait for the real commit
            return
        actions, self.committed = self.committed, []
        for action in actions:
            action()

    # -- the transaction's steps -------------------------------------------------------------------

    def run_flush_steps(self) -> None:
        for step in self.steps.before_flush:
            step(self)

    def _before_commit(self) -> None:
        if self.in_nested_transaction():  # a savepoint released: what it did waits for the real commit
            return
        for step in self.steps.before_commit:
            step(self)
        if any(self.outbox.rows.values()):
            self.flush()  # (the rows the events refer to go first)
            self.outbox.write(self)

    def _savepoint_began(self, transaction: SessionTransaction) -> None:
        self._marks[transaction] = (self.outbox.mark(), len(self.deferred or ()), len(self.committed))

    def _savepoint_rolled_back(self, transaction: SessionTransaction) -> None:
        mark = self._marks.pop(transaction, None)
        if mark is None:
            return
        self.outbox.forget_after(mark[0])  # the events it emitted never happened
        if self.deferred is not None:
            del self.deferred[mark[1]:]  # nor the invoices it issued
        del self.committed[mark[2]:]  # nor anything it counted

    def _transaction_ended(self, transaction: SessionTransaction) -> None:
        if transaction.parent is None:  # (a savepoint's mark stays: its rollback is told after its end)
            self._reset()


# The only session events langganan listens to: on `Work` alone, each handing over to its method.

@event.listens_for(Work, "before_flush")
def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    cast(Work, session).run_flush_steps()


@event.listens_for(Work, "before_commit")
def _before_commit(session: Session) -> None:
    cast(Work, session)._before_commit()


@event.listens_for(Work, "after_commit")
def _after_commit(session: Session) -> None:
    cast(Work, session)._after_commit()


@event.listens_for(Work, "after_transaction_create")
def _began(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        cast(Work, session)._savepoint_began(transaction)


@event.listens_for(Work, "after_soft_rollback")
def _rolled_back(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        cast(Work, session)._savepoint_rolled_back(transaction)


@event.listens_for(Work, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    cast(Work, session)._transaction_ended(transaction)


def work_of(session: Session) -> Work:
    """`session` as the unit of work it is (every session langganan opens is one)."""
    if not isinstance(session, Work):
        raise TypeError("a langganan unit of work was expected: open sessions with kit.db.Database")
    return session
