"""The two test apps, each written into a folder of its own for the test."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.host.testing.apps import LEDGER, LEDGER_COMMON, REMINDER_COMMON, REMINDERS, write_app


@pytest.fixture
def reminders_app(tmp_path: Path) -> Path:
    """The reminders app (HTTP, an activity, an event or a timer) in a fresh folder."""
    return write_app(tmp_path / "reminders", REMINDERS, REMINDER_COMMON)


@pytest.fixture
def ledger_app(tmp_path: Path) -> Path:
    """The ledger app (a sub-orchestration, a failing activity) in a fresh folder."""
    return write_app(tmp_path / "ledger", LEDGER, LEDGER_COMMON)
