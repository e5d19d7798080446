"""Fixtures for the lint tests: sample app folders written to a temporary folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.host.lint.samples import write_files

AppFiles = Callable[..., Path]


@pytest.fixture
def app_files(tmp_path: Path) -> AppFiles:
    """Write an app folder: ``app_files({"pkg/mod.py": source}, name="app")``."""

    def write(files: dict[str, str], name: str = "app") -> Path:
        return write_files(tmp_path / name, files)

    return write
