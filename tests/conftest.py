"""The whole suite: the shared fixture modules, and ``--run-slow`` for the long trials.

Tests marked ``slow`` are skipped unless ``--run-slow`` is given (``make test-slow`` runs
``pytest -m slow --run-slow``), so ``make test`` stays fast even without ``-m "not slow"``.
"""

from __future__ import annotations

import pytest

# Fixtures and report hooks every folder may use, each defined once in tests/support.
pytest_plugins = [
    "tests.support.azurite",
    "tests.support.fcm",
    "tests.support.host_process",
    "tests.support.local_host",
    "tests.support.trials",
    # The test kit's own fixture (durable_test_host), as an app's conftest registers it.
    "devhost.testing.pytest_plugin",
]

RUN_SLOW = "--run-slow"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--run-slow``."""
    parser.addoption(RUN_SLOW, action="store_true", default=False,
                     help="also run the tests marked slow (long fault and load trials)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip every ``slow`` test unless ``--run-slow`` was given."""
    if config.getoption(RUN_SLOW):
        return
    skip = pytest.mark.skip(reason=f"slow trial: run with {RUN_SLOW} (make test-slow)")
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(skip)
