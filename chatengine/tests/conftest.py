"""Fixtures of the engine's end-to-end suites: one live engine per test
module (a real daphne process on a fresh database)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chatengine.tests.live import LiveEngine, fresh_database, migrate, serve


@pytest.fixture(autouse=True)
def _consumer_db_on_the_test_thread(settings) -> None:
    """A consumer run in-process (``WebsocketCommunicator``) does its database
    work on the test's thread, inside the test's transaction; live engines
    (their own processes) keep their pool of database threads."""
    settings.CHATENGINE_DB_THREADS = 0


@pytest.fixture(scope="module")
def live_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveEngine]:
    tmp = tmp_path_factory.mktemp("engine")
    with fresh_database(tmp) as database_url:
        migrate(database_url)
        with serve(database_url, tmp / "spec.log") as engine:
            yield engine
            violations, checked = engine.spec_violations(), engine.spec_checked()
    assert checked, "no response was checked against Stream's spec"
    assert violations == [], "responses that break Stream's spec:\n" + "\n".join(violations)
