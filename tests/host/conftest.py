"""Fixtures for the host tests: tiny app folders, served on a real durable runtime."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from devhost.app.loader import import_state_kept
from devhost.http.keys import HostKeys
from devhost.http.server import HttpFrontEnd
from tests.support.front_end import (
    SAMPLE_APP,
    AppServer,
    AppWriter,
    FrontEndStarter,
    ServedApp,
    served_app,
)


@pytest.fixture(autouse=True)
def _isolated_imports() -> Iterator[None]:
    """Undo what loading an app does to sys.path and sys.modules['function_app']."""
    with import_state_kept():
        yield


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
async def serve_app() -> AsyncIterator[AppServer]:
    """Serve app folders (``serve_app(folder, keys=None, **options)``), each on its own
    durable runtime; all are stopped after the test."""
    async with AsyncExitStack() as stack:

        async def serve(app_dir: Path, keys: HostKeys | None = None,
                        **options: object) -> ServedApp:
            return await stack.enter_async_context(served_app(app_dir, keys, **options))

        yield serve


@pytest.fixture
def start_front_end(serve_app: AppServer) -> FrontEndStarter:
    """Serve app folders as ``serve_app`` does; returns just the front end."""

    async def start(app_dir: Path, **options: object) -> HttpFrontEnd:
        return (await serve_app(app_dir, **options)).front_end

    return start


@pytest.fixture
async def served_sample(write_app: AppWriter, serve_app: AppServer) -> ServedApp:
    """The sample app served on a free port, with its running durable runtime."""
    return await serve_app(write_app(SAMPLE_APP))


@pytest.fixture
def sample(served_sample: ServedApp) -> HttpFrontEnd:
    """The sample app's front end."""
    return served_sample.front_end
