"""The app's own requirements.txt: installed after the host's packages, cached, refused by name."""

from __future__ import annotations

import os
import site
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from devhost.app.loader import load_app
from devhost.app.requirements import APP_PACKAGES_VARIABLE, install_requirements
from devhost.errors import AppLoadError
from tests.host.triggers.wheels import PACKAGE, build_wheel
from tests.support.front_end import AppWriter
from tests.support.process_state import process_state_kept

IMPORTING_APP = f"""
import azure.durable_functions as df
import azure.functions as func
import {PACKAGE}

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

@app.route(route="greet")
def greet(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse({PACKAGE}.MESSAGE)
"""


@pytest.fixture(autouse=True)
def _kept() -> Iterator[None]:
    """Put back sys.path, the environment and the imported package."""
    with process_state_kept():
        yield
    sys.modules.pop(PACKAGE, None)


def app_with(write_app: AppWriter, requirements: str, source: str = IMPORTING_APP) -> Path:
    """An app folder with a wheel in ``wheels/`` and the given requirements.txt."""
    folder = write_app(source, requirements__txt=requirements)
    build_wheel(folder / "wheels")
    return folder


def test_requirements_go_after_the_host_packages(write_app: AppWriter) -> None:
    """What the host lacks is installed under .local/ and appended to sys.path; what the host
    has is left to it; the app then imports the package."""
    folder = app_with(write_app, f"azure-functions>=1\n./wheels/{PACKAGE}-1.0-py3-none-any.whl\n")
    found = install_requirements(folder)
    assert found is not None and found.target is not None
    assert found.installed == [f"{PACKAGE} 1.0"]
    assert [p.split()[0] for p in found.provided] == ["azure-functions"]
    assert found.target.parent == folder / ".local" / "requirements"
    assert sys.path[-1] == str(found.target)
    packages = [sys.path.index(p) for p in site.getsitepackages() if p in sys.path]
    assert packages and max(packages) < sys.path.index(str(found.target))
    assert os.environ[APP_PACKAGES_VARIABLE] == str(found.target)
    assert "installed in .local/requirements/" in found.summary()
    index = load_app(folder)
    assert [f.name for f in index.http] == ["greet"]


def test_an_unchanged_file_is_not_installed_again(write_app: AppWriter) -> None:
    """The second start reuses the folder keyed by the file (the wheel is gone by then)."""
    folder = app_with(write_app, f"./wheels/{PACKAGE}-1.0-py3-none-any.whl\n")
    first = install_requirements(folder)
    (folder / "wheels" / f"{PACKAGE}-1.0-py3-none-any.whl").unlink()
    again = install_requirements(folder)
    assert first is not None and again is not None
    assert again.from_cache and again.target == first.target
    assert again.installed == [f"{PACKAGE} 1.0"]
    assert "already installed" in again.summary()


def test_a_requirement_that_cannot_be_installed_stops_the_start(write_app: AppWriter) -> None:
    """pip's failure is turned into an error naming the requirement; nothing is cached."""
    folder = app_with(write_app, "./wheels/devhost_test_absent-2.0-py3-none-any.whl\n")
    with pytest.raises(AppLoadError, match=r"devhost_test_absent-2\.0") as refused:
        install_requirements(folder)
    assert "cannot be installed" in str(refused.value)
    cache = folder / ".local" / "requirements"
    assert not any(cache.glob("*/.complete")) if cache.exists() else True


def test_a_version_the_host_does_not_satisfy_is_named(write_app: AppWriter) -> None:
    """The host's copy wins over an app's pin (it comes first on sys.path): say so."""
    folder = app_with(write_app, "azure-functions==0.0.1\n")
    found = install_requirements(folder)
    assert found is not None
    assert found.installed == [] and found.target is None
    assert "azure-functions==0.0.1 is wanted but the host runs on azure-functions" in (
        found.summary())


def test_a_missing_module_is_named_with_its_fix(write_app: AppWriter) -> None:
    """An import error names the module, where it is imported, and how to install it."""
    folder = write_app(IMPORTING_APP.replace(PACKAGE, "devhost_test_nowhere"))
    with pytest.raises(AppLoadError) as refused:
        load_app(folder)
    text = str(refused.value)
    assert "imports module 'devhost_test_nowhere', which is not installed" in text
    assert "function_app.py:4" in text
    assert "requirements.txt" in text and "pip install devhost_test_nowhere" in text
    assert "Traceback" not in text


def test_a_missing_module_listed_in_requirements_points_at_make_run(
        write_app: AppWriter) -> None:
    """When requirements.txt lists it, the fix is to start through ``make run``."""
    folder = write_app(IMPORTING_APP.replace(PACKAGE, "devhost_test_nowhere"),
                       requirements__txt="devhost-test-nowhere\n")
    with pytest.raises(AppLoadError, match=r"it is listed in requirements\.txt"):
        load_app(folder)


def test_a_nested_requirements_file_is_read_from_the_app_folder(write_app: AppWriter) -> None:
    """``-r more.txt`` names a file beside requirements.txt, as pip reads it there."""
    folder = app_with(write_app, "-r more.txt\n")
    (folder / "more.txt").write_text(f"./wheels/{PACKAGE}-1.0-py3-none-any.whl\n")
    found = install_requirements(folder)
    assert found is not None and found.installed == [f"{PACKAGE} 1.0"]
