"""The FCM emulator on its own thread: one per test, or one per module for child hosts.

Never one per session: a session-long "fcm-emulator" thread would still be running when
tests/fcm_emulator checks that the emulator's thread helper leaves none behind.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fcm_emulator import FcmEmulator


def _running_emulator() -> Iterator[FcmEmulator]:
    with FcmEmulator.running_in_thread() as emulator:
        yield emulator


@pytest.fixture
def fcm() -> Iterator[FcmEmulator]:
    """An FCM emulator of the test's own, stopped after the test."""
    yield from _running_emulator()


@pytest.fixture(scope="module")
def module_fcm() -> Iterator[FcmEmulator]:
    """The FCM emulator the module's hosts push to; pushes are told apart by token."""
    yield from _running_emulator()
