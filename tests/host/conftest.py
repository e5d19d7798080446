"""Fixtures for the host tests: tiny app folders, a fake durable service, a running front end."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from devhost.app.loader import load_app
from devhost.app.settings import load_settings
from devhost.http.keys import HostKeys
from devhost.http.server import HttpFrontEnd
from tests.host.host_fakes import FakeDurableService
from tests.support.front_end import SAMPLE_APP, AppWriter, FrontEndStarter


@pytest.fixture(autouse=True)
def _isolated_imports() -> Iterator[None]:
    """Undo what loading an app does to sys.path and sys.modules['function_app']."""
    saved_path = list(sys.path)
    saved_app = sys.modules.get("function_app")
    yield
    sys.path[:] = saved_path
    if saved_app is None:
        sys.modules.pop("function_app", None)
    else:
        sys.modules["function_app"] = saved_app


@pytest.fixture
def write_app(tmp_path: Path) -> AppWriter:
    """Write an app folder: ``write_app(source, name="app", **files)``; returns its path."""

    def write(source: str | None, name: str = "app", **files: str) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        if source is not None:
            (folder / "function_app.py").write_text(textwrap.dedent(source))
        for filename, text in files.items():
            (folder / filename.replace("__", ".")).write_text(textwrap.dedent(text))
        return folder

    return write


@pytest.fixture
def fake_service() -> FakeDurableService:
    """A fresh in-memory durable service."""
    return FakeDurableService()


@pytest.fixture
async def start_front_end(fake_service: FakeDurableService
                          ) -> AsyncIterator[FrontEndStarter]:
    """Start front ends on free loopback ports; all are stopped after the test."""
    started: list[HttpFrontEnd] = []

    async def start(app_dir: Path, **options: object) -> HttpFrontEnd:
        settings = load_settings(app_dir, environ={})
        front_end = HttpFrontEnd(load_app(app_dir), fake_service,
                                 HostKeys.load(app_dir), settings, port=0, **options)
        await front_end.start()
        started.append(front_end)
        return front_end

    yield start
    for front_end in started:
        await front_end.stop()


@pytest.fixture
async def sample(write_app: AppWriter, start_front_end: FrontEndStarter) -> HttpFrontEnd:
    """The sample app served on a free port."""
    return await start_front_end(write_app(SAMPLE_APP))
