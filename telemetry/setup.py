"""Turn telemetry on as the settings ask, once per process; never stop the app over it.

The exporter packages are imported only on the branch that needs them, so with no setting
nothing is imported, nothing is configured and nothing is sent.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from enum import Enum
from typing import TYPE_CHECKING, Any

from telemetry import logs, names, spans

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
    from opentelemetry.trace import TracerProvider

log = logging.getLogger(__name__)


class Exporter(str, Enum):
    """Where the app's spans go."""

    AZURE_MONITOR = "azure_monitor"
    OTLP = "otlp"
    CONSOLE = "console"
    PROVIDED = "provided"  # a tracer provider handed to ``install`` by its owner


class TelemetrySettingsError(ValueError):
    """A telemetry setting has a value that cannot be used."""


_lock = threading.Lock()
_active: Exporter | None = None


def installed() -> Exporter | None:
    """The exporter telemetry was installed with, or None while it is off."""
    return _active


def configure(env: Mapping[str, str] | None = None) -> Exporter | None:
    """Install telemetry for the settings in ``env`` (default ``os.environ``); return its exporter.

    Once installed it stays as it is: later calls change nothing. A setting that cannot be
    used, or an exporter package that is missing, is logged and leaves telemetry off.
    """
    values = os.environ if env is None else env
    with _lock:
        if _active is not None:
            return _active
        try:
            chosen = exporter_for(values)
        except TelemetrySettingsError as err:
            log.error("telemetry stays off: %s", err)
            return None
        if chosen is None:
            return None
        try:
            provider = _build(chosen, values)
        except ImportError as err:
            log.error("telemetry stays off: %s needs a package that is not installed: %s",
                      chosen.value, err)
            return None
        except ValueError as err:  # a malformed connection or authentication string
            log.error("telemetry stays off: %s refused its settings: %s", chosen.value, err)
            return None
        _install(provider, chosen)
        log.info("telemetry on: spans go to %s", chosen.value)
        return chosen


def install(provider: TracerProvider) -> None:
    """Send the app's spans to ``provider`` and stamp order fields on log records."""
    with _lock:
        _install(provider, Exporter.PROVIDED)


def uninstall() -> None:
    """Switch the app's spans and log fields off again (the provider's owner shuts it down)."""
    global _active  # one telemetry setup per process
    with _lock:
        spans.use_tracer(None)
        logs.stop_stamping()
        _active = None


def exporter_for(env: Mapping[str, str]) -> Exporter | None:
    """The exporter ``env`` asks for: Azure Monitor first, then OTLP, then the console.

    Raises ``TelemetrySettingsError`` for an ``OTEL_TRACES_EXPORTER`` it does not know.
    """
    if _text(env, names.SETTING_CONNECTION_STRING):
        return Exporter.AZURE_MONITOR
    raw = _text(env, names.SETTING_TRACES_EXPORTER)
    if raw is None:
        endpoint = _text(env, names.SETTING_OTLP_ENDPOINT) or _text(
            env, names.SETTING_OTLP_TRACES_ENDPOINT)
        return Exporter.OTLP if endpoint else None
    choice = raw.lower()
    if choice == "none":
        return None
    if choice == Exporter.OTLP.value:
        return Exporter.OTLP
    if choice == Exporter.CONSOLE.value:
        return Exporter.CONSOLE
    raise TelemetrySettingsError(
        f"{names.SETTING_TRACES_EXPORTER}={raw!r} is not one of otlp, console, none")


def _install(provider: TracerProvider, exporter: Exporter) -> None:
    """Install ``provider`` for ``exporter``; the caller holds the lock."""
    global _active  # one telemetry setup per process
    spans.use_tracer(provider.get_tracer(names.TRACER_NAME))
    logs.stamp_records()
    _active = exporter


def _build(exporter: Exporter, env: Mapping[str, str]) -> TracerProvider:
    """Set OpenTelemetry up for ``exporter`` and return the tracer provider to use."""
    if exporter is Exporter.AZURE_MONITOR:
        return _azure_monitor(env)
    if exporter is Exporter.OTLP:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider = _sdk_provider(env)
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(
            endpoint=_otlp_traces_endpoint(env))))
        return _made_global(provider)
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

    provider = _sdk_provider(env)
    provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
    return _made_global(provider)


def _azure_monitor(env: Mapping[str, str]) -> TracerProvider:
    """The distro's provider: configured here, or by the Python worker when it says it did."""
    from opentelemetry import trace

    if (_text(env, names.SETTING_WORKER_OPENTELEMETRY) or "").lower() in ("1", "true"):
        # With PYTHON_ENABLE_OPENTELEMETRY the worker configures the distro itself before it
        # imports the app; configuring it again would export every span twice.
        return trace.get_tracer_provider()
    from azure.monitor.opentelemetry import configure_azure_monitor

    options: dict[str, Any] = {
        "connection_string": _text(env, names.SETTING_CONNECTION_STRING)}
    credential = _entra_credential(env)
    if credential is not None:
        options["credential"] = credential
    configure_azure_monitor(**options)
    return trace.get_tracer_provider()


def _entra_credential(env: Mapping[str, str]) -> Any:
    """A managed-identity credential when the authentication string asks for Entra ID.

    ``APPLICATIONINSIGHTS_AUTHENTICATION_STRING`` is ``ClientId=<id>;Authorization=AAD`` for
    a user-assigned identity (``Authorization=AAD`` alone for the system-assigned one), the
    form the Functions host reads too.
    """
    parts = authentication_parts(_text(env, names.SETTING_AUTHENTICATION_STRING) or "")
    if parts.get("authorization", "").upper() != "AAD":
        return None
    from azure.identity import ManagedIdentityCredential

    return ManagedIdentityCredential(client_id=parts.get("clientid") or None)


def authentication_parts(value: str) -> dict[str, str]:
    """``Key=value;Key=value`` as a dict with lower-case keys; raises on a part without ``=``."""
    parts: dict[str, str] = {}
    for part in filter(None, (piece.strip() for piece in value.split(";"))):
        key, equals, item = part.partition("=")
        if not equals or not key.strip():
            raise TelemetrySettingsError(
                f"{names.SETTING_AUTHENTICATION_STRING} has a part that is not Key=value")
        parts[key.strip().lower()] = item.strip()
    return parts


def _sdk_provider(env: Mapping[str, str]) -> SdkTracerProvider:
    """An SDK tracer provider naming this service."""
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider as SdkProvider

    service = _text(env, names.SETTING_SERVICE_NAME) or names.DEFAULT_SERVICE_NAME
    return SdkProvider(resource=Resource.create({SERVICE_NAME: service}))


def _made_global(provider: SdkTracerProvider) -> SdkTracerProvider:
    """Make ``provider`` OpenTelemetry's global one too, so libraries' spans join the app's."""
    from opentelemetry import trace

    trace.set_tracer_provider(provider)
    return provider


def _otlp_traces_endpoint(env: Mapping[str, str]) -> str | None:
    """The OTLP/HTTP traces URL: the traces endpoint as given, or the base plus ``/v1/traces``."""
    traces = _text(env, names.SETTING_OTLP_TRACES_ENDPOINT)
    if traces:
        return traces
    base = _text(env, names.SETTING_OTLP_ENDPOINT)
    return f"{base.rstrip('/')}/v1/traces" if base else None


def _text(env: Mapping[str, str], name: str) -> str | None:
    """The setting's value, with an empty or blank value counted as unset."""
    value = env.get(name, "").strip()
    return value or None
