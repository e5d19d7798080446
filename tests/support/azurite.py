"""The session's Azurite: one emulator on disk, on free ports, started on first use."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devhost.local.azurite import AzuriteProcess


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzuriteProcess]:
    """One Azurite for the session, on disk in a temporary folder, on free ports."""
    with AzuriteProcess(tmp_path_factory.mktemp("azurite")) as process:
        yield process
