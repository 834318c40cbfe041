"""The engine's database threads: a healthy, unscoped pooled connection is
kept from one call to the next; one that may be scoped to a tenant goes back
to the pool, to be unscoped when it is next taken."""

from __future__ import annotations

import asyncio
import threading
import uuid

import pytest
from asgiref.sync import async_to_sync
from django.db import connection

from chatengine.threads import in_db_thread
from tenants import rls

pytestmark = pytest.mark.django_db(transaction=True)


def _entry(scope: bool = False) -> tuple[bool, int, int]:
    """Whether this thread's connection was still open when the call began,
    the server process behind it (after opening one if needed), and the thread."""
    kept = connection.connection is not None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    if scope:
        rls.scope_to_tenant(uuid.uuid4())
    return kept, pid, threading.get_ident()


def _calls(*scopes: bool) -> list[tuple[bool, int, int]]:
    run = in_db_thread(_entry)
    return [async_to_sync(run)(scope) for scope in scopes]


@pytest.fixture
def pooled(settings):
    if connection.vendor != "postgresql" or connection.settings_dict["OPTIONS"].get("pool") is None:
        pytest.skip("pooled connections are PostgreSQL's")
    settings.CHATENGINE_DB_THREADS = 4  # (the suite's in-process consumers use none)
    yield
    _close_on_every_thread()


def _close_on_every_thread() -> None:
    """Every database thread gives its connection back (the test database is
    dropped at the end of the session), each held at a barrier so that every
    thread runs one."""
    from django.db import connections

    from chatengine import threads

    count = threads._executor(4)._max_workers
    barrier = threading.Barrier(count)

    def close() -> None:
        barrier.wait(timeout=10)
        connections.close_all()

    run = in_db_thread(close)

    async def everywhere() -> None:
        await asyncio.gather(*(run() for _ in range(count)))

    async_to_sync(everywhere)()


def test_an_unscoped_connection_stays_with_its_thread(pooled):
    entries = _calls(*[False] * 8)
    kept = [pid for was_open, pid, _ in entries if was_open]
    # A connection is unscoped (and marked so) when first taken; from then on
    # a thread keeps it.
    assert kept, entries
    assert len(kept) >= 4, entries


def test_a_connection_that_may_be_scoped_goes_back_to_the_pool(pooled):
    assert any(was_open for was_open, _, _ in _calls(*[False] * 8))
    entries = _calls(*[True] * 12)
    # After a call that scoped, its thread starts its next call without a
    # connection: the scoped one went back, to be unscoped when next taken.
    seen: set[int] = set()
    after_a_scoped_call = []
    for was_open, _, thread in entries:
        if thread in seen:
            after_a_scoped_call.append(was_open)
        seen.add(thread)
    assert after_a_scoped_call, entries
    assert not any(after_a_scoped_call), entries
