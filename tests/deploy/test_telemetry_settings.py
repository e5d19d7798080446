"""Which telemetry the settings turn on, checked in fresh interpreters that import the app.

Each case runs ``telemetry_probe`` in a new process (OpenTelemetry's global provider can be
set once per process), with only the settings under test: the probe imports
``function_app``, pushes once and reports what got configured.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from telemetry import Exporter, names
from telemetry.setup import TelemetrySettingsError, authentication_parts, exporter_for
from tests.deploy.conftest import Receiver, serving
from tests.support import APP_DIR

PROBE = APP_DIR / "tests" / "deploy" / "telemetry_probe.py"
PROBE_ORDER = "probe-order-0001"
PROBE_TIMEOUT_SECONDS = 120
# Every setting that could turn telemetry on; each case starts with none of them.
TELEMETRY_SETTINGS = (names.SETTING_CONNECTION_STRING, names.SETTING_AUTHENTICATION_STRING,
                      names.SETTING_WORKER_OPENTELEMETRY, names.SETTING_OTLP_ENDPOINT,
                      names.SETTING_OTLP_TRACES_ENDPOINT, names.SETTING_TRACES_EXPORTER,
                      "FCM_PROJECT_ID", "FCM_EMULATOR_HOST", "FCM_SERVICE_ACCOUNT_JSON",
                      "GOOGLE_APPLICATION_CREDENTIALS")


def run_probe(settings: Mapping[str, str]) -> tuple[dict[str, Any], str, str]:
    """Run the probe with ``settings``; return its report, its stdout and its stderr."""
    env = {name: value for name, value in os.environ.items() if name not in TELEMETRY_SETTINGS
           and not name.startswith("OTEL_")}
    env.update(settings)
    env["PYTHONPATH"] = str(APP_DIR)
    done = subprocess.run([sys.executable, str(PROBE)], cwd=APP_DIR, env=env, text=True,
                          capture_output=True, timeout=PROBE_TIMEOUT_SECONDS, check=False)
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("PROBE "), done.stdout
    return json.loads(last.removeprefix("PROBE ")), done.stdout, done.stderr


def json_objects(text: str) -> Iterator[Any]:
    """The JSON objects written one after another in ``text`` (the console exporter's form)."""
    decoder = json.JSONDecoder()
    position = text.find("{")
    while position != -1:
        value, end = decoder.raw_decode(text, position)
        yield value
        position = text.find("{", end)


def test_with_no_setting_nothing_is_configured_or_imported() -> None:
    """No exporter, no Azure Monitor import, no SDK provider, log records left alone."""
    report, stdout, _ = run_probe({})
    assert report == {"installed": None, "provider": "ProxyTracerProvider", "modules": [],
                      "standard_log_records": True, "outcome": "not_configured"}
    assert "push.send" not in stdout


def test_the_console_setting_prints_the_push_span() -> None:
    """OTEL_TRACES_EXPORTER=console: the same push.send span, printed as JSON."""
    report, stdout, _ = run_probe({names.SETTING_TRACES_EXPORTER: "console"})
    assert report["installed"] == Exporter.CONSOLE.value
    assert "azure.monitor" not in " ".join(report["modules"])
    [span] = [value for value in json_objects(stdout.rsplit("PROBE ", 1)[0])
              if value.get("name") == names.PUSH_SPAN]
    assert span["attributes"] == {names.ORDER_ID: PROBE_ORDER, names.ORDER_STAGE: "received",
                                  names.PUSH_SEQ: 1, names.PUSH_OUTCOME: "not_configured"}
    assert span["resource"]["attributes"]["service.name"] == names.DEFAULT_SERVICE_NAME


class _Collector(Receiver):
    """An OTLP/HTTP receiver: keeps each export request the app posts to /v1/traces."""

    received: list[tuple[str, bytes]]

    def do_POST(self) -> None:
        """Keep the request and answer as a collector does: 200 and an empty response."""
        self.received.append((self.path, self.body()))
        self.answer("application/x-protobuf", ExportTraceServiceResponse().SerializeToString())


@pytest.fixture
def collector() -> Iterator[tuple[str, list[tuple[str, bytes]]]]:
    """A local OTLP/HTTP receiver on a free port: its base URL and what it received."""
    received: list[tuple[str, bytes]] = []
    handler = type("Collector", (_Collector,), {"received": received})
    with serving(handler, "otlp-collector") as url:
        yield url, received


def test_the_otlp_endpoint_receives_the_push_span(
        collector: tuple[str, list[tuple[str, bytes]]]) -> None:
    """OTEL_EXPORTER_OTLP_ENDPOINT: the span reaches a collector at {endpoint}/v1/traces."""
    base_url, received = collector
    report, _, _ = run_probe({names.SETTING_OTLP_ENDPOINT: base_url})
    assert report["installed"] == Exporter.OTLP.value
    assert [path for path, _ in received] == ["/v1/traces"]
    request = ExportTraceServiceRequest.FromString(received[0][1])
    spans = [span for resource in request.resource_spans for scope in resource.scope_spans
             for span in scope.spans]
    assert [span.name for span in spans] == [names.PUSH_SPAN]
    attributes = {item.key: item.value for item in spans[0].attributes}
    assert attributes[names.ORDER_ID].string_value == PROBE_ORDER
    assert attributes[names.PUSH_SEQ].int_value == 1
    assert attributes[names.PUSH_OUTCOME].string_value == "not_configured"


def test_with_the_worker_configuring_the_distro_the_app_does_not_again() -> None:
    """PYTHON_ENABLE_OPENTELEMETRY: the worker set the distro up, so the app imports none."""
    report, _, _ = run_probe({
        names.SETTING_CONNECTION_STRING: "InstrumentationKey=00000000-0000-0000-0000-000000000000",
        names.SETTING_WORKER_OPENTELEMETRY: "true"})
    assert report["installed"] == Exporter.AZURE_MONITOR.value
    assert not [name for name in report["modules"] if name.startswith("azure.monitor")]


def test_an_unknown_exporter_setting_is_logged_and_leaves_telemetry_off() -> None:
    """A typo in OTEL_TRACES_EXPORTER is a clear error in the log, and nothing is configured."""
    report, _, stderr = run_probe({names.SETTING_TRACES_EXPORTER: "consol"})
    assert (report["installed"], report["modules"], report["standard_log_records"]) == (
        None, [], True)
    assert "OTEL_TRACES_EXPORTER='consol' is not one of otlp, console, none" in stderr


@pytest.mark.parametrize(("settings", "expected"), [
    ({}, None),
    ({names.SETTING_CONNECTION_STRING: "  "}, None),
    ({names.SETTING_CONNECTION_STRING: "InstrumentationKey=x",
      names.SETTING_TRACES_EXPORTER: "console"}, Exporter.AZURE_MONITOR),
    ({names.SETTING_OTLP_TRACES_ENDPOINT: "http://127.0.0.1:4318/v1/traces"}, Exporter.OTLP),
    ({names.SETTING_OTLP_ENDPOINT: "http://127.0.0.1:4318",
      names.SETTING_TRACES_EXPORTER: "none"}, None),
    ({names.SETTING_TRACES_EXPORTER: "OTLP"}, Exporter.OTLP),
    ({names.SETTING_TRACES_EXPORTER: "console"}, Exporter.CONSOLE),
])
def test_the_exporter_the_settings_choose(settings: dict[str, str],
                                          expected: Exporter | None) -> None:
    """Azure Monitor wins over OTLP and the console; blank counts as unset; none is off."""
    assert exporter_for(settings) is expected


def test_the_authentication_string_is_read_as_the_functions_host_reads_it() -> None:
    """``ClientId=..;Authorization=AAD`` parts by lower-case key; a part without = is refused."""
    assert authentication_parts("ClientId=abc; Authorization=AAD") == {
        "clientid": "abc", "authorization": "AAD"}
    with pytest.raises(TelemetrySettingsError, match="not Key=value"):
        authentication_parts("Authorization")
