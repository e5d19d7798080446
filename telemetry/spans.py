"""The tracer the app's spans come from: None while telemetry is off, so no span is made."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer

_tracer: Tracer | None = None


def tracer() -> Tracer | None:
    """The app's tracer once telemetry is installed, else None: then skip the span entirely."""
    return _tracer


def use_tracer(new: Tracer | None) -> None:
    """Make ``new`` the app's tracer (None switches spans off)."""
    global _tracer  # one tracer per process, like OpenTelemetry's own
    _tracer = new
