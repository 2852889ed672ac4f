"""
Single flight: when many requests miss the same metric at once, one computes.

Within a process a lock per metric serialises the threads. On PostgreSQL a
transaction-scoped advisory lock extends that across processes and hosts: it
is released when the transaction that computes and stores the snapshot ends,
however it ends. SQLite has no such lock; there the guarantee holds within a
process only.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction

# First key of the two-key advisory lock, so that our locks never collide with
# another application's on the same database ("ct" for checkout trust).
ADVISORY_LOCK_NAMESPACE = 0x6374

_process_locks: dict[str, threading.Lock] = {}
_process_locks_guard = threading.Lock()


def _process_lock(metric_id: str) -> threading.Lock:
    with _process_locks_guard:
        return _process_locks.setdefault(metric_id, threading.Lock())


def advisory_lock_key(metric_id: str) -> int:
    """Return a stable signed 32-bit key for `metric_id` (the same in every process)."""
    unsigned = zlib.crc32(metric_id.encode())
    return unsigned - 2**32 if unsigned >= 2**31 else unsigned


def _try_advisory_xact_lock(metric_id: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_try_advisory_xact_lock(%s, %s)",
            [ADVISORY_LOCK_NAMESPACE, advisory_lock_key(metric_id)],
        )
        return bool(cursor.fetchone()[0])


@contextmanager
def computation_slot(metric_id: str, *, wait_seconds: float) -> Iterator[bool]:
    """
    Open a transaction and try to become the one computer of `metric_id`.

    Yields True inside the transaction when this caller holds the slot, False
    when another thread or process holds it (after waiting up to
    `wait_seconds` for the thread lock). The slot is released when the block
    ends; an exception rolls the transaction back.
    """
    process_lock = _process_lock(metric_id)
    if not process_lock.acquire(timeout=wait_seconds):
        yield False
        return
    try:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                yield _try_advisory_xact_lock(metric_id)
            else:
                yield True
    finally:
        process_lock.release()
