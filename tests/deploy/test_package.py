"""The deploy package installs and indexes with the runtime requirements alone.

``infra/package.py`` (what ``make package`` runs) builds the zip; the test unpacks it into an
empty folder, makes a fresh virtualenv there, installs the zip's ``requirements.txt`` and
nothing else (as Azure's remote build does), and compares the functions that interpreter
indexes with the ones the repository's interpreter indexes, computed by the same script.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import constants
from telemetry import names
from tests.deploy.conftest import Receiver, serving
from tests.support import APP_DIR

pytestmark = pytest.mark.e2e

PACKAGER = APP_DIR / "infra" / "package.py"
INDEX_PROBE = APP_DIR / "tests" / "deploy" / "index_probe.py"
TELEMETRY_PROBE = APP_DIR / "tests" / "deploy" / "telemetry_probe.py"
INSTALL_TIMEOUT_SECONDS = 1200
RUN_TIMEOUT_SECONDS = 180
# What must never be uploaded: tests, the local host, the emulator, benchmarks, local tools,
# environments and local settings or keys.
NEVER_UPLOADED = ("tests/", "devhost/", "fcm_emulator/", "bench/", ".venv/", "node_modules/",
                  ".local/", ".git/", ".github/", "dist/", "infra/", "docs/", ".azure/",
                  "local.settings.json", "requirements-dev.txt", "Makefile", "try-it.txt")


@dataclass(frozen=True)
class Package:
    """The built zip, the folder it was unpacked into and the fresh virtualenv's python."""

    zip_path: Path
    app_dir: Path
    python: Path


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without anything that could reach the repository or telemetry."""
    env = {name: value for name, value in os.environ.items()
           if name not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")
           and not name.startswith(("OTEL_", "APPLICATIONINSIGHTS_", "FCM_", "PYTHON_ENABLE"))}
    env.update(extra)
    return env


def run(command: list[str], *, cwd: Path, timeout: float, env: dict[str, str] | None = None,
        ) -> subprocess.CompletedProcess[str]:
    """Run ``command``; fail the test with its output when it exits non-zero."""
    done = subprocess.run(command, cwd=cwd, env=env or clean_env(), text=True,
                          capture_output=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Package:
    """Build the zip, unpack it into an empty folder and install its requirements there."""
    root = tmp_path_factory.mktemp("package")
    zip_path = root / "dist" / "function-app.zip"
    run([sys.executable, str(PACKAGER), "--output", str(zip_path)], cwd=APP_DIR,
        timeout=RUN_TIMEOUT_SECONDS)
    app_dir = root / "site"
    app_dir.mkdir()
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(app_dir)
    venv = root / "venv"
    run([sys.executable, "-m", "venv", str(venv)], cwd=root, timeout=RUN_TIMEOUT_SECONDS)
    python = venv / "bin" / "python"
    run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--no-input", "-r", str(app_dir / "requirements.txt")],
        cwd=app_dir, timeout=INSTALL_TIMEOUT_SECONDS)
    return Package(zip_path, app_dir, python)


def indexed(python: Path | str, app_dir: Path) -> dict[str, Any]:
    """What ``python`` indexes from ``app_dir``: the probe's source run there, the folder
    first on ``sys.path`` and no PYTHONPATH or user site."""
    done = run([str(python), "-E", "-s", "-c", INDEX_PROBE.read_text(encoding="utf-8")],
               cwd=app_dir, timeout=RUN_TIMEOUT_SECONDS)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_the_zip_holds_the_app_and_nothing_a_deploy_must_not_upload(package: Package) -> None:
    """The app's files are in; tests, local host, emulator, tools, settings and keys are not."""
    with zipfile.ZipFile(package.zip_path) as archive:
        names_in_zip = archive.namelist()
        contents = b"".join(archive.read(name) for name in names_in_zip)
    for required in ("function_app.py", "host.json", "requirements.txt", "constants.py"):
        assert required in names_in_zip
    leaked = [name for name in names_in_zip
              if name.startswith(NEVER_UPLOADED) or "__pycache__" in name
              or name.endswith(".pyc")]
    assert leaked == []
    assert b"PRIVATE KEY" not in contents
    # Every module of the app's packages is in it: what function_app imports is uploaded.
    for folder in ("activities", "http_triggers", "models", "orchestrators", "push", "telemetry"):
        for source in (APP_DIR / folder).glob("*.py"):
            assert f"{folder}/{source.name}" in names_in_zip


def test_the_zip_is_the_same_bytes_when_built_twice(package: Package, tmp_path: Path) -> None:
    """Sorted entries with fixed dates: an unchanged tree gives an identical package."""
    again = tmp_path / "again.zip"
    run([sys.executable, str(PACKAGER), "--output", str(again)], cwd=APP_DIR,
        timeout=RUN_TIMEOUT_SECONDS)
    assert again.read_bytes() == package.zip_path.read_bytes()


def test_the_package_indexes_as_the_repository_does(package: Package) -> None:
    """Same functions, triggers, routes, methods and auth levels with runtime requirements only."""
    fresh = indexed(package.python, package.app_dir)
    repository = indexed(sys.executable, APP_DIR)
    assert Path(fresh["app_file"]).parent == package.app_dir
    assert fresh["devhost_importable"] is False
    assert fresh["functions"] == repository["functions"]
    assert set(fresh["functions"]) == {
        constants.PLACE_ORDER_FUNCTION, constants.ORDER_STATUS_FUNCTION,
        constants.APPROVE_FUNCTION, constants.LIST_ORDERS_FUNCTION,
        constants.STAFF_CONSOLE_FUNCTION, constants.OPENAPI_FUNCTION,
        constants.ORDER_ORCHESTRATOR, constants.BACKEND_ACTION}


class _Ingestion(Receiver):
    """Application Insights' ingestion endpoint, locally: keeps each envelope posted to track."""

    envelopes: list[dict[str, Any]]

    def do_POST(self) -> None:
        """Keep the envelopes and answer as the service does: all items accepted."""
        body = self.body()
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        items = json.loads(body) if self.path.endswith("/track") else []
        self.envelopes.extend(items)
        self.answer("application/json", json.dumps(
            {"itemsReceived": len(items), "itemsAccepted": len(items), "errors": []}).encode())


@pytest.fixture
def ingestion() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A local ingestion endpoint on a free port: its URL and the envelopes it received."""
    envelopes: list[dict[str, Any]] = []
    handler = type("Ingestion", (_Ingestion,), {"envelopes": envelopes})
    with serving(handler, "ingestion") as url:
        yield f"{url}/", envelopes


def test_with_a_connection_string_the_distro_sends_the_push_span(
        package: Package, ingestion: tuple[str, list[dict[str, Any]]]) -> None:
    """In the package's environment the Azure Monitor distro exports push.send as a dependency.

    The connection string points at a local ingestion endpoint; statsbeat and the cloud
    resource detectors are off, so nothing leaves this machine. The log line the push made
    arrives as a trace message carrying the order's fields.
    """
    endpoint, envelopes = ingestion
    connection = ("InstrumentationKey=00000000-0000-0000-0000-000000000000;"
                  f"IngestionEndpoint={endpoint}")
    done = run([str(package.python), str(TELEMETRY_PROBE)], cwd=package.app_dir,
               timeout=RUN_TIMEOUT_SECONDS, env=clean_env(
                   PYTHONPATH=str(package.app_dir),
                   APPLICATIONINSIGHTS_CONNECTION_STRING=connection,
                   APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL="true",
                   OTEL_EXPERIMENTAL_RESOURCE_DETECTORS="otel",
                   # The distro's default sampler keeps about 5 traces a second and may drop
                   # a process's very first one; this test needs that one.
                   OTEL_TRACES_SAMPLER="always_on"))
    report = json.loads(done.stdout.strip().splitlines()[-1].removeprefix("PROBE "))
    assert report["installed"] == "azure_monitor"
    pushes = [envelope for envelope in envelopes
              if envelope.get("data", {}).get("baseData", {}).get("name") == names.PUSH_SPAN]
    assert len(pushes) == 1, [envelope.get("name") for envelope in envelopes]
    properties = pushes[0]["data"]["baseData"]["properties"]
    assert properties[names.ORDER_ID] == "probe-order-0001"
    assert properties[names.PUSH_OUTCOME] == "not_configured"
    messages = [envelope["data"]["baseData"] for envelope in envelopes
                if envelope.get("name") == "Microsoft.ApplicationInsights.Message"
                and "push is not configured" in envelope["data"]["baseData"]["message"]]
    assert [message["properties"][names.ORDER_ID] for message in messages] == [
        "probe-order-0001"]
    assert "probe-device-token" not in json.dumps(envelopes)
