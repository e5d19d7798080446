"""The whole suite: the shared fixture modules, and ``--run-slow`` for the long trials.

Tests marked ``slow`` are skipped unless ``--run-slow`` is given (``make test-slow`` runs
``pytest -m slow --run-slow``), so ``make test`` stays fast even without ``-m "not slow"``.
Tests marked ``browser`` run only with ``--run-browser`` (``make test-browser``); without it they
are left out of the run altogether, as they need Chromium.
"""

from __future__ import annotations

import pytest

# Fixtures and report hooks every folder may use, each defined once in tests/support.
pytest_plugins = [
    "tests.support.azurite",
    "tests.support.browser",
    "tests.support.fcm",
    "tests.support.host_process",
    "tests.support.local_host",
    "tests.support.trials",
    # The test kit's own fixture (durable_test_host), as an app's conftest registers it.
    "devhost.testing.pytest_plugin",
]

RUN_SLOW = "--run-slow"
RUN_BROWSER = "--run-browser"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--run-slow`` and ``--run-browser``."""
    parser.addoption(RUN_SLOW, action="store_true", default=False,
                     help="also run the tests marked slow (long fault and load trials)")
    parser.addoption(RUN_BROWSER, action="store_true", default=False,
                     help="run the tests marked browser (headless Chromium) and only those")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip ``slow`` tests unless ``--run-slow``; ``browser`` tests run only in a browser run."""
    in_browser_run = bool(config.getoption(RUN_BROWSER))
    kept = [item for item in items
            if (item.get_closest_marker("browser") is not None) == in_browser_run]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in set(kept)])
        items[:] = kept
    if config.getoption(RUN_SLOW):
        return
    skip = pytest.mark.skip(reason=f"slow trial: run with {RUN_SLOW} (make test-slow)")
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(skip)
