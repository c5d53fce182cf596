"""History and retention (issue 17, "Keep history without slowing down"; README "History and retention").

What grows with traffic, and what happens to it:

- **Money records are never deleted**: the ledger (wallet_entries: a usage event IS its ledger debit, and the
  unique index on usage ids enforces DESIGN rule 7, "ids are unique per deployment"), invoices and their lines
  (credit notes are invoices), payments, the audit log; and events, which `langganan verify` counts against
  invoices, payments and periods. Indonesian law (UU KUP art. 28 (11)) keeps books and records 10 years; a deleted
  usage debit would let its id be accepted, and charged, again; and verify would report the books broken.
  `langganan archive --export-kept` writes them by month to gzip CSV for offsite storage, deleting nothing.
- **The ledger is not partitioned**: PostgreSQL puts the partition key in every unique index, so the global unique
  index on usage ids (and the bigint primary key) would have to include the month, and an id could then be used
  once per month: rule 7 broken. Events are not partitioned either: deliveries and notifications reference them by
  foreign key. bench/ingest_history.py measures what 10 million ledger rows cost ingest instead.
- **Idempotency records** are purged 48 hours after their request (kit/idempotency.py): small, not partitioned.
- **Delivery attempts** (every webhook and email send: the fastest-growing operational table) are partitioned by
  month on PostgreSQL (migration 0029; `partitions`): the worker creates partitions ahead, a DEFAULT partition
  catches anything outside them, and retention detaches, exports and drops whole months. On SQLite the table is
  plain and retention deletes its rows in keyset batches.
- **Other operational history** (finished deliveries, the in-app feed, console login attempts, expired sessions)
  is exported and deleted in keyset batches on both databases, each after its LANGGANAN_RETENTION_* setting
  (`retention`: one rule per table, with its reason).

`archive` is `langganan archive`: every row it removes is first in a gzip CSV file that is written, fsynced and
renamed into place; a re-run after a crash loses nothing and exports nothing twice.
"""
